# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sensors (Endpoint Agent hosts): choosing the targets of a run.

Validate input -> targets: one host is chosen by ``sensor_id``, ``sensor_hostname`` or
``sensor_ip``; a fleet by ``sensors`` (sensor IDs, or dicts naming a host by ID, name or IP) or
``sensor_filter`` (the API's own ``sensors`` filters). Host names and IPs cost one
``GET sensors`` for the whole run, never one per sensor; plain sensor IDs cost nothing. The
listing itself (paths, answer shapes, paging) is ``KataClient.list_sensors`` in ``kata.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import (
    ALL_SENSORS,
    clean_selector,
    sensor_key,
    sensor_summary,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.module_glue import fail_from
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import (
    Target,
    TargetFailed,
    run_fleet,
    run_single,
)

SENSOR_OPTIONS = ("sensor_id", "sensor_hostname", "sensor_ip")
FLEET_OPTIONS = ("sensors", "sensor_filter")
ALL_HOSTS_LABEL = "all hosts"
# Module option -> KataClient.resolve_sensor() argument.
SENSOR_ARGUMENTS = {"sensor_id": "sensor_id", "sensor_hostname": "hostname", "sensor_ip": "ip"}

DEFAULT_PARALLELISM = 16
# HttpClient keeps at most 32 connections per host (pool_maxsize); more threads would only wait for one.
MAX_PARALLELISM = 32
FILTER_KEYS = ("hostname", "ip")


class FleetInputError(ValueError):
    """Invalid host selection (``sensor_*``, ``sensors``, ``sensor_filter``, ``parallelism``); names the option."""


def select_target(params, choices, all_hosts=False):
    """``(option, value)`` of the one host selection in use, checked before any request.

    ``choices`` phrases the allowed options for the message; ``all_hosts`` when the module has the
    ``all_hosts`` option. Empty values count as not set; fleet options are returned as given.
    """
    given = [(name, params.get(name)) for name in SENSOR_OPTIONS if params.get(name) not in (None, "")]
    if all_hosts and params.get("all_hosts"):
        given.append(("all_hosts", True))
    given += [(name, params.get(name)) for name in FLEET_OPTIONS if params.get(name) is not None]
    if len(given) != 1:
        raise FleetInputError("Set exactly one of %s; got %s"
                              % (choices, ", ".join(name for name, _value in given) or "none"))
    option, value = given[0]
    if option in SENSOR_OPTIONS:
        value = _text(value, option)
        if option == "sensor_id" and value.lower() == ALL_SENSORS:
            raise FleetInputError("sensor_id=%s is not a host%s" % (
                value, "; use all_hosts=true for the list that applies to all hosts" if all_hosts else ""))
    return option, value


def fleet_spec(selection=True):
    """The options of doc fragment ``kaspersky.edr.kata.fleet``, and the fleet selectors unless ``selection=False``."""
    spec = dict(
        parallelism=dict(type="int", default=DEFAULT_PARALLELISM),
        ignore_sensor_errors=dict(type="bool", default=False),
        results=dict(type="str", choices=["all", "changes"]),
    )
    if selection:
        spec.update(sensors=dict(type="list", elements="raw"), sensor_filter=dict(type="dict"))
    return spec


def _text(value, where):
    try:
        return clean_selector(where, value)
    except ConfigurationError as exc:
        raise FleetInputError(str(exc))


def parse_entries(entries):
    """``sensors`` -> ``[(option, value)]``; a FleetInputError naming ``sensors[i]`` on bad input.

    A string is a sensor ID. A dict has exactly one of ``sensor_id``, ``sensor_hostname`` or
    ``sensor_ip``.
    """
    parsed = []
    for index, entry in enumerate(entries or []):
        where = "sensors[%d]" % index
        if isinstance(entry, dict):
            keys = sorted(str(key) for key in entry)
            if len(keys) != 1 or keys[0] not in SENSOR_OPTIONS:
                raise FleetInputError("%s must be a sensor ID or a dict with exactly one of %s; got keys %s"
                                      % (where, ", ".join(SENSOR_OPTIONS), ", ".join(keys) or "none"))
            option = keys[0]
            value = _text(entry[option], "%s.%s" % (where, option))
        else:
            option, value = "sensor_id", _text(entry, where)
        if option == "sensor_id" and value.lower() == ALL_SENSORS:
            raise FleetInputError("%s: %r is not a host; use all_hosts=true for the list that applies to all hosts"
                                  % (where, value))
        parsed.append((option, value))
    return parsed


def parse_filter(sensor_filter):
    """``sensor_filter`` -> API filter arguments of ``KataClient.list_sensors``."""
    unknown = sorted(str(key) for key in sensor_filter if key not in FILTER_KEYS)
    if unknown:
        raise FleetInputError("sensor_filter accepts the keys %s (an empty dict selects every sensor); got %s"
                              % (", ".join(FILTER_KEYS), ", ".join(unknown)))
    arguments = {}
    for key in FILTER_KEYS:
        if sensor_filter.get(key) not in (None, ""):
            arguments[key] = _text(sensor_filter[key], "sensor_filter.%s" % key)
    return arguments


def parse_fleet(option, value, parallelism):
    """``(entries, sensor_filter)`` for the fleet option in use (both None in single-host mode).

    A FleetInputError naming the option on bad input, before any request.
    """
    check_parallelism(parallelism)
    if option == "sensors":
        return parse_entries(value), None
    if option == "sensor_filter":
        return None, parse_filter(value)
    return None, None


def check_parallelism(value):
    if not 1 <= value <= MAX_PARALLELISM:
        raise FleetInputError("parallelism must be 1..%d (the connection pool size), got %s" % (MAX_PARALLELISM, value))
    return value


# The sensor fields that may name a host's operating system, in the order they are looked at. The API
# documents none of them (the fake Central Node uses ``os``); the first non-empty one is used.
OS_KEYS = ("os", "osName", "os_name", "osType", "os_type", "platform", "operatingSystem", "operating_system",
           "osVersion", "os_version")


def sensor_os(record):
    """The operating system a sensor record names (text), or None when it names none (unknown)."""
    if not isinstance(record, dict):
        return None
    for key in OS_KEYS:
        value = record.get(key)
        if isinstance(value, dict):
            value = value.get("name") or value.get("type") or value.get("value")
        if isinstance(value, (list, tuple)):
            value = " ".join(str(item) for item in value if item not in (None, ""))
        if value not in (None, "") and str(value).strip():
            return str(value).strip()
    return None


def non_windows_os(record):
    """The OS of a host that is known not to run Windows, or None (Windows, or unknown)."""
    name = sensor_os(record)
    if name is None or "windows" in name.lower():
        return None
    return name


def require_windows(target, result=None):
    """Fail the target before any request when its record says it does not run Windows.

    The API guide: isolation and prevention work only on Windows agents (Linux agents can only run a
    program). The OS is known only when the host was looked up (by name or IP, ``sensor_filter``, a
    policy's listing); a plain sensor ID, or a record without an OS field, proceeds.
    """
    name = non_windows_os(target.record)
    if name is not None:
        raise TargetFailed("isolation and prevention work only on Windows agents; %s runs %s. Nothing was sent "
                           "to it." % (target.label, name), result)


def label_of(sensor):
    if sensor.get("hostname"):
        return "%s (sensor %s)" % (sensor["hostname"], sensor["sensor_id"])
    return "sensor %s" % sensor["sensor_id"]


def _ips(sensor):
    value = sensor.get("ip")
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [str(value)] if value not in (None, "") else []


def _match(sensors, option, value):
    if option == "sensor_hostname":
        return [sensor for sensor in sensors if sensor.get("hostname") == value]
    return [sensor for sensor in sensors if value in _ips(sensor)]


def resolve_targets(client, entries=None, sensor_filter=None):
    """``(targets, errors)``: the fleet's sensors, de-duplicated by ID, and ``[(given, message)]``.

    Host names and IPs are matched against one unfiltered ``GET sensors``; the names match
    exactly (case-sensitive, as the API's filter does).
    """
    if sensor_filter is not None:
        found = client.list_sensors(**sensor_filter)
        targets = [Target(sensor["sensor_id"], label_of(sensor), label_of(sensor), record=sensor)
                   for sensor in found if sensor.get("sensor_id")]
        return _unique(targets), []
    every = None
    if any(option != "sensor_id" for option, _value in entries):
        every = [sensor for sensor in client.list_sensors() if sensor.get("sensor_id")]
    targets, errors = [], []
    for option, value in entries:
        given = "%s=%s" % (option, value)
        if option == "sensor_id":
            targets.append(Target(value, "sensor %s" % value, value))
            continue
        matches = _match(every, option, value)
        if len(matches) == 1:
            targets.append(Target(matches[0]["sensor_id"], label_of(matches[0]), value, record=matches[0]))
        elif not matches:
            errors.append((value, "No Endpoint Agent host matches %s" % given))
        else:
            errors.append((value, "%d Endpoint Agent hosts match %s, give their sensor IDs instead: %s"
                           % (len(matches), given, "; ".join(sensor_summary(sensor) for sensor in matches))))
    return _unique(targets), errors


def _unique(targets):
    """The targets without repeats; sensor IDs compare case-insensitively (the API shows both cases)."""
    kept, seen = [], set()
    for target in targets:
        key = sensor_key(target.api_id)
        if key not in seen:
            seen.add(key)
            kept.append(target)
    return kept


def sensor_selection_spec():
    return dict((option, dict(type="str")) for option in SENSOR_OPTIONS)


def resolver(client, option, value):
    """A function returning the one :class:`Target` that ``option=value`` names (a request for names and IPs)."""
    def resolve():
        sensor = client.resolve_sensor(**{SENSOR_ARGUMENTS[option]: value})
        return Target(sensor["sensor_id"], label_of(sensor), value, record=sensor)
    return resolve


def list_with_settings(client, settings_types, sensor_id=None, hostname=None, ip=None):
    """The sensors the filters select, each with the settings of ``settings_types`` (kata_sensor_info)."""
    sensors = client.list_sensors(sensor_id=sensor_id, hostname=hostname, ip=ip)
    settings = client.settings_of(sensors, settings_types)
    for sensor in sensors:
        if sensor["sensor_id"] in settings:
            sensor["settings"] = settings[sensor["sensor_id"]]
    return sensors


def all_hosts_target():
    return Target(ALL_SENSORS, ALL_HOSTS_LABEL, ALL_HOSTS_LABEL)


def run_selection(module, client, resource, option, value, selection, base=None):
    """Run ``resource`` on the hosts ``select_target``/``parse_fleet`` chose: a fleet, or a fleet of one."""
    params = module.params
    if option in FLEET_OPTIONS:
        entries, sensor_filter = selection
        try:
            targets, errors = resolve_targets(client, entries, sensor_filter)
        except ApiError as exc:
            fail_from(module, exc, changed=False, sensor_results=[], failed_sensors=[])
        return run_fleet(module, resource, targets, errors, params["parallelism"], params["ignore_sensor_errors"],
                         params["results"])
    if option == "all_hosts":
        return run_single(module, resource, all_hosts_target, base)
    return run_single(module, resource, resolver(client, option, value), base)
