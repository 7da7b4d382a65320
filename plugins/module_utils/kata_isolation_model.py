# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network isolation model: options -> desired rule, API <-> model, comparison, plan.

Module side (option names)::

    {"auto_turnoff_timeout": 14400, "auto_turnoff_timeout_hours": 4.0,
     "exclusions": [{"direction": "outbound", "protocol": 6, "remote_address": "10.0.0.5",
                     "local_ports": None, "remote_ports": {"from": 443, "to": 443}}]}

API side (``settings_type=network_isolation``)::

    {"autoTurnoffTimeoutInSec": 14400,
     "excludedRules": [{"direction": "outbound", "protocol": 6, "remoteIpv4Address": "10.0.0.5",
                        "remotePortRange": {"fromPort": 443, "toPort": 443}}]}

The timeout is always in seconds on the wire. The vendor's Postman collection puts an
hours variable (``isolation_timeout_hours``) into ``autoTurnoffTimeoutInSec``; the option
checks here refuse every seconds value below one hour and point at
``auto_turnoff_timeout_hours`` instead, so that mistake cannot reach the Central Node.

Everything here is pure (no I/O) so it can be unit tested without a server;
``kata_isolation.IsolationResource`` does the requests through ``KataClient``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

MIN_TIMEOUT_HOURS = 1
MAX_TIMEOUT_HOURS = 9999
SECONDS_PER_HOUR = 3600
MIN_TIMEOUT_SECONDS = MIN_TIMEOUT_HOURS * SECONDS_PER_HOUR  # 3600
MAX_TIMEOUT_SECONDS = MAX_TIMEOUT_HOURS * SECONDS_PER_HOUR  # 35996400
MIN_PROTOCOL = 0
MAX_PROTOCOL = 255
MIN_PORT = 1
MAX_PORT = 65535

DIRECTIONS = ("inbound", "outbound", "both")
DEFAULT_DIRECTION = "both"
# (module option, API key) of the two port ranges.
PORT_RANGES = (("local_ports", "localPortRange"), ("remote_ports", "remotePortRange"))
EXCLUSION_FIELDS = ("direction", "protocol", "remote_address", "local_ports", "remote_ports")

TIMEOUT_KEY = "autoTurnoffTimeoutInSec"
RULES_KEY = "excludedRules"

SECONDS_RANGE_TEXT = "%d..%d seconds (%d..%d hours)" % (MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS,
                                                        MIN_TIMEOUT_HOURS, MAX_TIMEOUT_HOURS)
HOURS_RANGE_TEXT = "%d..%d" % (MIN_TIMEOUT_HOURS, MAX_TIMEOUT_HOURS)


class IsolationOptionError(ValueError):
    """An invalid module option; the message names the option and the allowed values."""


# ---- small helpers ------------------------------------------------------------------------
def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _to_int(value):
    """An int from an int or a decimal string (the API has been seen to send strings); else None."""
    if _is_int(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def hours_of(seconds):
    """Seconds as hours for display: 14400 -> 4.0, 5400 -> 1.5."""
    if not _is_int(seconds):
        return None
    return round(seconds / float(SECONDS_PER_HOUR), 4)


def canonical_ip(value):
    """(version, compressed text) of an IP address; raises ValueError for anything else.

    A scoped IPv6 address (``fe80::1%eth0``) is refused: its zone names an interface of the host that
    wrote it, which means nothing in a rule the Central Node applies on another host.
    """
    text = str(value).strip()
    if "%" in text:
        raise ValueError("an IPv6 zone ID has no meaning in an isolation rule: %r" % text)
    address = ipaddress.ip_address(text)
    return address.version, address.compressed


def is_ip(value):
    try:
        canonical_ip(value)
    except ValueError:
        return False
    return True


# ---- timeout ------------------------------------------------------------------------------
def validate_timeout(seconds=None, hours=None, required=True):
    """The timeout in seconds from exactly one of the two options; IsolationOptionError otherwise."""
    if seconds is not None and hours is not None:
        raise IsolationOptionError(
            "auto_turnoff_timeout (seconds, %d..%d) and auto_turnoff_timeout_hours (hours, %s) are mutually "
            "exclusive: set only one of them" % (MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS, HOURS_RANGE_TEXT))
    if hours is not None:
        if not _is_int(hours) or not MIN_TIMEOUT_HOURS <= hours <= MAX_TIMEOUT_HOURS:
            raise IsolationOptionError(
                "auto_turnoff_timeout_hours must be a whole number of hours in the range %s, got %r"
                % (HOURS_RANGE_TEXT, hours))
        return hours * SECONDS_PER_HOUR
    if seconds is not None:
        if not _is_int(seconds):
            raise IsolationOptionError("auto_turnoff_timeout must be a whole number of seconds in the range %s, "
                                       "got %r" % (SECONDS_RANGE_TEXT, seconds))
        if seconds < MIN_TIMEOUT_SECONDS:
            if MIN_TIMEOUT_HOURS <= seconds <= MAX_TIMEOUT_HOURS:
                hint = ("%d looks like a number of hours: to isolate for %d hour%s use auto_turnoff_timeout_hours: %d "
                        "(or auto_turnoff_timeout: %d)" % (seconds, seconds, "" if seconds == 1 else "s", seconds,
                                                           seconds * SECONDS_PER_HOUR))
            else:
                hint = "to give the time in hours use auto_turnoff_timeout_hours (%s) instead" % HOURS_RANGE_TEXT
            raise IsolationOptionError("auto_turnoff_timeout is in seconds and must be in the range %s, got %d; %s"
                                       % (SECONDS_RANGE_TEXT, seconds, hint))
        if seconds > MAX_TIMEOUT_SECONDS:
            raise IsolationOptionError(
                "auto_turnoff_timeout is in seconds and must be in the range %s, got %d (%s hours); use at most "
                "auto_turnoff_timeout: %d or auto_turnoff_timeout_hours: %d"
                % (SECONDS_RANGE_TEXT, seconds, hours_of(seconds), MAX_TIMEOUT_SECONDS, MAX_TIMEOUT_HOURS))
        return seconds
    if required:
        raise IsolationOptionError(
            "state=present needs the isolation time: auto_turnoff_timeout (seconds, %d..%d) or "
            "auto_turnoff_timeout_hours (hours, %s)" % (MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS, HOURS_RANGE_TEXT))
    return None


# ---- exclusions: module options -> canonical ----------------------------------------------
def _validate_ports(value, where, direction):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise IsolationOptionError("%s must be a dict {from: <port>, to: <port>} with ports %d..%d, got %r"
                                   % (where, MIN_PORT, MAX_PORT, value))
    unknown = sorted(set(value) - {"from", "to"})
    if unknown:
        raise IsolationOptionError("%s accepts only the keys from and to (ports %d..%d), got %s"
                                   % (where, MIN_PORT, MAX_PORT, ", ".join(unknown)))
    if direction == "both":
        raise IsolationOptionError(
            "%s: port ranges cannot be used with direction both (the API accepts port ranges only for "
            "inbound or outbound traffic); set direction to inbound or outbound, or remove the port range" % where)
    first = value.get("from")
    last = value.get("to")
    if last is None:
        last = first
    for key, port in (("from", first), ("to", last)):
        if not _is_int(port) or not MIN_PORT <= port <= MAX_PORT:
            raise IsolationOptionError("%s.%s must be a port number %d..%d, got %r"
                                       % (where, key, MIN_PORT, MAX_PORT, port))
    if first > last:
        raise IsolationOptionError("%s: from (%d) must not be greater than to (%d); ports %d..%d"
                                   % (where, first, last, MIN_PORT, MAX_PORT))
    return {"from": first, "to": last}


def validate_exclusion(exclusion, index=0):
    """One ``exclusions`` item as a canonical dict (all five keys, None when not set)."""
    where = "exclusions[%d]" % index
    if not isinstance(exclusion, dict):
        raise IsolationOptionError("%s must be a dict with direction, protocol, remote_address, local_ports or "
                                   "remote_ports, got %r" % (where, exclusion))
    unknown = sorted(set(exclusion) - set(EXCLUSION_FIELDS))
    if unknown:
        raise IsolationOptionError("%s: unknown key(s) %s; allowed: %s"
                                   % (where, ", ".join(unknown), ", ".join(EXCLUSION_FIELDS)))
    direction = exclusion.get("direction")
    direction = DEFAULT_DIRECTION if _blank(direction) else direction
    if direction not in DIRECTIONS:
        raise IsolationOptionError("%s.direction must be one of %s, got %r" % (where, ", ".join(DIRECTIONS), direction))
    protocol = exclusion.get("protocol")
    if protocol is not None and (not _is_int(protocol) or not MIN_PROTOCOL <= protocol <= MAX_PROTOCOL):
        raise IsolationOptionError("%s.protocol must be an IANA IP protocol number %d..%d (e.g. 6 TCP, 17 UDP), got %r"
                                   % (where, MIN_PROTOCOL, MAX_PROTOCOL, protocol))
    remote_address = exclusion.get("remote_address")
    if _blank(remote_address):
        remote_address = None
    else:
        if not is_ip(remote_address):
            raise IsolationOptionError("%s.remote_address must be one IPv4 or IPv6 address (no prefix length, no "
                                       "zone ID, no host name), got %r" % (where, remote_address))
        remote_address = canonical_ip(remote_address)[1]
    canonical = {"direction": direction, "protocol": protocol, "remote_address": remote_address}
    for option, dummy in PORT_RANGES:
        canonical[option] = _validate_ports(exclusion.get(option), "%s.%s" % (where, option), direction)
    if all(canonical[key] is None for key in ("protocol", "remote_address", "local_ports", "remote_ports")):
        raise IsolationOptionError(
            "%s must set at least one of remote_address, protocol, local_ports or remote_ports: an exclusion with "
            "only a direction lets all traffic in that direction through and defeats the isolation" % where)
    return canonical


def validate_exclusions(exclusions):
    """(canonical list without duplicates, warnings)."""
    result = []
    seen = {}
    warnings = []
    for index, exclusion in enumerate(exclusions or []):
        canonical = validate_exclusion(exclusion, index)
        key = exclusion_key(canonical)
        if key in seen:
            warnings.append("exclusions[%d] repeats exclusions[%d] and is ignored" % (index, seen[key]))
            continue
        seen[key] = index
        result.append(canonical)
    return result, warnings


def validate_options(params):
    """Check every isolation option before any request (the host selection is ``kata_sensors.select_target``'s).

    Returns ``(desired, warnings)``: ``desired`` is the canonical isolation for
    ``state=present`` and ``{}`` for ``state=absent``.
    """
    state = params.get("state") or "present"
    if state not in ("present", "absent"):
        raise IsolationOptionError("state must be present or absent, got %r" % (state,))
    if state == "absent":
        misplaced = [name for name in ("auto_turnoff_timeout", "auto_turnoff_timeout_hours")
                     if params.get(name) is not None]
        if params.get("exclusions"):
            misplaced.append("exclusions")
        if params.get("force"):
            misplaced.append("force")
        if misplaced:
            raise IsolationOptionError(
                "state=absent deletes the whole isolation rule of the host and takes no %s; remove %s, or use "
                "state=present to change the rule" % (" or ".join(misplaced), " and ".join(misplaced)))
        return {}, []
    seconds = validate_timeout(params.get("auto_turnoff_timeout"), params.get("auto_turnoff_timeout_hours"))
    exclusions, warnings = validate_exclusions(params.get("exclusions"))
    return make_isolation(seconds, exclusions), warnings


def make_isolation(seconds, exclusions):
    return {"auto_turnoff_timeout": seconds, "auto_turnoff_timeout_hours": hours_of(seconds),
            "exclusions": list(exclusions)}


# ---- canonical <-> API ---------------------------------------------------------------------
def exclusion_to_api(canonical):
    rule = {"direction": canonical.get("direction") or DEFAULT_DIRECTION}
    if canonical.get("protocol") is not None:
        rule["protocol"] = canonical["protocol"]
    if canonical.get("remote_address"):
        version = canonical_ip(canonical["remote_address"])[0]
        rule["remoteIpv4Address" if version == 4 else "remoteIpv6Address"] = canonical["remote_address"]
    for option, api_key in PORT_RANGES:
        ports = canonical.get(option)
        if ports:
            rule[api_key] = {"fromPort": ports["from"], "toPort": ports["to"]}
    return rule


def isolation_to_api(isolation, clear_exclusions=False):
    """The ``settings`` body of the POST.

    ``excludedRules`` is left out when there are no exclusions, as in the API's own example,
    unless ``clear_exclusions`` (the current rule has some): then an explicit empty list
    removes them.
    """
    settings = {TIMEOUT_KEY: isolation["auto_turnoff_timeout"]}
    rules = [exclusion_to_api(exclusion) for exclusion in isolation.get("exclusions") or []]
    if rules or clear_exclusions:
        settings[RULES_KEY] = rules
    return settings


def _ports_from_api(value):
    if isinstance(value, dict):
        first = _to_int(value.get("fromPort", value.get("from")))
        last = _to_int(value.get("toPort", value.get("to")))
        if last is None:
            last = first
        if first is None:
            first = last
        if first is None:
            return None
        return {"from": first, "to": last}
    number = _to_int(value)
    return {"from": number, "to": number} if number is not None else None


def exclusion_from_api(rule):
    """One API ``excludedRules`` item as a canonical dict; tolerant, never raises."""
    if not isinstance(rule, dict):
        return {"direction": DEFAULT_DIRECTION, "protocol": None, "remote_address": None, "local_ports": None,
                "remote_ports": None}
    direction = rule.get("direction")
    direction = DEFAULT_DIRECTION if _blank(direction) else str(direction).strip().lower()
    protocol = rule.get("protocol")
    if _blank(protocol):
        protocol = None
    else:
        number = _to_int(protocol)
        protocol = number if number is not None else protocol
    remote_address = None
    for key in ("remoteIpv4Address", "remoteIpv6Address", "remoteIpAddress", "remoteAddress"):
        if not _blank(rule.get(key)):
            try:
                remote_address = canonical_ip(rule[key])[1]
            except ValueError:
                remote_address = str(rule[key]).strip().lower()
            break
    canonical = {"direction": direction, "protocol": protocol, "remote_address": remote_address}
    for option, api_key in PORT_RANGES:
        canonical[option] = _ports_from_api(rule.get(api_key))
    return canonical


# A rule the GET still shows but marked off (the API documents that DELETE "disables" the rule) is no
# isolation: these fields, in any letter case of the value, mark it off (docs/isolation.md lists them).
INACTIVE_IF_FALSE = ("enabled", "isEnabled", "active", "isActive")
INACTIVE_IF_TRUE = ("disabled", "isDisabled", "expired", "isExpired")
STATE_KEYS = ("state", "status", "ruleState", "ruleStatus")
INACTIVE_STATES = ("disabled", "inactive", "expired")


def _flag(value):
    """True/False from a boolean or the strings true/false (any case); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def rule_inactive(settings):
    """The field that marks the rule disabled, inactive or expired (e.g. ``enabled: false``), or None."""
    if not isinstance(settings, dict):
        return None
    for key in INACTIVE_IF_FALSE:
        if _flag(settings.get(key)) is False:
            return "%s: false" % key
    for key in INACTIVE_IF_TRUE:
        if _flag(settings.get(key)) is True:
            return "%s: true" % key
    for key in STATE_KEYS:
        value = settings.get(key)
        if isinstance(value, str) and value.strip().lower() in INACTIVE_STATES:
            return "%s: %s" % (key, value.strip().lower())
    return None


def rule_exists(settings):
    """True when the API's isolation settings hold an active rule (anything but empty values, not marked off)."""
    if not isinstance(settings, dict) or rule_inactive(settings):
        return False
    return any(value not in (None, "", [], {}) for value in settings.values())


def isolation_from_api(settings):
    """The API's isolation settings in module option names; ``{}`` when there is no rule."""
    if not rule_exists(settings):
        return {}
    seconds = _to_int(settings.get(TIMEOUT_KEY))
    rules = settings.get(RULES_KEY) or []
    if isinstance(rules, dict):
        rules = [rules]
    if not isinstance(rules, list):
        rules = []
    return make_isolation(seconds, [exclusion_from_api(rule) for rule in rules])


# ---- comparison -----------------------------------------------------------------------------
def exclusion_key(canonical):
    """A sortable, hashable key of a canonical exclusion (defaults already applied)."""
    def ports(value):
        return (value["from"], value["to"]) if value else (0, 0)

    protocol = canonical.get("protocol")
    return (canonical.get("direction") or DEFAULT_DIRECTION,
            "" if protocol is None else str(protocol),
            canonical.get("remote_address") or "",
            ports(canonical.get("local_ports")),
            ports(canonical.get("remote_ports")))


def exclusion_set(isolation):
    return sorted(set(exclusion_key(exclusion) for exclusion in (isolation or {}).get("exclusions") or []))


def same_isolation(current, desired):
    """Same timeout and the same exclusions, in any order; False when there is no current rule."""
    if not current:
        return not desired
    if not desired:
        return False
    return (current.get("auto_turnoff_timeout") == desired.get("auto_turnoff_timeout")
            and exclusion_set(current) == exclusion_set(desired))


# ---- plan -----------------------------------------------------------------------------------
class IsolationPlan:
    """The rule a host has (``before``) and the one it ends with; ``after_api`` is None for a DELETE."""

    def __init__(self, changed, before, after, before_api, after_api):
        self.changed = changed
        self.before = before
        self.after = after
        self.before_api = before_api
        self.after_api = after_api


def plan_isolation(current_api, desired, state, force=False):
    current = isolation_from_api(current_api)
    if state == "absent":
        return IsolationPlan(rule_exists(current_api), current, {}, current_api, None)
    if force or not same_isolation(current, desired):
        # A rule marked off may still carry exclusions: an explicit empty list clears them too.
        stale = isinstance(current_api, dict) and bool(current_api.get(RULES_KEY))
        after_api = isolation_to_api(desired, clear_exclusions=bool(current.get("exclusions")) or stale)
        return IsolationPlan(True, current, isolation_from_api(after_api), current_api, after_api)
    return IsolationPlan(False, current, current, current_api, current_api)
