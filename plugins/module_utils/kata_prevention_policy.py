# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole prevention policy (GitOps) in one run: policy -> targets -> plans -> ordered writes.

The policy maps targets to hash lists: ``all`` (the all-hosts list), host names as the Central
Node lists them, sensor IDs, or inventory group names (expanded with ``groups``). Every listed
target ends with exactly its hashes; targets not listed are never written.

The run, with the request costs:

1. :func:`parse_policy` checks the input (no request): keys, hashes, no hash both under ``all``
   and for a host.
2. :func:`resolve_policy`: one ``GET sensors`` when any key or group member is a host name (none
   when every key is ``all`` or a sensor ID); an unknown or ambiguous host fails the run here.
3. First pass (``target_runner.plan_all``, also the whole of check mode): one ``GET settings``
   per target, in parallel, planned by ``PreventionResource`` (exclusive). A converged run ends here.
4. :func:`order_writes`: a hash moving between ``all`` and a host must never be on both sides,
   so hosts that give a hash up to ``all`` are written before ``all``, and hosts that take a
   hash from ``all`` after it. A host that does both in one run (a swap) first has the leaving
   hashes removed, then gets its final list after ``all``.
5. The writes (``target_runner.apply_steps``), wave by wave, each verified by a read-back when
   ``verify_write`` is on. The plans of step 3 are the ones written: a changing target costs one
   ``GET`` and one write (a swapping host's list is read again after its removal step).

Input errors and targets that do not resolve raise :class:`PolicyError`; the module fails with it.

When ``all`` adds hashes, the hosts not in the policy are read once (``GET settings`` each) to
check that none of them blocks such a hash, which the Central Node would refuse; when hosts add
hashes and ``all`` is not in the policy, the all-hosts list is read once for the same reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kaspersky.edr.plugins.module_utils.kata import ALL_SENSORS, sensor_key
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention import PreventionResource
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention_model import (
    HashError,
    conflict_message,
    find_conflicts,
    normalize_hashes,
    unknown_conflicts_warning,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_sensors import ALL_HOSTS_LABEL, label_of, non_windows_os
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import (
    Target,
    apply_steps,
    fail_fleet,
    listed_outcomes,
    plan_all,
    summarize,
    target_outcome,
)

ALL_KEY = "all"
# Sensor IDs are UUIDs; keys of this shape need no GET sensors to be resolved.
SENSOR_ID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Keys Ansible's ``groups`` always has that are not groups a policy means.
IMPLICIT_GROUPS = ("all",)


class PolicyError(ValueError):
    """Invalid policy input or a target that does not resolve; the message names the key."""


# ---- 1. input -> desired lists ---------------------------------------------------------------
def parse_policy(policy, groups=None):
    """``[(key, hashes)]`` in input order, each list normalized; PolicyError naming the key."""
    if not isinstance(policy, dict):
        raise PolicyError("policy must be a mapping of targets (all, host names, sensor IDs or groups) to lists "
                          "of hashes, got %s" % type(policy).__name__)
    groups = groups or {}
    if not isinstance(groups, dict):
        raise PolicyError("groups must be a mapping of group names to lists of host names, got %s"
                          % type(groups).__name__)
    parsed = []
    for key, entries in policy.items():
        name = str(key).strip()
        if not name:
            raise PolicyError("policy has an empty key; keys are all, host names, sensor IDs or group names")
        try:
            parsed.append((name, normalize_hashes(entries, option="policy[%s]" % name)))
        except HashError as exc:
            raise PolicyError(str(exc))
    everywhere = set(item["value"] for key, hashes in parsed if key == ALL_KEY for item in hashes)
    for key, hashes in parsed:
        both = [item["value"] for item in hashes if key != ALL_KEY and item["value"] in everywhere]
        if both:
            raise PolicyError("policy[%s] lists %s, which policy[all] lists too: the Central Node refuses a file "
                              "blocked both for all hosts and for a single host; keep it in one place"
                              % (key, ", ".join(both)))
    for group, members in groups.items():
        if group not in IMPLICIT_GROUPS and not isinstance(members, (list, tuple)):
            raise PolicyError("groups[%s] must be a list of host names, got %r" % (group, members))
    return parsed


# ---- 2. keys -> targets ----------------------------------------------------------------------
class PolicyTarget(Target):
    """A target with the policy keys that named it and the union of their hashes."""

    def __init__(self, sensor_id, label, given, record=None):
        super(PolicyTarget, self).__init__(sensor_id, label, given, record)
        self.keys = []
        self.hashes = []

    def add(self, key, hashes):
        if key not in self.keys:
            self.keys.append(key)
        have = set(item["value"] for item in self.hashes)
        self.hashes.extend(item for item in hashes if item["value"] not in have)


def _hosts_of(key, groups):
    """``[(name, via)]``: the host names a key stands for (the key itself unless it is a group)."""
    if key in groups and key not in IMPLICIT_GROUPS:
        return [(str(member).strip(), "group %s" % key) for member in groups[key] or []]
    return [(key, None)]


def needs_listing(parsed, groups):
    return any(not SENSOR_ID_RE.match(name) for key, _hashes in parsed if key != ALL_KEY
               for name, _via in _hosts_of(key, groups or {}))


class SensorIndex:
    """The ``GET sensors`` listing by host name and by sensor ID, built once: a scan of the whole list per
    policy key made resolving a policy of 10,000 hosts O(N^2), about 10 s of CPU."""

    def __init__(self, sensors):
        self.by_name, self.by_id = {}, {}
        for sensor in sensors:
            self.by_name.setdefault(sensor.get("hostname"), []).append(sensor)
            if sensor.get("sensor_id"):
                self.by_id.setdefault(sensor_key(sensor["sensor_id"]), []).append(sensor)

    def find(self, name):
        """The sensors a name means: the host name exactly (case-sensitive), else the sensor ID."""
        return list(self.by_name.get(name) or self.by_id.get(sensor_key(name)) or [])


def resolve_policy(parsed, groups, sensors):
    """The targets, ``all`` first then hosts in key order, de-duplicated by sensor ID.

    ``sensors`` is the one ``GET sensors`` listing, or None when every host key is a sensor ID.
    PolicyError naming the key for an unknown or ambiguous host.
    """
    groups = groups or {}
    targets, by_id = [], {}
    index = SensorIndex(sensors) if sensors is not None else None
    for key, hashes in parsed:
        if key == ALL_KEY:
            target = PolicyTarget(ALL_SENSORS, ALL_HOSTS_LABEL, ALL_KEY)
            target.add(key, hashes)
            targets.insert(0, target)
            continue
        for name, via in _hosts_of(key, groups):
            where = "policy[%s]%s" % (key, " (%s, host %s)" % (via, name) if via else "")
            if not name:
                raise PolicyError("%s: a group member has an empty host name" % where)
            if sensors is None:
                sensor = {"sensor_id": name, "hostname": None}
            else:
                found = index.find(name)
                if not found:
                    raise PolicyError("%s: no Endpoint Agent host is named %s (host names are case-sensitive) "
                                      "and no sensor has that ID; nothing was changed" % (where, name))
                if len(found) > 1:
                    raise PolicyError("%s: %d Endpoint Agent hosts are named %s (%s); name them by sensor ID "
                                      "instead; nothing was changed" % (where, len(found), name, ", ".join(
                                          str(sensor.get("sensor_id")) for sensor in found)))
                sensor = found[0]
            key_of_sensor = sensor_key(sensor["sensor_id"])
            if key_of_sensor not in by_id:
                by_id[key_of_sensor] = PolicyTarget(sensor["sensor_id"], label_of(sensor), name, record=sensor)
                targets.append(by_id[key_of_sensor])
            by_id[key_of_sensor].add(key, hashes)
    return targets


# ---- 3./5. the resource: per-target desired lists ---------------------------------------------
class PolicyResource(PreventionResource):
    """``PreventionResource`` in exclusive mode with each target's own list; conflicts are checked for the
    whole policy by :func:`order_writes`."""

    def __init__(self, client, verify_write=True, diff=False, state="present", exclusive=True, desired=None):
        super(PolicyResource, self).__init__(client, None, state=state, exclusive=exclusive, conflict_check="skip",
                                             verify_write=verify_write, diff=diff)
        self.desired_by_id = desired or {}

    def desired_of(self, target):
        found = self.desired_by_id.get(sensor_key(target.api_id))
        return target.hashes if found is None else found


# ---- 4. conflicts and the order of the writes ------------------------------------------------
def outside_conflicts(resource, client, targets, added, sensors):
    """``{hash: [host, ...]}``: hashes ``all`` adds that a host outside the policy blocks (reads those hosts)."""
    listed = set(sensor_key(target.api_id) for target in targets)
    if sensors is None:
        sensors = client.list_sensors()
    # Hosts known not to run Windows have no prevention list to read (prevention works only on Windows agents).
    others = [(label_of(sensor), resource.read_list(sensor["sensor_id"], {})) for sensor in sensors
              if sensor.get("sensor_id") and sensor_key(sensor["sensor_id"]) not in listed
              and not non_windows_os(sensor)]
    return find_conflicts(added, others)


class WriteOrder:
    """The waves of writes: ``first`` (with ``removals`` of swapping hosts), ``all_hosts``, then ``last``."""

    def __init__(self):
        self.first = []
        self.removals = {}
        self.all_hosts = None
        self.last = []
        self.failed = {}


def order_writes(targets, plans, all_hosts_list=None):
    """Order the changing targets; ``plans`` maps a target to its first-pass result (added/removed/changed).

    ``all_hosts_list`` is the current all-hosts list when ``all`` is not in the policy and hosts add
    hashes: a host adding a hash that list blocks fails (``failed``), as the Central Node would refuse it.
    """
    order = WriteOrder()
    all_target = next((target for target in targets if target.api_id == ALL_SENSORS), None)
    all_plan = plans.get(all_target) if all_target is not None else None
    gained = set(all_plan["added"]) if all_plan else set()
    given_up = set(all_plan["removed"]) if all_plan else set()
    # When the all-hosts list could not be read, any hash a host adds may be leaving it: such hosts go after it.
    all_unknown = bool(all_plan and all_plan.get("current_unknown"))
    for target in targets:
        plan = plans.get(target)
        if target is all_target or not plan or not plan["changed"]:
            continue
        if all_hosts_list is not None:
            blocked = find_conflicts(plan["added"], [(ALL_HOSTS_LABEL, all_hosts_list)])
            if blocked:
                order.failed[target] = conflict_message(target.label, False, blocked)
                continue
        leaving = [value for value in plan["removed"] if value in gained]
        arriving = set(plan["added"]) if all_unknown else set(plan["added"]) & given_up
        if leaving and arriving:
            order.removals[target] = [{"kind": "", "value": value} for value in leaving]
            order.first.append(target)
            order.last.append(target)
        elif arriving:
            order.last.append(target)
        else:
            order.first.append(target)
    if all_plan and all_plan["changed"]:
        order.all_hosts = all_target
    return order


def merge_removal_step(first, final):
    """A swapping host's result: the removal step's removed hashes and ``before`` joined to the final step."""
    final["removed"] = list(dict.fromkeys(first.get("removed", []) + final.get("removed", [])))
    if "diff" in final and "diff" in first:
        final["diff"]["before"] = first["diff"]["before"]
    return final


# ---- the run ----------------------------------------------------------------------------------
def target_entry(target, outcome):
    """One entry of ``targets``: the target as the policy named it, its changes and its end state."""
    entry = dict(target=ALL_KEY if target.api_id == ALL_SENSORS else target.given, label=target.label,
                 sensor_id=target.api_id, policy_keys=list(target.keys), added=outcome.get("added", []),
                 removed=outcome.get("removed", []), unchanged=len(outcome.get("unchanged", [])),
                 hashes=outcome.get("hashes", []), changed=bool(outcome.get("changed")),
                 failed=bool(outcome.get("failed")))
    for key in ("msg", "api_error", "verified", "remerged", "current_unknown"):
        if key in outcome:
            entry[key] = outcome[key]
    return entry


class PolicyRun:
    """One run of a policy: the first pass (read and plan), the conflict checks, the ordered writes.

    The plans of the first pass are the ones written: a changing target costs one ``GET``.
    """

    def __init__(self, client, targets, sensors, parallelism, verify_write=True, diff=False):
        self.client = client
        self.targets = targets
        self.sensors = sensors
        self.parallelism = parallelism
        self.resource = PolicyResource(client, verify_write=verify_write, diff=diff)
        self.outcomes = {}
        self.planned = {}  # target -> (plan, result) of the first pass
        self.warnings = []
        self.conflicts_unknown = False

    def _store(self, done, merge=None):
        for target, result, error in done:
            outcome = target_outcome(target, result, error)
            if merge and target in merge and not outcome["failed"]:
                outcome = merge_removal_step(merge[target], outcome)
            self.outcomes[target] = outcome

    def failed(self, target):
        return self.outcomes[target]["failed"]

    def read_and_plan(self):
        done, plans = plan_all(self.resource, self.targets, self.parallelism)
        self._store(done)
        self.planned = dict((target, (plans[target], result)) for target, result, error in done if error is None)

    def check_conflicts(self):
        """The write order; targets whose change the Central Node would refuse are failed here."""
        planned = [target for target in self.targets if not self.failed(target)]
        all_target = next((target for target in self.targets if target.api_id == ALL_SENSORS), None)
        all_hosts_list = None
        if all_target is None and any(self.outcomes[target].get("added") for target in planned):
            all_hosts_list = self.resource.all_hosts_list()
            if all_hosts_list is None:
                self.conflicts_unknown = True
                self.warnings.append(unknown_conflicts_warning(
                    "the hosts of the policy", self.resource.all_hosts_error))
        if all_target in planned and self.outcomes[all_target].get("added"):
            conflicts = outside_conflicts(self.resource, self.client, self.targets,
                                          self.outcomes[all_target]["added"], self.sensors)
            if conflicts:
                self.outcomes[all_target].update(failed=True, changed=False,
                                                 msg=conflict_message(ALL_HOSTS_LABEL, True, conflicts))
        order = order_writes([target for target in planned if not self.failed(target)], self.outcomes,
                             all_hosts_list)
        for target, message in order.failed.items():
            self.outcomes[target].update(failed=True, changed=False, msg=message)
        return order

    def _planned_step(self, target):
        """The step that writes the first pass's plan of ``target`` (its list is not read again)."""
        plan, result = self.planned[target]
        return self.resource, target, plan, result

    def write(self, order):
        """Each wave is written and verified before the next: removals before the additions they allow."""
        swaps = order.removals
        removal = PolicyResource(self.client, verify_write=self.resource.verify_write, diff=self.resource.diff,
                                 state="absent", exclusive=False, desired=dict(
                                     (sensor_key(target.api_id), hashes) for target, hashes in swaps.items()))
        steps = []
        for target in order.first:
            if target in swaps:
                # The hashes leaving for ``all`` are removed first, from the list the first pass read.
                result = removal.first_result(target)
                steps.append((removal, target, removal.plan(target, self.planned[target][0].before, result), result))
            else:
                steps.append(self._planned_step(target))
        first_steps = {}
        for target, result, error in apply_steps(steps, self.parallelism):
            if target in swaps and error is None:
                first_steps[target] = result  # finished by the write after the all-hosts list
            else:
                self._store([(target, result, error)])
        if order.all_hosts is not None:
            self._store(apply_steps([self._planned_step(order.all_hosts)], 1))
        # A swapping host's list is read again: the removal step changed it.
        last = [(self.resource, target, None, {}) if target in swaps else self._planned_step(target)
                for target in order.last if target not in swaps or target in first_steps]
        self._store(apply_steps(last, self.parallelism), merge=first_steps)

    def result(self, module, ignore_errors, results=None):
        outcomes = [self.outcomes[target] for target in self.targets]
        for warning in self.warnings:
            module.warn(warning)
        listed = set(id(outcome) for outcome in listed_outcomes(outcomes, results))
        result, failed = summarize(module, outcomes, ignore_errors)
        if self.conflicts_unknown:
            result["conflicts_unknown"] = True
        counts = result.pop("summary")
        result.update(targets=[target_entry(target, self.outcomes[target]) for target in self.targets
                               if id(self.outcomes[target]) in listed],
                      summary=dict(targets=counts["total"], changed=counts["changed"], failed=counts["failed"],
                                   in_sync=counts["unchanged"]))
        if failed and not ignore_errors:
            fail_fleet(module, failed, len(outcomes), "targets", result)
        return result


def run_policy(module, client, parsed, groups):
    """The module result of enforcing (or, in check mode, checking) a parsed policy.

    PolicyError for a target that does not resolve and ApiError for a failed read before the writes: nothing was
    written then, and the module fails with it. Targets that fail later are listed in the result (``fail_fleet``).
    """
    params = module.params
    sensors = client.list_sensors() if needs_listing(parsed, groups) else None
    targets = resolve_policy(parsed, groups, sensors)
    run = PolicyRun(client, targets, sensors, params["parallelism"], params["verify_write"], module._diff)
    run.read_and_plan()
    order = run.check_conflicts()
    if not module.check_mode:
        run.write(order)
    return run.result(module, params["ignore_sensor_errors"], params["results"])
