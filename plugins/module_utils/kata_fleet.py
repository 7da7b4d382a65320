# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet mode: many sensors in one module run, over one kept-alive connection pool.

Shared by the modules that offer it (``kata_prevention``, ``kata_isolation``): the options, their
validation, resolving the fleet, running one function per sensor and the combined result.

A fleet is given as ``sensors`` (sensor IDs, or dicts naming a host by ID, name or IP) or as
``sensor_filter`` (the API's own ``sensors`` filters). Host names and IPs cost one
``GET sensors`` for the whole run, never one per sensor; plain sensor IDs cost nothing.
:func:`run_parallel` then runs one function per sensor with bounded concurrency and collects
every outcome, so one failing sensor never stops the others.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import (
    ALL_SENSORS,
    clean_selector,
    sensor_summary,
)

DEFAULT_PARALLELISM = 16
# HttpClient keeps at most 32 connections per host (pool_maxsize); more threads would only wait for one.
MAX_PARALLELISM = 32
ENTRY_KEYS = ("sensor_id", "sensor_hostname", "sensor_ip")
FILTER_KEYS = ("hostname", "ip")


class FleetInputError(ValueError):
    """Invalid ``sensors``/``sensor_filter``/``parallelism``; the message names the option."""


def fleet_spec():
    return dict(
        sensors=dict(type="list", elements="raw"),
        sensor_filter=dict(type="dict"),
        parallelism=dict(type="int", default=DEFAULT_PARALLELISM),
        ignore_sensor_errors=dict(type="bool", default=False),
    )


class Target:
    """One sensor of the fleet: its ID and a readable label for messages and results."""

    def __init__(self, sensor_id, label, given):
        self.sensor_id = sensor_id
        self.label = label
        self.given = given

    def __repr__(self):
        return "Target(%r)" % self.label


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
            if len(keys) != 1 or keys[0] not in ENTRY_KEYS:
                raise FleetInputError("%s must be a sensor ID or a dict with exactly one of %s; got keys %s"
                                      % (where, ", ".join(ENTRY_KEYS), ", ".join(keys) or "none"))
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
        targets = [Target(sensor["sensor_id"], label_of(sensor), label_of(sensor))
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
            targets.append(Target(matches[0]["sensor_id"], label_of(matches[0]), value))
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
        key = str(target.sensor_id).lower()
        if key not in seen:
            seen.add(key)
            kept.append(target)
    return kept


def run_parallel(targets, work, parallelism):
    """``[(target, result, error)]`` in target order; ``work(target)`` returns a result dict.

    ``error`` is an exception of ``failures`` (ApiError and the module's own per-target error);
    anything else propagates, because it is a bug and must show its traceback.
    """
    def one(target):
        try:
            return target, work(target), None
        except (ApiError, TargetFailed) as exc:
            return target, None, exc

    if parallelism <= 1 or len(targets) <= 1:
        return [one(target) for target in targets]
    with ThreadPoolExecutor(max_workers=min(parallelism, len(targets))) as pool:
        return list(pool.map(one, targets))


class TargetFailed(Exception):
    """One target failed in a way the module explains; ``result`` holds what is known so far."""

    def __init__(self, msg, result=None, api_error=None):
        super(TargetFailed, self).__init__(msg)
        self.msg = msg
        self.result = result or {}
        self.api_error = api_error


def emit_warnings(module, result):
    """Emit (and remove) the ``warnings`` a per-target result collected."""
    for warning in result.pop("warnings", []):
        module.warn(warning)


def sensor_outcome(target, result, error):
    """One entry of ``sensor_results``: the target's result, or what is known of it and why it failed."""
    if error is None:
        outcome = dict(result, sensor=target.given, failed=False)
    else:
        outcome = dict(getattr(error, "result", None) or {}, sensor=target.given, failed=True, msg=str(error))
        outcome.setdefault("changed", False)
        api_error = error.api_error if isinstance(error, TargetFailed) else error
        if api_error is not None:
            outcome["api_error"] = api_error.to_dict()
    outcome.update(target=target.label, sensor_id=target.sensor_id)
    return outcome


def run_fleet(module, client, entries, sensor_filter, work, finish=None):
    """Resolve the fleet, run ``work(target)`` for each sensor, and return the module's result.

    ``finish(target, result)``, when given, runs in a second pass over the sensors whose result has
    ``_pending`` work (write verification), so that slow follow-up work never holds up the first pass.
    Fails the module at the end, listing every failed sensor, unless ``ignore_sensor_errors``.
    """
    params = module.params
    result = dict(changed=False, sensor_results=[], failed_sensors=[])
    try:
        targets, errors = resolve_targets(client, entries, sensor_filter)
    except ApiError as exc:
        module.fail_json(msg=str(exc), api_error=exc.to_dict(), **result)
    done = run_parallel(targets, work, params["parallelism"])
    if finish is not None:
        def second_pass(entry):
            target, target_result, error = entry
            if error is not None:
                raise error
            return finish(target, target_result) if "_pending" in target_result else target_result

        done = [(entry[0], target_result, error)
                for entry, target_result, error in run_parallel(done, second_pass, params["parallelism"])]
    outcomes = [sensor_outcome(target, target_result, error) for target, target_result, error in done]
    outcomes.extend(dict(sensor=given, target=given, failed=True, changed=False, msg=message)
                    for given, message in errors)
    for outcome in outcomes:
        emit_warnings(module, outcome)
    diffs = [outcome["diff"] for outcome in outcomes if "diff" in outcome and outcome["changed"]]
    for outcome in outcomes:
        outcome.pop("diff", None)
    failed = [outcome for outcome in outcomes if outcome["failed"]]
    changed = [outcome for outcome in outcomes if outcome["changed"]]
    result.update(changed=bool(changed), sensor_results=outcomes, failed_sensors=[item["target"] for item in failed],
                  summary=dict(total=len(outcomes), changed=len(changed), failed=len(failed),
                               unchanged=len(outcomes) - len(changed) - len([item for item in failed
                                                                             if not item["changed"]])))
    if module._diff:
        result["diff"] = diffs
    if failed and not params["ignore_sensor_errors"]:
        module.fail_json(msg="%d of %d sensors failed (the others were processed): %s" % (
            len(failed), len(outcomes), "; ".join("%s: %s" % (item["target"], item["msg"]) for item in failed)),
            **result)
    for outcome in failed:
        module.warn("%s: %s" % (outcome["target"], outcome["msg"]))
    return result
