# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``kaspersky.edr.kata_alerts`` event source: KATA/KEDR Central Node alerts over syslog (CEF).

Standard library only. ansible-rulebook loads this file with ``runpy``, so everything it needs is
in this one file, in this order: arguments, syslog and CEF parsing, framing, batching, the
rate-limited drop counter, the listeners, ``main``. Full guide: docs/kata_alerts.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
short_description: Receive KATA/KEDR Central Node alerts over syslog (CEF)
description:
  - An ansible-rulebook event source that listens for the alerts the Kaspersky Anti Targeted Attack
    Platform / Kaspersky EDR Expert Central Node publishes to a SIEM (Settings > SIEM system), one
    syslog message in CEF format per alert, over TCP, UDP or TLS.
  - Each alert becomes one event C(kata) with a documented, stable shape (see
    docs/kata_alerts.md), with the keys C(alert_type), C(name), C(severity), C(product), C(product_version),
    C(alert_id), C(time), C(time_iso), C(central_node), C(host), C(source_ip), C(destination_ip),
    C(user), C(file), C(hashes), C(cef), C(syslog), C(received_from). Keys whose CEF field is absent
    are left out.
  - Only CEF messages whose vendor is C(AO Kaspersky Lab) and whose product starts with
    C(Kaspersky Anti Targeted Attack Platform) are considered. Heartbeats (severity C(0)) and
    activity-log records (user actions in the web interface) are not alerts.
  - Framing. RFC 3164 and RFC 5424 syslog headers, or a bare C(CEF:) line. On TCP and TLS, newline
    framing and RFC 6587 octet counting, mixed on one connection. On UDP, one message per datagram.
  - Never stops on bad input. Garbage, other vendors' CEF, oversized messages, senders outside
    O(allowed_senders), and connections over O(max_connections) are dropped. Each drop is counted,
    and a warning is logged at most once per reason every 10 seconds.
  - Security. Whoever can send to the port can forge an alert. Use O(protocol=tls) with
    O(client_auth=true), or O(allowed_senders). UDP sender addresses are trivially forged.
    The source logs a warning at start when it listens beyond loopback over TCP or UDP without
    O(allowed_senders).
options:
  host:
    description: Address to listen on.
    type: str
    default: 0.0.0.0
  port:
    description: Port to listen on (a number or a string of digits, as Jinja gives it).
    type: int
    default: 1514
  protocol:
    description:
      - V(tcp), V(udp) or V(tls) (TCP with TLS; needs O(certfile)).
    type: str
    choices: [tcp, udp, tls]
    default: tcp
  certfile:
    description: PEM server certificate (chain) for O(protocol=tls); may also hold the key.
    type: path
  keyfile:
    description: PEM private key of O(certfile), when it is not in O(certfile).
    type: path
  ca_certs:
    description:
      - PEM CA bundle that signs the senders' client certificates. Required with O(client_auth=true).
      - Without O(client_auth), a client certificate is checked against it when one is presented.
    type: path
  client_auth:
    description:
      - Require a client certificate signed by O(ca_certs) from every sender (mutual TLS).
        The recommended setup.
    type: bool
    default: false
  heartbeats:
    description:
      - V(false) drops heartbeat messages (CEF severity C(0)). V(true) emits them as C(kata) events
        with C(heartbeat=true).
    type: bool
    default: false
  activity_log:
    description:
      - V(true) emits activity-log records (user actions in the Central Node web interface, for
        example the class IDs C(alerts), C(ep), C(task)) as C(kata.activity) events (the record's
        fields, as for an alert, under C(kata.activity); no other key under C(kata), so rules written
        for alerts never match them). V(false) drops them.
    type: bool
    default: false
  max_message_bytes:
    description:
      - Longest syslog message accepted, in bytes. Longer ones are dropped.
    type: int
    default: 65536
  allowed_senders:
    description:
      - IP addresses or networks (CIDR) allowed to send. Messages and connections from
        other addresses are dropped and counted. Default is every sender.
    type: list
    elements: str
  max_connections:
    description:
      - Most TCP/TLS connections open at once. When a new connection arrives at the limit, the
        connection idle the longest is closed (so idle connections cannot lock the Central Node out).
    type: int
    default: 256
  batch_window:
    description:
      - Seconds. V(0) emits one C(kata) event per alert.
      - A positive value emits C(kata_batch) events with the keys C(hosts) (per host, its alerts, hashes
        and highest severity), C(alerts) (how many), C(hashes) and C(window). Heartbeats and activity
        records are never batched.
      - Leading edge. The first alert after a quiet period goes out at once, as a batch of one, so a
        single alert never waits. Alerts that follow within O(batch_window) seconds are grouped and go out
        when that window closes. While alerts keep coming, each next window is twice as long, up to 8
        times O(batch_window). An alert storm becomes a few batches, each one fleet run.
    type: float
    default: 0
  batch_max_alerts:
    description:
      - With O(batch_window), a batch is emitted early when it holds this many alerts (bounds memory).
    type: int
    default: 1000
notes:
  - The event shape and every choice made where the vendor documentation is silent (alert type IDs,
    time format, escaping, truncation) are in docs/kata_alerts.md.
"""

EXAMPLES = r"""
- name: Contain hosts on KATA alerts
  hosts: localhost
  sources:
    - kaspersky.edr.kata_alerts:
        host: 0.0.0.0
        port: 6514
        protocol: tls
        certfile: /etc/eda/kata-syslog.pem
        keyfile: /etc/eda/kata-syslog.key
        ca_certs: /etc/eda/kata-cn-ca.pem
        client_auth: true
  rules:
    - name: Report a High alert
      condition: event.kata.severity == "High"
      action:
        debug:
          msg: "{{ event.kata.name }} on {{ event.kata.host | default(event.kata.source_ip) }}"

- name: Plain TCP from one Central Node only, alerts grouped over 2 seconds
  hosts: localhost
  sources:
    - kaspersky.edr.kata_alerts:
        port: "{{ kata_alerts_port | default(1514) }}"
        allowed_senders:
          - 10.0.0.5
        batch_window: 2
  rules:
    - name: Show a batch
      condition: event.kata_batch is defined
      action:
        print_event:
"""

import asyncio
import collections
import datetime
import ipaddress
import logging
import os
import re
import ssl
import time

LOG = logging.getLogger("kaspersky.edr.kata_alerts")

# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------

ARGUMENTS = ("host", "port", "protocol", "certfile", "keyfile", "ca_certs", "client_auth", "heartbeats",
             "activity_log", "max_message_bytes", "allowed_senders", "max_connections", "batch_window",
             "batch_max_alerts")
# ansible-rulebook adds this one itself when it runs under the EDA server.
ENGINE_ARGUMENTS = ("eda_feedback_queue",)
PROTOCOLS = ("tcp", "udp", "tls")
TLS_ONLY = ("certfile", "keyfile", "ca_certs", "client_auth")
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


class Settings:
    """The validated arguments."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __repr__(self):
        return "Settings(%s)" % ", ".join("%s=%r" % item for item in sorted(self.__dict__.items()))


def argument_error(name, problem):
    return ValueError("kata_alerts: argument '%s' %s" % (name, problem))


def as_bool(args, name, default):
    value = args.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise argument_error(name, "must be true or false, got %r" % (value,))


def as_int(args, name, default, low, high):
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise argument_error(name, "must be an integer from %d to %d, got %r" % (low, high, value))
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise argument_error(name, "must be an integer from %d to %d, got %r" % (low, high, value))
    return int(text)


def as_seconds(args, name, default, high):
    value = args.get(name, default)
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        seconds = float(value)
    except (TypeError, ValueError):
        raise argument_error(name, "must be a number of seconds from 0 to %d, got %r" % (high, value))
    if not 0 <= seconds <= high:  # also refuses nan
        raise argument_error(name, "must be a number of seconds from 0 to %d, got %r" % (high, value))
    return seconds


def as_text(args, name, default=None):
    value = args.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise argument_error(name, "must be a non-empty string, got %r" % (value,))
    return value.strip()


def as_networks(args, name):
    value = args.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        value = [item for item in re.split(r"[\s,]+", value) if item]
    if not isinstance(value, (list, tuple)) or not value:
        raise argument_error(name, "must be a non-empty list of IP addresses or CIDR networks "
                                   "(leave it out to accept every sender), got %r" % (value,))
    networks = []
    for item in value:
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise argument_error(name, "holds %r, which is not an IP address or CIDR network" % (item,))
    return tuple(networks)


def as_readable_file(args, name):
    path = as_text(args, name)
    if path is not None and not os.access(path, os.R_OK):
        raise argument_error(name, "names %r, which is not a readable file" % (path,))
    return path


def parse_args(args):
    """Validate the source's arguments; a ValueError names the first bad one."""
    if not isinstance(args, dict):
        raise ValueError("kata_alerts: the arguments must be a mapping, got %r" % (args,))
    for name in args:
        if name not in ARGUMENTS and name not in ENGINE_ARGUMENTS:
            raise argument_error(name, "is unknown; the arguments are %s" % ", ".join(ARGUMENTS))
    protocol = (as_text(args, "protocol", "tcp") or "").lower()
    if protocol not in PROTOCOLS:
        raise argument_error("protocol", "must be one of %s, got %r" % (", ".join(PROTOCOLS), args["protocol"]))
    if protocol != "tls":
        for name in TLS_ONLY:
            if args.get(name) is not None and (name != "client_auth" or as_bool(args, name, False)):
                raise argument_error(name, "is only used with protocol: tls (protocol is %s)" % protocol)
    settings = Settings(
        host=as_text(args, "host", "0.0.0.0"),
        port=as_int(args, "port", 1514, 1, 65535),
        protocol=protocol,
        certfile=as_readable_file(args, "certfile"),
        keyfile=as_readable_file(args, "keyfile"),
        ca_certs=as_readable_file(args, "ca_certs"),
        client_auth=as_bool(args, "client_auth", False),
        heartbeats=as_bool(args, "heartbeats", False),
        activity_log=as_bool(args, "activity_log", False),
        max_message_bytes=as_int(args, "max_message_bytes", 65536, 512, 16 * 1024 * 1024),
        allowed_senders=as_networks(args, "allowed_senders"),
        max_connections=as_int(args, "max_connections", 256, 1, 65535),
        batch_window=as_seconds(args, "batch_window", 0, 3600),
        batch_max_alerts=as_int(args, "batch_max_alerts", 1000, 1, 100000),
    )
    if protocol == "tls" and not settings.certfile:
        raise argument_error("certfile", "is required with protocol: tls")
    if settings.client_auth and not settings.ca_certs:
        raise argument_error("ca_certs", "is required with client_auth: true (the CA that signs the senders' "
                                         "certificates)")
    return settings


def tls_context(settings):
    """The server TLS context; a ValueError names the file that does not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.certfile, settings.keyfile)
    except (ssl.SSLError, OSError) as exc:
        name = "keyfile" if settings.keyfile else "certfile"
        raise argument_error(name, "does not load as a PEM certificate and key (certfile %r, keyfile %r): %s"
                             % (settings.certfile, settings.keyfile, exc))
    if settings.ca_certs:
        try:
            context.load_verify_locations(cafile=settings.ca_certs)
        except (ssl.SSLError, OSError) as exc:
            raise argument_error("ca_certs", "does not load as a PEM CA bundle (%r): %s" % (settings.ca_certs, exc))
        context.verify_mode = ssl.CERT_REQUIRED if settings.client_auth else ssl.CERT_OPTIONAL
    return context


def is_loopback(host):
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(settings):
    """The start-up warning about forged alerts for this setup, or None."""
    if is_loopback(settings.host) or settings.allowed_senders:
        return None
    if settings.protocol == "udp":
        return ("kata_alerts: listening on %s:%d/udp beyond loopback without allowed_senders: anyone who reaches "
                "the port can forge an alert (and UDP sender addresses are trivially forged even with "
                "allowed_senders); use protocol: tls with client_auth: true" % (settings.host, settings.port))
    if settings.protocol == "tcp":
        return ("kata_alerts: listening on %s:%d/tcp beyond loopback without allowed_senders: anyone who reaches "
                "the port can forge an alert; set allowed_senders to the Central Node's addresses, or better use "
                "protocol: tls with client_auth: true" % (settings.host, settings.port))
    if not settings.client_auth:
        return ("kata_alerts: listening on %s:%d/tls without client_auth or allowed_senders: any TLS client can "
                "send alerts; set client_auth: true" % (settings.host, settings.port))
    return None


# ---------------------------------------------------------------------------------------------
# Syslog header
# ---------------------------------------------------------------------------------------------

_PRI = re.compile(r"<(\d{1,3})>")
_RFC3164_TIME = re.compile(r"[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}")


def parse_syslog_header(header):
    """The ``syslog`` dict (hostname, timestamp, facility, severity where present) of the text before ``CEF:``."""
    syslog = {}
    rest = header.lstrip("\ufeff ")
    match = _PRI.match(rest)
    if match:
        pri = int(match.group(1))
        if pri <= 191:
            syslog["facility"] = pri >> 3
            syslog["severity"] = pri & 7
        rest = rest[match.end():]
    tokens = rest.split()
    if not tokens:
        return syslog
    if tokens[0].isdigit() and len(tokens[0]) <= 2 and len(tokens) >= 3:
        # RFC 5424: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD; "-" is the nil value.
        for key, token in (("timestamp", tokens[1]), ("hostname", tokens[2])):
            if token != "-":
                syslog[key] = token
        return syslog
    time_match = _RFC3164_TIME.match(rest)
    if time_match:
        syslog["timestamp"] = time_match.group(0)
        tokens = rest[time_match.end():].split()
    elif tokens[0][:1].isdigit() and "T" in tokens[0]:
        # An RFC 3164-style header with an ISO 8601 time stamp (rsyslog's RFC3339 templates).
        syslog["timestamp"] = tokens[0]
        tokens = tokens[1:]
    else:
        return syslog
    # RFC 3164 after the time stamp: HOSTNAME TAG; a lone token ending in ":" or "]" is only a tag.
    if tokens and not (len(tokens) == 1 and tokens[0][-1:] in (":", "]")):
        syslog["hostname"] = tokens[0]
    return syslog


# ---------------------------------------------------------------------------------------------
# CEF
# ---------------------------------------------------------------------------------------------

KATA_VENDOR = "AO Kaspersky Lab"
KATA_PRODUCT_PREFIX = "Kaspersky Anti Targeted Attack Platform"
HEARTBEAT_SEVERITY = "0"
# Device Event Class IDs of the activity log (user actions in the web interface; fact sheet 1.4).
# Every other class ID from KATA is taken as an alert type, since only file_web and file_mail are
# documented and other versions and modules send other alert types.
ACTIVITY_CLASSES = frozenset(("alerts", "ep", "storage", "sensors", "sb", "ex_integration", "ksn_kpsn_mdr",
                              "task"))
CEF_HEADER_FIELDS = 7
# KATA cuts alert messages at 32 KB. A message this long or longer is taken as cut, and its last
# key/value pair as possibly cut in half (32,000: both readings of "32 KB", header or not).
KATA_CUT_BYTES = 32000
# Keys that hold identifiers, not file hashes, even when they look like 32 hex digits.
ID_KEYS = frozenset(("eventId", "externalId", "deviceExternalId"))

_EXTENSION_KEY = re.compile(r"(?:^| +)([A-Za-z0-9_.\[\]-]+)=")
_EXTENSION_ESCAPE = re.compile(r"\\([\\=nr])")
_EXTENSION_UNESCAPED = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
_HEADER_ESCAPE = re.compile(r"\\([\\|])")
_HASH = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{32})(?![0-9A-Za-z])")
_MD5 = re.compile(r"[0-9A-Fa-f]{32}")
_SHA256 = re.compile(r"[0-9A-Fa-f]{64}")


def _unescape_extension_match(match):
    return _EXTENSION_UNESCAPED[match.group(1)]


def unescape_header_field(field):
    """A CEF header field with ``\\|`` and ``\\\\`` unescaped; other backslashes are kept."""
    if "\\" not in field:
        return field
    return _HEADER_ESCAPE.sub(r"\1", field)


def unescape_extension_value(value):
    """An extension value with ``\\=``, ``\\\\``, ``\\n``, ``\\r`` unescaped; other backslashes are kept."""
    if "\\" not in value:
        return value
    return _EXTENSION_ESCAPE.sub(_unescape_extension_match, value)


def _is_escaped(text, index, start):
    """Whether the character at ``index`` follows an odd number of backslashes (not before ``start``)."""
    count = 0
    index -= 1
    while index >= start and text[index] == "\\":
        count += 1
        index -= 1
    return count % 2 == 1


def split_cef_header(cef):
    """``(fields, extension)`` of the text after ``CEF:``: the 7 header fields unescaped, or None.

    A message with only 6 fields and no extension (a bare heartbeat) gets an empty extension.
    """
    parts = cef.split("|", CEF_HEADER_FIELDS)
    if len(parts) > CEF_HEADER_FIELDS:
        header_length = sum(len(part) for part in parts[:CEF_HEADER_FIELDS]) + CEF_HEADER_FIELDS
        if "\\" not in cef[:header_length]:  # the usual case: nothing escaped in the header
            return [part.strip() for part in parts[:CEF_HEADER_FIELDS]], parts[CEF_HEADER_FIELDS]
    fields = []
    start = search = 0
    while len(fields) < CEF_HEADER_FIELDS:
        separator = cef.find("|", search)
        if separator < 0:
            if len(fields) == CEF_HEADER_FIELDS - 1:
                fields.append(unescape_header_field(cef[start:]).strip())
                return fields, ""
            return None
        if _is_escaped(cef, separator, start):
            search = separator + 1
            continue
        fields.append(unescape_header_field(cef[start:separator]).strip())
        start = search = separator + 1
    return fields, cef[start:]


def parse_extension(extension, cut=False):
    """The extension's ``{key: unescaped value}``, in the order sent.

    Values run to the next ``key=`` after a space, so they may hold spaces; trailing white space
    is dropped. With ``cut``, the last pair is left out: it may have been cut in half.
    """
    parts = _EXTENSION_KEY.split(extension)
    # parts: [text before the first key, key1, value1, key2, value2, ...]
    if cut:
        del parts[-2:]
    values = [value.rstrip() for value in parts[2::2]]
    if "\\" in extension:
        values = [unescape_extension_value(value) for value in values]
    return dict(zip(parts[1::2], values))


def extract_hashes(pairs):
    """Every MD5 and SHA256 in the values (not in ID keys), lower case, unique, in order of appearance."""
    found = []
    seen = set()
    for key, value in pairs.items():
        if len(value) < 32 or key in ID_KEYS:
            continue
        for match in _HASH.findall(value):
            digest = match.lower()
            if digest not in seen:
                seen.add(digest)
                found.append(digest)
    return found


# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------

MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_TEXT_TIME = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?"
                        r"(?: *(Z|UTC|GMT|[+-]\d{2}:?\d{2}))?")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _iso(moment, millis, offset_minutes):
    """ISO 8601: ``...Z`` for UTC, ``+HH:MM`` for another offset, nothing when the zone is unknown."""
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    if millis is not None:
        text += ".%03d" % millis
    if offset_minutes is None:
        return text
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    return text + "%s%02d:%02d" % (sign, abs(offset_minutes) // 60, abs(offset_minutes) % 60)


def _zone_minutes(zone):
    if zone is None:
        return None
    if zone in ("Z", "UTC", "GMT"):
        return 0
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    return -minutes if zone[0] == "-" else minutes


def parse_time(value):
    """``rt`` as ISO 8601, or None when it is not a time this parser knows.

    Epoch milliseconds (12 or 13 digits) and seconds (9 to 11) give UTC. ``Mon DD YYYY HH:MM:SS[.mmm]
    [zone]`` gives the time with its zone, or without any zone when none is sent (KATA does not
    say which zone it means). An ISO 8601 text is passed through. No year (``Mon DD HH:MM:SS``): None.
    """
    text = value.strip()
    try:
        if text.isdigit():
            if 12 <= len(text) <= 13:
                millis = int(text)
            elif 9 <= len(text) <= 11:
                millis = int(text) * 1000
            else:
                return None
            moment = _EPOCH + datetime.timedelta(milliseconds=millis)
            return _iso(moment, millis % 1000, 0)
        match = _TEXT_TIME.fullmatch(text)
        if match:
            month = MONTHS.get(match.group(1))
            if month is None:
                return None
            moment = datetime.datetime(int(match.group(3)), month, int(match.group(2)), int(match.group(4)),
                                       int(match.group(5)), int(match.group(6)))
            millis = int(match.group(7).ljust(3, "0")) if match.group(7) else None
            return _iso(moment, millis, _zone_minutes(match.group(8)))
        if text[:4].isdigit() and text[4:5] == "-" and len(text) <= 40:
            return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except (ValueError, OverflowError):
        return None
    return None


# ---------------------------------------------------------------------------------------------
# From one syslog message to an event body
# ---------------------------------------------------------------------------------------------

ALERT = "alert"
HEARTBEAT = "heartbeat"
ACTIVITY = "activity"


class Dropped:
    """Why a message gave no event (parse_message's answer for a message that is not KATA CEF)."""

    __slots__ = ("reason", "detail")

    def __init__(self, reason, detail=""):
        self.reason = reason
        self.detail = detail

    def __repr__(self):
        return "Dropped(%r, %r)" % (self.reason, self.detail)


def _put(target, key, value):
    if value:
        target[key] = value


def file_fields(pairs):
    """``file``: name, size, type, md5, sha256 where present (and valid, for the size and hashes)."""
    found = {}
    _put(found, "name", pairs.get("fName"))
    size = pairs.get("fsize", "")
    if size.isdigit():
        found["size"] = int(size)
    _put(found, "type", pairs.get("fileType"))
    for key in ("fileHash", "KasperskyLabKATAfileSHA256"):
        digest = pairs.get(key, "")
        if _MD5.fullmatch(digest):
            found.setdefault("md5", digest.lower())
        elif _SHA256.fullmatch(digest):
            found.setdefault("sha256", digest.lower())
    return found


def kata_fields(fields, pairs, syslog, sender):
    """The documented ``kata`` dict of one message."""
    kata = {
        "alert_type": fields[4],
        "name": fields[5],
        "severity": fields[6],
        "product": fields[2],
        "product_version": fields[3],
    }
    _put(kata, "alert_id", pairs.get("eventId"))
    moment = pairs.get("rt")
    if moment:
        kata["time"] = moment
        _put(kata, "time_iso", parse_time(moment))
    _put(kata, "central_node", pairs.get("dvchost") or pairs.get("dvc"))
    _put(kata, "host", pairs.get("shost") or pairs.get("dhost"))
    _put(kata, "source_ip", pairs.get("src"))
    _put(kata, "destination_ip", pairs.get("dst"))
    _put(kata, "user", pairs.get("suser"))
    _put(kata, "file", file_fields(pairs))
    kata["hashes"] = extract_hashes(pairs)
    kata["cef"] = pairs
    kata["syslog"] = syslog
    kata["received_from"] = sender
    return kata


def decode(data):
    """Text of a message: invalid UTF-8 replaced, NUL bytes and the line end removed."""
    text = data.decode("utf-8", "replace")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text.rstrip("\r\n")


def is_kata(fields):
    return fields[1] == KATA_VENDOR and fields[2].startswith(KATA_PRODUCT_PREFIX)


def parse_message(data, sender):
    """``(kind, kata dict)`` for one syslog message (bytes) from ``sender``, or a ``Dropped``.

    ``kind`` is ALERT, HEARTBEAT or ACTIVITY. Never raises on any input.
    """
    text = decode(data)
    start = text.find("CEF:")
    if start < 0:
        return Dropped("not_cef", text[:80])
    split = split_cef_header(text[start + 4:])
    if split is None:
        return Dropped("bad_cef_header", text[start:start + 80])
    fields, extension = split
    if not is_kata(fields):
        return Dropped("not_kata", "%s|%s" % (fields[1][:40], fields[2][:60]))
    pairs = parse_extension(extension, cut=len(data) >= KATA_CUT_BYTES)
    kata = kata_fields(fields, pairs, parse_syslog_header(text[:start]), sender)
    if fields[6] == HEARTBEAT_SEVERITY:
        kata["heartbeat"] = True
        return HEARTBEAT, kata
    if fields[4] in ACTIVITY_CLASSES:
        return ACTIVITY, kata
    return ALERT, kata


# ---------------------------------------------------------------------------------------------
# TCP framing: newline (RFC 6587 non-transparent) and octet counting, on one connection
# ---------------------------------------------------------------------------------------------

_LEADING_SPACE = b"\r\n\x00 \t"
_MAX_LENGTH_DIGITS = 10


class StreamFramer:
    """Cuts a TCP byte stream into syslog messages; memory stays under ``max_bytes`` plus one read.

    A frame that starts with a digit is octet counted (``LEN SP MSG``), anything else runs to the
    next newline. An oversized octet-counted frame is skipped (its declared length is discarded); a
    line longer than ``max_bytes`` is dropped up to its newline. ``on_drop(reason)`` hears each drop.
    """

    def __init__(self, max_bytes, on_drop):
        self.max_bytes = max_bytes
        self.on_drop = on_drop
        self.buffer = bytearray()
        self.skip_bytes = 0
        self.skip_line = False
        # Where the search for the newline of an incomplete line goes on, so that a long line
        # arriving in small reads is scanned once, not once per read.
        self.scanned = 0

    def feed(self, data):
        """The complete messages in the stream so far, after ``data``."""
        self.buffer += data
        messages = []
        position = 0
        while True:
            position = self._skip(position)
            if position >= len(self.buffer):
                break
            end = self._next(position, messages)
            if end is None:  # an incomplete frame starts at position: keep it
                break
            position = end
        del self.buffer[:position]
        self.scanned = max(0, self.scanned - position)
        return messages

    def finish(self):
        """The last message of a stream that ended without a newline (or None)."""
        rest = bytes(self.buffer).strip(_LEADING_SPACE)
        self.buffer = bytearray()
        if self.skip_line or self.skip_bytes or not rest:
            return None
        if rest[:1].isdigit() and b" " in rest[:_MAX_LENGTH_DIGITS + 1]:
            self.on_drop("truncated_frame")
            return None
        return rest

    def _skip(self, position):
        """Move past bytes being discarded and white space between frames."""
        buffer = self.buffer
        if self.skip_bytes:
            step = min(self.skip_bytes, len(buffer) - position)
            self.skip_bytes -= step
            position += step
        if self.skip_line:
            newline = buffer.find(b"\n", position)
            if newline < 0:
                return len(buffer)
            self.skip_line = False
            position = newline + 1
        while position < len(buffer) and buffer[position] in _LEADING_SPACE:
            position += 1
        return position

    def _next(self, position, messages):
        """Take one frame at ``position``; its end, or None when it is not complete yet."""
        buffer = self.buffer
        if 0x31 <= buffer[position] <= 0x39:  # 1-9: octet counting
            space = buffer.find(b" ", position, position + _MAX_LENGTH_DIGITS + 1)
            if space > position and buffer[position:space].isdigit():
                return self._counted(position, space, messages)
            if space < 0 and len(buffer) - position <= _MAX_LENGTH_DIGITS and buffer[position:].isdigit():
                return None  # the length is still arriving
        newline = buffer.find(b"\n", max(position, self.scanned))
        if newline < 0:
            if len(buffer) - position > self.max_bytes:
                self.on_drop("line_too_long")
                self.skip_line = True
                self.scanned = 0
                return len(buffer)
            self.scanned = len(buffer)
            return None
        self.scanned = 0
        end = newline - 1 if buffer[newline - 1] == 0x0D else newline  # CR LF
        if end - position > self.max_bytes:
            self.on_drop("oversized")
        else:
            messages.append(bytes(buffer[position:end]))
        return newline + 1

    def _counted(self, position, space, messages):
        buffer = self.buffer
        length = int(buffer[position:space])
        end = space + 1 + length
        if length > self.max_bytes:
            self.on_drop("oversized")
            self.skip_bytes = max(0, end - len(buffer))
            return min(end, len(buffer))
        if end > len(buffer):
            return None
        messages.append(bytes(buffer[space + 1:end]))
        return end


# ---------------------------------------------------------------------------------------------
# Batches (batch_window > 0)
# ---------------------------------------------------------------------------------------------

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}


def severity_rank(severity):
    return SEVERITY_RANK.get(str(severity).lower(), 0)


# While alerts keep coming, the grouping window doubles up to this many times batch_window.
MAX_WINDOW_GROWTH = 8


class AlertBatch:
    """The alerts of one window, grouped by host (name, else source IP), for one ``kata_batch`` event."""

    def __init__(self, window):
        self.window = window
        self.hosts = collections.OrderedDict()
        self.count = 0
        self.hashes = []
        self._seen = set()

    def add(self, kata):
        key = ("host", kata["host"]) if "host" in kata else ("ip", kata.get("source_ip"))
        entry = self.hosts.get(key)
        if entry is None:
            entry = {"alerts": [], "hashes": [], "max_severity": kata["severity"]}
            for name in ("host", "source_ip"):
                if name in kata:
                    entry[name] = kata[name]
            self.hosts[key] = entry
        entry["alerts"].append(kata)
        if severity_rank(kata["severity"]) > severity_rank(entry["max_severity"]):
            entry["max_severity"] = kata["severity"]
        for digest in kata["hashes"]:
            if digest not in entry["hashes"]:
                entry["hashes"].append(digest)
            if digest not in self._seen:
                self._seen.add(digest)
                self.hashes.append(digest)
        self.count += 1

    def event(self):
        return {"kata_batch": {"hosts": list(self.hosts.values()), "alerts": self.count, "hashes": self.hashes,
                               "window": self.window}}


# ---------------------------------------------------------------------------------------------
# Drops: counted, warned about at most once per reason per interval
# ---------------------------------------------------------------------------------------------

WARN_INTERVAL = 10.0
# Expected traffic that is ignored by configuration: counted, logged at debug level only.
QUIET_REASONS = frozenset(("heartbeat", "activity_record"))


class DropCounter:
    def __init__(self, interval=WARN_INTERVAL, clock=time.monotonic, logger=LOG):
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.totals = collections.Counter()
        self._pending = collections.Counter()
        self._detail = {}
        self._warned_at = {}

    def drop(self, reason, detail=""):
        self.totals[reason] += 1
        if reason in QUIET_REASONS:
            self.logger.debug("kata_alerts: ignored a %s message", reason)
            return
        self._pending[reason] += 1
        if detail:
            self._detail[reason] = detail
        now = self.clock()
        if now - self._warned_at.get(reason, now - self.interval) >= self.interval:
            self._warn(reason, now)

    def report(self):
        """Warn about drops held back by the rate limit, once their interval has passed."""
        now = self.clock()
        for reason in [reason for reason, count in self._pending.items() if count]:
            if now - self._warned_at.get(reason, now - self.interval) >= self.interval:
                self._warn(reason, now)

    def _warn(self, reason, now):
        detail = self._detail.pop(reason, "")
        self.logger.warning("kata_alerts: %s: %d in the last %d s (%d since start)%s", reason,
                            self._pending[reason], self.interval, self.totals[reason],
                            "; last: %r" % detail if detail else "")
        self._pending[reason] = 0
        self._warned_at[reason] = now


# ---------------------------------------------------------------------------------------------
# The source: listeners, delivery
# ---------------------------------------------------------------------------------------------

READ_BYTES = 65536
INBOX_SIZE = 2000  # events parsed but not yet handed to the rulebook
TLS_HANDSHAKE_SECONDS = 10.0
_SENDER_CACHE_SIZE = 4096


def sender_address(peer):
    """The sender's IP as text (IPv4-mapped IPv6 as IPv4), or '' when unknown."""
    if not peer:
        return ""
    host = str(peer[0]).split("%", 1)[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


class _DatagramReceiver(asyncio.DatagramProtocol):
    def __init__(self, source):
        self.source = source

    def datagram_received(self, data, addr):
        self.source.receive_datagram(data, sender_address(addr))

    def error_received(self, exc):
        LOG.debug("kata_alerts: UDP receive error: %s", exc)


class KataAlertsSource:
    """Listens, parses, batches and puts events on ``queue``; ``drops.totals`` counts what it dropped."""

    def __init__(self, queue, settings):
        self.queue = queue
        self.settings = settings
        self.drops = DropCounter()
        self.inbox = None
        self.connections = collections.OrderedDict()  # writer -> None, least recently active first
        self.bound = []  # the (host, port) listened on
        self._allowed = {}

    # -- senders and connections --

    def allowed(self, sender):
        networks = self.settings.allowed_senders
        if networks is None:
            return True
        verdict = self._allowed.get(sender)
        if verdict is None:
            try:
                address = ipaddress.ip_address(sender)
                verdict = any(address in network for network in networks)
            except ValueError:
                verdict = False
            if len(self._allowed) >= _SENDER_CACHE_SIZE:
                self._allowed.clear()
            self._allowed[sender] = verdict
        return verdict

    def _admit(self, writer):
        while len(self.connections) >= self.settings.max_connections:
            idle, _unused = self.connections.popitem(last=False)
            self.drops.drop("connection_evicted", "max_connections %d" % self.settings.max_connections)
            idle.close()
        self.connections[writer] = None

    # -- messages --

    def accept(self, data, sender):
        """Parse one message and hand its event to the delivery task."""
        try:
            parsed = parse_message(data, sender)
        except Exception as exc:  # pylint: disable=broad-except
            # Defence in depth: the fuzz tests say parse_message never raises.
            self.drops.drop("parser_error", repr(exc)[:200])
            return
        if isinstance(parsed, Dropped):
            self.drops.drop(parsed.reason, parsed.detail)
            return
        kind, kata = parsed
        if len(data) >= KATA_CUT_BYTES:
            self.drops.drop("cut_last_pair", "a %d-byte message: its last key/value pair was left out" % len(data))
        if kind == HEARTBEAT and not self.settings.heartbeats:
            self.drops.drop("heartbeat")
        elif kind == ACTIVITY and not self.settings.activity_log:
            self.drops.drop("activity_record")
        else:
            try:
                self.inbox.put_nowait((kind, kata))
            except asyncio.QueueFull:
                self.drops.drop("queue_full", "the rulebook does not keep up")

    def receive_datagram(self, data, sender):
        if not self.allowed(sender):
            self.drops.drop("sender_not_allowed", sender)
        elif len(data) > self.settings.max_message_bytes:
            self.drops.drop("oversized", "%d bytes from %s" % (len(data), sender))
        else:
            self.accept(data, sender)

    async def serve_stream(self, reader, writer):
        sender = sender_address(writer.get_extra_info("peername"))
        if not self.allowed(sender):
            self.drops.drop("sender_not_allowed", sender)
            writer.close()
            return
        self._admit(writer)
        framer = StreamFramer(self.settings.max_message_bytes, self.drops.drop)
        try:
            while True:
                data = await reader.read(READ_BYTES)
                if not data:
                    break
                if writer in self.connections:
                    self.connections.move_to_end(writer)
                for message in framer.feed(data):
                    await self._accept_waiting(message, sender)
            last = framer.finish()
            if last is not None:
                await self._accept_waiting(last, sender)
        except (OSError, asyncio.IncompleteReadError):  # ConnectionError and ssl.SSLError are OSErrors
            pass
        finally:
            self.connections.pop(writer, None)
            writer.close()

    async def _accept_waiting(self, message, sender):
        """As accept(), but a stream sender waits (TCP back-pressure) instead of losing the message."""
        while self.inbox.full():
            await asyncio.sleep(0.01)
        self.accept(message, sender)

    # -- delivery --

    async def deliver(self):
        """Move events from the inbox to the rulebook's queue, grouping alerts when batching.

        Batching is leading-edge: the first alert after a quiet period goes out at once, as a batch of one,
        so a single alert never waits for a window. Alerts that follow within the window are grouped and go
        out when it closes; while they keep coming, each next window is twice as long (up to
        MAX_WINDOW_GROWTH windows), so a storm becomes a few fleet runs instead of one per window.
        """
        window = self.settings.batch_window
        loop = asyncio.get_running_loop()
        batch, deadline = None, None
        cooldown, quiet_from = window, loop.time()
        while True:
            timeout = None if batch is None else max(0.0, deadline - loop.time())
            try:
                kind, kata = await asyncio.wait_for(self.inbox.get(), timeout)
            except asyncio.CancelledError:
                if batch is not None:  # shutting down: hand over what was grouped
                    try:
                        self.queue.put_nowait(batch.event())
                    except Exception as exc:  # pylint: disable=broad-except
                        LOG.warning("kata_alerts: %d batched alert(s) lost at shutdown: %s", batch.count, exc)
                raise
            except asyncio.TimeoutError:
                await self.queue.put(batch.event())
                batch = None
                cooldown = min(cooldown * 2, window * MAX_WINDOW_GROWTH)
                quiet_from = loop.time() + cooldown
                continue
            if kind == ACTIVITY:
                await self.queue.put({"kata": {"activity": kata}})
            elif kind == HEARTBEAT or not window:
                await self.queue.put({"kata": kata})
            elif batch is None and loop.time() >= quiet_from:
                single = AlertBatch(window)
                single.add(kata)
                await self.queue.put(single.event())
                cooldown, quiet_from = window, loop.time() + window
            else:
                if batch is None:
                    batch, deadline = AlertBatch(window), quiet_from
                batch.add(kata)
                if batch.count >= self.settings.batch_max_alerts:
                    await self.queue.put(batch.event())
                    batch = None

    async def report_drops(self):
        while True:
            await asyncio.sleep(self.drops.interval)
            self.drops.report()

    # -- listening --

    async def listen(self):
        """Start the listener; return what to close on shutdown."""
        loop = asyncio.get_running_loop()
        settings = self.settings
        if settings.protocol == "udp":
            transport, _protocol = await loop.create_datagram_endpoint(
                lambda: _DatagramReceiver(self), local_addr=(settings.host, settings.port))
            self.bound = [transport.get_extra_info("sockname")[:2]]
            return transport
        context = tls_context(settings) if settings.protocol == "tls" else None
        extra = {"ssl_handshake_timeout": TLS_HANDSHAKE_SECONDS} if context else {}
        server = await asyncio.start_server(self.serve_stream, settings.host, settings.port, ssl=context,
                                            reuse_address=True, **extra)
        self.bound = [sock.getsockname()[:2] for sock in server.sockets]
        return server

    async def run(self):
        self.inbox = asyncio.Queue(INBOX_SIZE)
        warning = exposure_warning(self.settings)
        if warning:
            LOG.warning(warning)
        try:
            listener = await self.listen()
        except OSError as exc:
            raise ValueError("kata_alerts: cannot listen on %s:%d/%s (arguments 'host' and 'port'): %s"
                             % (self.settings.host, self.settings.port, self.settings.protocol, exc))
        LOG.info("kata_alerts: listening on %s/%s", ", ".join("%s:%d" % bound for bound in self.bound),
                 self.settings.protocol)
        tasks = [asyncio.ensure_future(self.deliver()), asyncio.ensure_future(self.report_drops())]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            listener.close()
            for writer in list(self.connections):
                writer.close()
            self.connections.clear()


async def main(queue, args):
    """Entry point for ansible-rulebook: listen for KATA alerts and put one event per alert on ``queue``."""
    settings = parse_args(args)
    await KataAlertsSource(queue, settings).run()


if __name__ == "__main__":
    # Run by hand: python kata_alerts.py [port] prints every event (loopback only).
    import sys

    class _PrintQueue:
        async def put(self, event):
            print(event)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), {"host": "127.0.0.1", "port": sys.argv[1] if len(sys.argv) > 1 else 1514}))
