# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake Kaspersky Security Center Administration Server OpenAPI (the protocol KlAkOAPI speaks).

Real HTTPS (one-way TLS: KSC does not ask for client certificates) on ``/api/v1.0/``:

* ``POST /api/v1.0/login`` with ``Authorization: KSCBasic user="<b64>", pass="<b64>",
  domain="<domain>", internal="0|1"`` and ``X-KSC-VServer: <b64>``, checked against the
  configured users and virtual servers; anything else is HTTP 401.
* The session is bound to the TCP connection that logged in, as on the real server: a
  call on any other connection (a reconnect, a second client) is HTTP 401.
* ``HostGroup.FindHosts``, ``HostGroup.FindIncidents``, ``HostGroup.AddIncident``,
  ``HostGroup.UpdateIncident``, ``ChunkAccessor.GetItemsCount``, ``GetItemsChunk`` and
  ``Release`` with the documented parameter names and typed values
  (``{"type": "long"|"datetime"|"params", "value": ...}``), search filters parsed with the
  documented syntax (quotes doubled, ``* ? [..]`` wildcards), result-sets per session.
* Errors are ``{"PxgError": {"code", "module", "file", "line", "message"}}`` with HTTP 500 by
  default (``error_status`` switches it, e.g. to 200, as some servers answer): unknown
  methods or parameters, wrong types, bad filters, unknown hosts, incidents or result-sets.

Run it for a person or a demo (prints its URL and credentials as JSON)::

    python -m tests.fakes.ksc_server --pki-dir /tmp/ksc-pki
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import base64
import binascii
import copy
import datetime
import json
import re
import sys
import time
import uuid

from . import pki
from .https_server import FakeHttpsServer, Response, json_error

API_PREFIX = "/api/v1.0/"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_USER = "svc-ansible"
DEFAULT_PASSWORD = "Ksc-Demo-Passw0rd!"
DEFAULT_USERS = (
    {"user": DEFAULT_USER, "password": DEFAULT_PASSWORD, "domain": "", "internal": False},
    {"user": "edr-internal", "password": "Internal-Passw0rd!", "domain": "", "internal": True},
    {"user": "jdoe", "password": "Domain-Passw0rd!", "domain": "CORP", "internal": False},
)
DEFAULT_VSERVERS = ("Branch-VS",)
CHUNK_MAX = 1000

# Attribute types: how the values travel on the wire and compare in filters.
HOST_ATTRIBUTES = {
    "KLHST_WKS_HOSTNAME": "string",
    "KLHST_WKS_DN": "string",
    "KLHST_WKS_DNSNAME": "string",
    "KLHST_WKS_DNSDOMAIN": "string",
    "KLHST_WKS_FQDN": "string",
    "KLHST_WKS_WINHOSTNAME": "string",
    "KLHST_WKS_GROUPID": "int",
    "KLHST_WKS_OS_NAME": "string",
    "KLHST_WKS_STATUS": "int",
    "KLHST_WKS_LID": "long",
    "KLHST_WKS_LAST_VISIBLE": "datetime",
}
INCIDENT_FILTER_ATTRIBUTES = {
    "KLINCDT_ID": "int",
    "KLINCDT_SEVERITY": "int",
    "KLINCDT_ADDED": "datetime",
    "KLINCDT_IS_HANDLED": "bool",
    "KLINCDT_BODY": "string",
    "KLHST_WKS_HOSTNAME": "string",
}
INCIDENT_FIELDS = dict(INCIDENT_FILTER_ATTRIBUTES, **{
    "GNRL_EXTRA_PARAMS": "params",
    "KLINCDT_TYPE": "string",
    "KLINCDT_TYPE_DISPLAY_NAME": "string",
    "KLHSTUSER_ID": "int",
    "KLHST_WKS_DN": "string",
    "KLHST_WKS_WINHOSTNAME": "string",
    "KLHST_WKS_GROUPID": "int",
    "KLHST_WKS_LID": "long",
})
INCIDENT_ORDER_ATTRIBUTES = ("KLINCDT_ID", "KLINCDT_SEVERITY", "KLINCDT_ADDED", "KLINCDT_IS_HANDLED")
ADD_INCIDENT_REQUIRED = ("KLINCDT_SEVERITY", "KLINCDT_ADDED", "KLINCDT_BODY", "KLHST_WKS_HOSTNAME")
ADD_INCIDENT_OPTIONAL = ("KLHSTUSER_ID", "KLINCDT_IS_HANDLED")
UPDATE_INCIDENT_ALLOWED = ("KLINCDT_SEVERITY", "KLINCDT_ADDED", "KLINCDT_BODY", "KLINCDT_IS_HANDLED",
                           "KLHST_WKS_HOSTNAME", "KLHSTUSER_ID")

# PxgError codes used by the fake (shape as the real server's, numbers its own).
ERR_GENERIC = 1
ERR_BAD_PARAM = 1185
ERR_NOT_FOUND = 1183
ERR_BAD_FILTER = 1950
ERR_NO_METHOD = 1501
ERR_AUTH = 1186


class PxgFault(Exception):
    def __init__(self, code, message):
        super(PxgFault, self).__init__(message)
        self.code = code
        self.message = message


def host_id(index):
    return str(uuid.UUID(int=(0x5F3C0A9E1B2D4C6E8F70 << 48) | index))


def make_host(index, dn, dnsname, domain, group=2, os_name="Microsoft Windows 11 Enterprise", vserver=""):
    return {
        "KLHST_WKS_HOSTNAME": host_id(index),
        "KLHST_WKS_DN": dn,
        "KLHST_WKS_DNSNAME": dnsname,
        "KLHST_WKS_DNSDOMAIN": domain,
        "KLHST_WKS_FQDN": "%s.%s" % (dnsname, domain) if domain else dnsname,
        "KLHST_WKS_WINHOSTNAME": dnsname.upper()[:15],
        "KLHST_WKS_GROUPID": group,
        "KLHST_WKS_OS_NAME": os_name,
        "KLHST_WKS_STATUS": 1,
        "KLHST_WKS_LID": 1000 + index,
        "KLHST_WKS_LAST_VISIBLE": "2026-01-15T09:30:00Z",
        "vserver": vserver,
    }


def default_hosts():
    """WS-001..003; two hosts named KIOSK-01 (two branches); two lab hosts whose display names
    contain quotes and an asterisk (filter escaping); one host on the virtual server Branch-VS."""
    return [
        make_host(1, "WS-001", "ws-001", "corp.example"),
        make_host(2, "WS-002", "ws-002", "corp.example"),
        make_host(3, "WS-003", "ws-003", "corp.example"),
        make_host(4, "KIOSK-01", "kiosk-01", "branch1.corp.example", group=5),
        make_host(5, "KIOSK-01", "kiosk-01", "branch2.corp.example", group=6),
        make_host(6, 'Lab "QA" *', "lab-qa-1", "lab.corp.example", group=7),
        make_host(7, 'Lab "QA" 2', "lab-qa-2", "lab.corp.example", group=7),
        make_host(8, "VS-WS-001", "vs-ws-001", "branch.example", group=9, vserver="Branch-VS"),
    ]


# ---- search filter ---------------------------------------------------------------------------
class FilterError(ValueError):
    pass


_ATTR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"-?\d+")
_TIME = re.compile(r'T"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})"')
_CURTIME = re.compile(r"CURTIME\(\s*(-?\d*)\s*\)")
_BINARY = re.compile(r"0x([0-9a-fA-F]+)")


def parse_filter(text, attributes):
    """A predicate for records (dicts) from a KSC search filter string.

    Grammar as documented: ``(&...)``, ``(|...)``, ``(!...)``, ``(attr op value)`` with
    ``= <> < >``; values are integers, quoted strings (``""`` for a quote; wildcards ``* ?
    [set] [^set]`` with ``=`` only), ``T"YYYY-MM-DD hh:mm:ss"``, ``CURTIME(delta)`` or
    ``0x..`` binaries. A bare ``attr=value`` (as in the vendor's samples) is accepted too.
    String comparisons are case-insensitive, as on the real server's database.
    """
    if text is None or not text.strip():
        return lambda record: True
    parser = _FilterParser(text, attributes)
    parser.ws()
    node = parser.filter() if parser.peek() == "(" else parser.item()
    parser.ws()
    if parser.pos != len(text):
        raise FilterError("unexpected %r at position %d of the filter" % (text[parser.pos:parser.pos + 10], parser.pos))
    return node


def _all_of(parts):
    def predicate(record):
        return all(part(record) for part in parts)
    return predicate


def _any_of(parts):
    def predicate(record):
        return any(part(record) for part in parts)
    return predicate


def _negation(inner):
    def predicate(record):
        return not inner(record)
    return predicate


class _FilterParser:
    def __init__(self, text, attributes):
        self.text = text
        self.pos = 0
        self.attributes = attributes

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def ws(self):
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def expect(self, char):
        if self.peek() != char:
            raise FilterError("expected %r at position %d of the filter, found %r" % (char, self.pos, self.peek() or "end"))
        self.pos += 1

    def filter(self):
        self.expect("(")
        self.ws()
        char = self.peek()
        if char in ("&", "|"):
            self.pos += 1
            self.ws()
            parts = []
            while self.peek() == "(":
                parts.append(self.filter())
                self.ws()
            if not parts:
                raise FilterError("%r needs at least one filter at position %d" % (char, self.pos))
            node = _all_of(parts) if char == "&" else _any_of(parts)
        elif char == "!":
            self.pos += 1
            self.ws()
            node = _negation(self.filter())
        else:
            node = self.item()
        self.ws()
        self.expect(")")
        return node

    def item(self):
        self.ws()
        match = _ATTR.match(self.text, self.pos)
        if not match:
            raise FilterError("expected an attribute name at position %d of the filter" % self.pos)
        attr = match.group(0)
        if attr not in self.attributes:
            raise FilterError("attribute %s cannot be used in this filter" % attr)
        self.pos = match.end()
        self.ws()
        for op in ("<>", "=", ">", "<"):
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                break
        else:
            raise FilterError("expected = <> < or > after %s at position %d" % (attr, self.pos))
        self.ws()
        kind, value = self.value()
        return _comparison(attr, self.attributes[attr], op, kind, value)

    def value(self):
        rest = self.text[self.pos:]
        if rest.startswith('"'):
            return "string", self.quoted()
        for pattern, kind in ((_TIME, "time"), (_CURTIME, "curtime"), (_BINARY, "binary"), (_INT, "int")):
            match = pattern.match(self.text, self.pos)
            if match:
                self.pos = match.end()
                return kind, match.group(1) if kind != "int" else int(match.group(0))
        raise FilterError("expected a value at position %d of the filter" % self.pos)

    def quoted(self):
        self.pos += 1
        chars = []
        while True:
            if self.pos >= len(self.text):
                raise FilterError("unterminated string in the filter")
            char = self.text[self.pos]
            if char == '"':
                if self.text.startswith('""', self.pos):
                    chars.append('"')
                    self.pos += 2
                    continue
                self.pos += 1
                return "".join(chars)
            chars.append(char)
            self.pos += 1


def wildcard_regex(value):
    """(regex, has_wildcards) for a filter string with ``* ? [set] [^set]`` wildcards."""
    out = []
    wild = False
    index = 0
    while index < len(value):
        char = value[index]
        if char == "*":
            out.append(".*")
            wild = True
        elif char == "?":
            out.append(".")
            wild = True
        elif char == "[":
            end = value.find("]", index + 2)
            if end < 0:
                raise FilterError("unterminated [ set in %r" % value)
            body = value[index + 1:end]
            negate = body.startswith("^") and len(body) > 1
            if negate:
                body = body[1:]
            parts = []
            pos = 0
            while pos < len(body):
                if pos + 2 < len(body) and body[pos + 1] == "-":
                    parts.append("%s-%s" % (re.escape(body[pos]), re.escape(body[pos + 2])))
                    pos += 3
                else:
                    parts.append(re.escape(body[pos]))
                    pos += 1
            out.append("[%s%s]" % ("^" if negate else "", "".join(parts)))
            wild = True
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("^%s$" % "".join(out), re.IGNORECASE | re.DOTALL), wild


def _comparison(attr, attr_type, op, kind, value):
    if attr_type == "string":
        if kind != "string":
            raise FilterError("attribute %s is a string; compare it with a quoted string" % attr)
        regex, wild = wildcard_regex(value)
        if wild and op != "=":
            raise FilterError("wildcards in the value for %s need the = operator" % attr)

        def compare(record):
            current = record.get(attr)
            if not isinstance(current, str):
                return False
            if op == "=":
                return bool(regex.match(current))
            if op == "<>":
                return current.casefold() != value.casefold()
            return current.casefold() > value.casefold() if op == ">" else current.casefold() < value.casefold()
        return compare
    if attr_type in ("int", "long", "bool"):
        if kind != "int":
            raise FilterError("attribute %s is a number; compare it with an integer" % attr)

        def compare_number(record):
            current = record.get(attr)
            if current is None:
                return False
            return _ordered(int(current), op, value)
        return compare_number
    if attr_type == "datetime":
        if kind == "time":
            moment = datetime.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        elif kind == "curtime":
            moment = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0) + datetime.timedelta(seconds=int(value or 0))
        else:
            raise FilterError('attribute %s is a time; compare it with T"YYYY-MM-DD hh:mm:ss" or CURTIME()' % attr)

        def compare_time(record):
            current = record.get(attr)
            if not current:
                return False
            return _ordered(datetime.datetime.strptime(current, DATETIME_FORMAT), op, moment)
        return compare_time
    raise FilterError("attribute %s cannot be used in a filter" % attr)


def _ordered(left, op, right):
    return {"=": left == right, "<>": left != right, ">": left > right, "<": left < right}[op]


# ---- typed values ---------------------------------------------------------------------------
def wire_value(attr_type, value):
    if value is None:
        return None
    if attr_type == "long":
        return {"type": "long", "value": value}
    if attr_type == "datetime":
        return {"type": "datetime", "value": value}
    if attr_type == "params":
        return {"type": "params", "value": value}
    return value


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _typed(value, kind):
    return isinstance(value, dict) and value.get("type") == kind and "value" in value and len(value) == 2


class FakeKscServer(FakeHttpsServer):
    def __init__(self, pki_paths, users=DEFAULT_USERS, vservers=DEFAULT_VSERVERS, hosts=None, **kwargs):
        # KSC authenticates the client with KSCBasic, not with a certificate: one-way TLS.
        super(FakeKscServer, self).__init__(pki_paths["server"], pki_paths["server_key"], client_ca=None, **kwargs)
        self.pki = pki_paths
        self.default_users = [dict(user) for user in users]
        self.vservers = list(vservers)
        self.default_hosts = hosts
        self.reset()

    # ---- state -------------------------------------------------------------------------
    def reset(self, hosts=None, users=None):
        with self.state_lock:
            source = hosts if hosts is not None else (self.default_hosts or default_hosts())
            self.hosts = [dict(host) for host in source]
            self.users = [dict(user) for user in (users or self.default_users)]
            self.incidents = []
            self.next_incident_id = 1001
            self.sessions = {}
            self.accessors = {}
            self.logins = []
            self.error_status = 500
        self.clear_log()
        self.clear_faults()

    @property
    def base_url(self):
        return self.url + API_PREFIX

    def host_by_dn(self, dn, index=0):
        return [host for host in self.hosts if host["KLHST_WKS_DN"] == dn][index]

    def find_host(self, ksc_host_id):
        for host in self.hosts:
            if host["KLHST_WKS_HOSTNAME"].lower() == str(ksc_host_id).lower():
                return host
        return None

    def add_incident(self, ksc_host_id, body, handled=False, severity=2, added=None):
        """Plant an incident directly (as KUMA or a person would have), return its ID."""
        with self.state_lock:
            host = self.find_host(ksc_host_id)
            if host is None:
                raise KeyError("unknown host %s" % ksc_host_id)
            incident_id = self.next_incident_id
            self.next_incident_id += 1
            self.incidents.append({
                "KLINCDT_ID": incident_id, "KLINCDT_SEVERITY": severity,
                "KLINCDT_ADDED": added or time.strftime(DATETIME_FORMAT, time.gmtime()),
                "KLINCDT_BODY": body if isinstance(body, str) else json.dumps(body),
                "KLINCDT_IS_HANDLED": bool(handled), "KLHST_WKS_HOSTNAME": host["KLHST_WKS_HOSTNAME"],
                "GNRL_EXTRA_PARAMS": {}, "KLINCDT_TYPE": "", "KLINCDT_TYPE_DISPLAY_NAME": ""})
            return incident_id

    def set_handled(self, incident_id, handled=True):
        with self.state_lock:
            self.incident(incident_id)["KLINCDT_IS_HANDLED"] = bool(handled)

    def incident(self, incident_id):
        for incident in self.incidents:
            if incident["KLINCDT_ID"] == incident_id:
                return incident
        raise KeyError(incident_id)

    def response_bodies(self):
        """The parsed KLINCDT_BODY of every incident, in creation order."""
        bodies = []
        for incident in self.incidents:
            try:
                bodies.append(json.loads(incident["KLINCDT_BODY"]))
            except ValueError:
                bodies.append(None)
        return bodies

    def calls(self, method=None):
        """Logged OpenAPI calls, optionally only ``Class.Method`` (the login is ``login``)."""
        path = r"^%s%s$" % (re.escape(API_PREFIX), re.escape(method)) if method else None
        return self.log("POST", path)

    def open_accessors(self):
        return sorted(accessor for accessor, entry in self.accessors.items() if not entry["released"])

    def dump_state(self):
        return {"hosts": self.hosts, "incidents": self.incidents, "error_status": self.error_status,
                "users": [{"user": u["user"], "domain": u["domain"], "internal": u["internal"]} for u in self.users],
                "vservers": self.vservers}

    def load_state(self, state):
        if "hosts" in state:
            self.hosts = [dict(host) for host in state["hosts"]]
        if "users" in state:
            self.users = [dict(user) for user in state["users"]]
        if "error_status" in state:
            self.error_status = int(state["error_status"])
        for incident in state.get("incidents") or []:
            self.add_incident(incident["KLHST_WKS_HOSTNAME"], incident["KLINCDT_BODY"],
                              handled=incident.get("KLINCDT_IS_HANDLED", False))

    # ---- protocol ----------------------------------------------------------------------
    def pxg(self, code, message, status=None):
        return Response(self.error_status if status is None else status, {"PxgError": {
            "code": code, "subcode": 0, "module": "KLSTD", "file": "fake/ksc_server.py", "line": 1,
            "message": message}})

    def handle_api(self, request):
        if not request.path.startswith(API_PREFIX):
            return json_error(404, "not found: %s" % request.path)
        name = request.path[len(API_PREFIX):]
        if request.method != "POST":
            return self.pxg(ERR_BAD_PARAM, "OpenAPI methods are called with POST, not %s" % request.method, status=405)
        content_type = (request.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self.pxg(ERR_BAD_PARAM, "Content-Type must be application/json, got %s" % content_type, status=400)
        if name == "login":
            return self._login(request)
        session = self.sessions.get(request.conn_id)
        if session is None:
            return self.pxg(ERR_AUTH, "Not authenticated: log in on this connection first", status=401)
        if request.json_error:
            return self.pxg(ERR_BAD_PARAM, "The request body is not valid JSON: %s" % request.json_error)
        params = request.json if request.body else {}
        if not isinstance(params, dict):
            return self.pxg(ERR_BAD_PARAM, "The request body must be a JSON object of named parameters")
        handler = self._methods().get(name)
        if handler is None:
            return self.pxg(ERR_NO_METHOD, "Method '%s' not found" % name)
        try:
            return Response(200, handler(session, request.conn_id, params))
        except PxgFault as fault:
            return self.pxg(fault.code, fault.message)

    def _methods(self):
        return {
            "HostGroup.FindHosts": self._find_hosts,
            "HostGroup.FindIncidents": self._find_incidents,
            "HostGroup.AddIncident": self._add_incident,
            "HostGroup.UpdateIncident": self._update_incident,
            "ChunkAccessor.GetItemsCount": self._get_items_count,
            "ChunkAccessor.GetItemsChunk": self._get_items_chunk,
            "ChunkAccessor.Release": self._release,
        }

    def _login(self, request):
        header = request.headers.get("Authorization") or ""
        entry = {"conn": request.conn_id, "user": None, "domain": None, "internal": None, "vserver": None, "ok": False}
        self.logins.append(entry)
        self.sessions.pop(request.conn_id, None)
        if not header.startswith("KSCBasic "):
            return self.pxg(ERR_AUTH, "Authentication failure: KSCBasic credentials expected", status=401)
        fields = dict(re.findall(r'(\w+)="([^"]*)"', header[len("KSCBasic "):]))
        try:
            user = base64.b64decode(fields.get("user", ""), validate=True).decode("utf-8")
            password = base64.b64decode(fields.get("pass", ""), validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return self.pxg(ERR_AUTH, "Authentication failure: user and pass must be base64", status=401)
        domain = fields.get("domain", "")
        internal = fields.get("internal", "0") == "1"
        entry.update(user=user, domain=domain, internal=internal)
        vserver_header = request.headers.get("X-KSC-VServer")
        vserver = ""
        if vserver_header:
            try:
                vserver = base64.b64decode(vserver_header, validate=True).decode("utf-8")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                return self.pxg(ERR_AUTH, "Authentication failure: X-KSC-VServer must be base64", status=401)
        entry["vserver"] = vserver
        if vserver and vserver.lower() not in [name.lower() for name in self.vservers]:
            return self.pxg(ERR_AUTH, "Authentication failure: virtual server '%s' not found" % vserver, status=401)
        for account in self.users:
            if bool(account["internal"]) != internal or account["password"] != password:
                continue
            same_name = account["user"] == user if internal else account["user"].lower() == user.lower()
            if same_name and (internal or account["domain"].lower() == domain.lower()):
                canonical = next((name for name in self.vservers if name.lower() == vserver.lower()), "")
                self.sessions[request.conn_id] = {"user": user, "vserver": canonical}
                entry["ok"] = True
                return Response(200, {})
        return self.pxg(ERR_AUTH, "Authentication failure", status=401)

    # ---- parameters --------------------------------------------------------------------
    @staticmethod
    def _check_names(method, params, allowed):
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise PxgFault(ERR_BAD_PARAM, "%s: unexpected parameter(s) %s" % (method, ", ".join(unknown)))

    @staticmethod
    def _arg(method, params, name, kind, required=True):
        if name not in params or params[name] is None:
            if required:
                raise PxgFault(ERR_BAD_PARAM, "%s: parameter '%s' is missing" % (method, name))
            return None
        value = params[name]
        if kind == "string" and isinstance(value, str):
            return value
        if kind == "int" and _is_int(value):
            return value
        if kind == "long":
            if _is_int(value):
                return value
            if _typed(value, "long") and _is_int(value["value"]):
                return value["value"]
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "array" and isinstance(value, list):
            return value
        if kind == "params":
            if isinstance(value, dict) and not _typed(value, "params"):
                return value
            if _typed(value, "params") and isinstance(value["value"], dict):
                return value["value"]
        raise PxgFault(ERR_BAD_PARAM, "%s: parameter '%s' must be of type %s, got %s" % (
            method, name, kind, json.dumps(value)[:80]))

    def _strings(self, method, name, values, known):
        for value in values:
            if not isinstance(value, str):
                raise PxgFault(ERR_BAD_PARAM, "%s: %s must be an array of strings" % (method, name))
            if value not in known:
                raise PxgFault(ERR_NOT_FOUND, "%s: attribute '%s' not found" % (method, value))
        return values

    def _order(self, method, name, value, allowed):
        keys = []
        for item in value or []:
            item = item.get("value") if _typed(item, "params") else item
            if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
                raise PxgFault(ERR_BAD_PARAM, "%s: %s must be an array of {Name, Asc}" % (method, name))
            if item["Name"] not in allowed:
                raise PxgFault(ERR_BAD_PARAM, "%s: cannot order by '%s'" % (method, item["Name"]))
            keys.append((item["Name"], bool(item.get("Asc", True))))
        return keys

    def _new_accessor(self, conn_id, items):
        accessor = uuid.uuid4().hex.upper()
        self.accessors[accessor] = {"conn": conn_id, "items": items, "released": False}
        return accessor

    def _accessor(self, method, conn_id, params):
        accessor = self._arg(method, params, "strAccessor", "string")
        entry = self.accessors.get(accessor)
        if entry is None or entry["released"] or entry["conn"] != conn_id:
            raise PxgFault(ERR_NOT_FOUND, "%s: result-set '%s' not found" % (method, accessor))
        return accessor, entry

    def _visible_hosts(self, session, current_vs_only=True):
        if not session["vserver"] and not current_vs_only:
            return list(self.hosts)
        return [host for host in self.hosts if host.get("vserver", "") == session["vserver"]]

    # ---- methods -----------------------------------------------------------------------
    def _find_hosts(self, session, conn_id, params):
        method = "HostGroup.FindHosts"
        self._check_names(method, params, ("wstrFilter", "vecFieldsToReturn", "vecFieldsToOrder", "pParams",
                                           "lMaxLifeTime"))
        wstr_filter = self._arg(method, params, "wstrFilter", "string")
        fields = self._strings(method, "vecFieldsToReturn", self._arg(method, params, "vecFieldsToReturn", "array"),
                               HOST_ATTRIBUTES)
        order = self._order(method, "vecFieldsToOrder", self._arg(method, params, "vecFieldsToOrder", "array",
                                                                  required=False), HOST_ATTRIBUTES)
        options = self._arg(method, params, "pParams", "params", required=False) or {}
        self._arg(method, params, "lMaxLifeTime", "int")
        current_only = options.get("KLGRP_FIND_FROM_CUR_VS_ONLY", False)
        if not isinstance(current_only, bool):
            raise PxgFault(ERR_BAD_PARAM, "%s: pParams.KLGRP_FIND_FROM_CUR_VS_ONLY must be a boolean" % method)
        try:
            predicate = parse_filter(wstr_filter, HOST_ATTRIBUTES)
        except FilterError as exc:
            raise PxgFault(ERR_BAD_FILTER, "%s: invalid filter: %s" % (method, exc))
        found = [host for host in self._visible_hosts(session, current_only) if predicate(host)]
        found = _sorted(found, order)
        items = [dict((field, wire_value(HOST_ATTRIBUTES[field], host.get(field))) for field in fields
                      if host.get(field) is not None) for host in found]
        return {"PxgRetVal": len(items), "strAccessor": self._new_accessor(conn_id, items)}

    def _find_incidents(self, session, conn_id, params):
        method = "HostGroup.FindIncidents"
        self._check_names(method, params, ("strFilter", "pFieldsToReturn", "pFieldsToOrder", "lMaxLifeTime"))
        str_filter = self._arg(method, params, "strFilter", "string")
        fields = self._strings(method, "pFieldsToReturn", self._arg(method, params, "pFieldsToReturn", "array"),
                               INCIDENT_FIELDS)
        order = self._order(method, "pFieldsToOrder", self._arg(method, params, "pFieldsToOrder", "array",
                                                                required=False), INCIDENT_ORDER_ATTRIBUTES)
        self._arg(method, params, "lMaxLifeTime", "int")
        try:
            predicate = parse_filter(str_filter, INCIDENT_FILTER_ATTRIBUTES)
        except FilterError as exc:
            raise PxgFault(ERR_BAD_FILTER, "%s: invalid filter: %s" % (method, exc))
        visible = dict((host["KLHST_WKS_HOSTNAME"], host) for host in self._visible_hosts(session))
        found = []
        for incident in self.incidents:
            host = visible.get(incident["KLHST_WKS_HOSTNAME"])
            if host is None or not predicate(incident):
                continue
            record = dict(incident)
            for key in ("KLHST_WKS_DN", "KLHST_WKS_WINHOSTNAME", "KLHST_WKS_GROUPID", "KLHST_WKS_LID"):
                record[key] = host.get(key)
            found.append(record)
        found = _sorted(found, order)
        items = [dict((field, wire_value(INCIDENT_FIELDS[field], copy.deepcopy(record.get(field))))
                      for field in fields if record.get(field) is not None) for record in found]
        return {"PxgRetVal": len(items), "strAccessor": self._new_accessor(conn_id, items)}

    def _incident_data(self, method, session, data, allowed, required=()):
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise PxgFault(ERR_BAD_PARAM, "%s: pData: attribute(s) %s cannot be set" % (method, ", ".join(unknown)))
        for key in required:
            if key not in data or data[key] is None:
                raise PxgFault(ERR_BAD_PARAM, "%s: pData: required attribute %s is missing" % (method, key))
        clean = {}
        for key, value in data.items():
            if key in ("KLINCDT_SEVERITY", "KLHSTUSER_ID"):
                if not _is_int(value):
                    raise PxgFault(ERR_BAD_PARAM, "%s: pData.%s must be paramInt" % (method, key))
            elif key == "KLINCDT_ADDED":
                if not _typed(value, "datetime") or not isinstance(value["value"], str):
                    raise PxgFault(ERR_BAD_PARAM, '%s: pData.KLINCDT_ADDED must be paramDateTime '
                                                  '{"type": "datetime", "value": "YYYY-MM-DDTHH:MM:SSZ"}' % method)
                try:
                    datetime.datetime.strptime(value["value"], DATETIME_FORMAT)
                except ValueError:
                    raise PxgFault(ERR_BAD_PARAM, "%s: pData.KLINCDT_ADDED %r is not YYYY-MM-DDTHH:MM:SSZ" % (
                        method, value["value"]))
                value = value["value"]
            elif key == "KLINCDT_IS_HANDLED":
                if not isinstance(value, bool):
                    raise PxgFault(ERR_BAD_PARAM, "%s: pData.KLINCDT_IS_HANDLED must be paramBool" % method)
            elif key in ("KLINCDT_BODY", "KLHST_WKS_HOSTNAME"):
                if not isinstance(value, str):
                    raise PxgFault(ERR_BAD_PARAM, "%s: pData.%s must be paramString" % (method, key))
            clean[key] = value
        if "KLHST_WKS_HOSTNAME" in clean:
            visible = [host["KLHST_WKS_HOSTNAME"] for host in self._visible_hosts(session)]
            if clean["KLHST_WKS_HOSTNAME"] not in visible:
                raise PxgFault(ERR_NOT_FOUND, "%s: host '%s' not found" % (method, clean["KLHST_WKS_HOSTNAME"]))
        return clean

    def _add_incident(self, session, conn_id, params):
        method = "HostGroup.AddIncident"
        self._check_names(method, params, ("pData",))
        data = self._arg(method, params, "pData", "params")
        clean = self._incident_data(method, session, data, ADD_INCIDENT_REQUIRED + ADD_INCIDENT_OPTIONAL,
                                    ADD_INCIDENT_REQUIRED)
        incident_id = self.next_incident_id
        self.next_incident_id += 1
        incident = {"KLINCDT_ID": incident_id, "KLINCDT_IS_HANDLED": False, "GNRL_EXTRA_PARAMS": {},
                    "KLINCDT_TYPE": "", "KLINCDT_TYPE_DISPLAY_NAME": ""}
        incident.update(clean)
        self.incidents.append(incident)
        return {"PxgRetVal": incident_id}

    def _update_incident(self, session, conn_id, params):
        method = "HostGroup.UpdateIncident"
        self._check_names(method, params, ("nId", "pData"))
        incident_id = self._arg(method, params, "nId", "int")
        data = self._arg(method, params, "pData", "params")
        visible = [host["KLHST_WKS_HOSTNAME"] for host in self._visible_hosts(session)]
        incident = next((item for item in self.incidents if item["KLINCDT_ID"] == incident_id
                         and item["KLHST_WKS_HOSTNAME"] in visible), None)
        if incident is None:
            raise PxgFault(ERR_NOT_FOUND, "%s: incident %s not found" % (method, incident_id))
        clean = self._incident_data(method, session, data, UPDATE_INCIDENT_ALLOWED)
        if clean.get("KLHST_WKS_HOSTNAME", incident["KLHST_WKS_HOSTNAME"]) != incident["KLHST_WKS_HOSTNAME"]:
            raise PxgFault(ERR_BAD_PARAM, "%s: an incident cannot be moved to another host" % method)
        incident.update(clean)
        return {}

    def _get_items_count(self, session, conn_id, params):
        method = "ChunkAccessor.GetItemsCount"
        self._check_names(method, params, ("strAccessor",))
        entry = self._accessor(method, conn_id, params)[1]
        return {"PxgRetVal": {"type": "long", "value": len(entry["items"])}}

    def _get_items_chunk(self, session, conn_id, params):
        method = "ChunkAccessor.GetItemsChunk"
        self._check_names(method, params, ("strAccessor", "nStart", "nCount"))
        entry = self._accessor(method, conn_id, params)[1]
        start = self._arg(method, params, "nStart", "int")
        count = self._arg(method, params, "nCount", "int")
        if start < 0 or count < 0:
            raise PxgFault(ERR_BAD_PARAM, "%s: nStart and nCount must not be negative" % method)
        chunk = entry["items"][start:start + min(count, CHUNK_MAX)]
        return {"PxgRetVal": len(chunk), "pChunk": {"KLCSP_ITERATOR_ARRAY": [
            {"type": "params", "value": copy.deepcopy(item)} for item in chunk]}}

    def _release(self, session, conn_id, params):
        method = "ChunkAccessor.Release"
        self._check_names(method, params, ("strAccessor",))
        entry = self._accessor(method, conn_id, params)[1]
        entry["released"] = True
        entry["items"] = []
        return {}


def _sorted(records, order):
    for name, ascending in reversed(order):
        records = sorted(records, key=lambda record: (record.get(name) is None, record.get(name)), reverse=not ascending)
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fake Kaspersky Security Center OpenAPI (HTTPS, KSCBasic login)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--pki-dir", required=True, help="where the throwaway CA and certificates live")
    parser.add_argument("--user", default=DEFAULT_USER)
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--info-file", help="also write the connection info JSON to this file")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    paths = pki.generate(args.pki_dir)
    users = [{"user": args.user, "password": args.password, "domain": "", "internal": False}] + \
        [dict(user) for user in DEFAULT_USERS if user["user"] != args.user]
    fake = FakeKscServer(paths, users=users, host=args.host, port=args.port, latency_ms=args.latency_ms,
                         verbose=args.verbose)
    fake.start()
    info = {"url": fake.url, "ksc_host": args.host, "ksc_port": fake.port, "ksc_username": args.user,
            "ksc_password": args.password, "ksc_internal_user": False, "ca_path": paths["ca"],
            "control": fake.url + "/_fake/",
            "hosts": [dict((key, host[key]) for key in ("KLHST_WKS_HOSTNAME", "KLHST_WKS_DN", "KLHST_WKS_FQDN"))
                      for host in fake.hosts if not host.get("vserver")]}
    text = json.dumps(info, indent=2)
    if args.info_file:
        with open(args.info_file, "w") as handle:
            handle.write(text)
    print(text)
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
