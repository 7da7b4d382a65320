# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply a prevention plan to one target: read, plan, check conflicts, write, verify.

Used by ``kata_prevention`` for one host, for all hosts and, from several threads at once, for a
fleet. Costs: a converged target one ``GET``; a change one ``GET`` and one write, plus one
``GET`` of the other side's lists when hashes are added (the conflict check, shared by a whole
fleet) and one verifying read-back ``GET`` when ``verify_write`` is on.

Write verification: the API replaces the whole list on every write, so a second writer working
from the same old list silently drops this run's change (or this run drops theirs). After a
write the list is read back and planned again against the same input: if nothing is left to do
the change holds (whatever else another writer added is kept); otherwise another writer
overwrote it, and the change is merged again onto the list as it is now and written again, at
most ``MAX_REMERGES`` times, before failing with "concurrent change detected".

The read-back waits as long as this run took from its read to its write (times
``SETTLE_FACTOR``, at most ``MAX_SETTLE_SECONDS``): another writer that read the same old list
before this write, and is about as fast, has written by then, so its overwrite is seen and
merged instead of silently dropping this change after the check. A slower writer can still slip
past; docs/prevention.md says how to serialize writers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import ALL_SENSORS, SETTINGS_PREVENTION
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_fleet import TargetFailed, label_of
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention import (
    ALL_HOSTS_LABEL,
    PreventionShapeError,
    build_diff,
    conflict_message,
    describe_object,
    find_conflicts,
    kept_conflict_warning,
    plan_changes,
    read_objects,
)

MAX_REMERGES = 2
SETTLE_FACTOR = 1.5
MAX_SETTLE_SECONDS = 5.0


class PreventionRun:
    """The options of one module run; :meth:`apply` is safe to call from several threads."""

    def __init__(self, client, desired, state="present", exclusive=False, conflict_check="fail",
                 verify_write=True, check_mode=False, diff=False, sleep=time.sleep, clock=time.monotonic):
        self.client = client
        self.sleep = sleep
        self.clock = clock
        self.desired = desired
        self.state = state
        self.exclusive = exclusive
        self.conflict_check = conflict_check
        self.verify_write = verify_write
        self.check_mode = check_mode
        self.diff = diff
        self._all_hosts_lock = threading.Lock()
        self._all_hosts_list = None

    # ---- reads -----------------------------------------------------------------------------
    def read(self, sensor_id, result):
        try:
            return read_objects(self.client.get_settings(sensor_id, SETTINGS_PREVENTION))
        except PreventionShapeError as exc:
            raise TargetFailed(str(exc), result)

    def all_hosts_list(self):
        """The all-hosts list, read once per run however many targets ask for it."""
        with self._all_hosts_lock:
            if self._all_hosts_list is None:
                self._all_hosts_list = self.read(ALL_SENSORS, {})
            return self._all_hosts_list

    def other_side(self, all_hosts):
        """``[(label, objects)]`` of the lists on the other side of the all-hosts/per-host rule."""
        if not all_hosts:
            return [(ALL_HOSTS_LABEL, self.all_hosts_list())]
        lists = []
        for sensor in self.client.list_sensors():
            if not sensor.get("sensor_id"):
                continue
            try:
                objects = self.read(sensor["sensor_id"], {})
            except ApiError as exc:
                if exc.status == 404:  # the host went away between the two requests
                    continue
                raise
            lists.append((label_of(sensor), objects))
        return lists

    # ---- one target ------------------------------------------------------------------------
    def apply(self, sensor_id, label, defer_verify=False):
        """The result dict of one target; TargetFailed or ApiError when it fails.

        The result has a ``warnings`` list for the module to emit. With ``defer_verify`` (fleet mode) a
        written target's result carries ``_pending`` instead of being verified: :meth:`finish` does the
        read-back later, so a worker does not sit out the settle time while other hosts wait.
        """
        all_hosts = sensor_id == ALL_SENSORS
        result = dict(changed=False, target=label, sensor_id=sensor_id, conflicts={}, warnings=[])
        started = self.clock()
        current = self.read(sensor_id, result)
        plan = plan_changes(current, self.desired, state=self.state, exclusive=self.exclusive)
        self._record(result, plan, plan)
        for obj in plan.unknown_removed:
            result["warnings"].append("Removing a prevention object of unknown shape from %s (exclusive mode): %s"
                                      % (label, describe_object(obj)))
        if plan.added and self.conflict_check != "skip":
            self._check_conflicts(plan, all_hosts, result)
        if not plan.changed or self.check_mode:
            return result
        settle = min(MAX_SETTLE_SECONDS, SETTLE_FACTOR * (self.clock() - started))
        try:
            self._write(sensor_id, plan.after, result, first=True)
        except TargetFailed as exc:
            if exc.api_error is None or not exc.api_error.may_have_been_applied:
                raise
            # The answer was lost (connection, timeout, gateway): the list read now tells what happened.
            self._settle_unknown_write(sensor_id, plan, result, exc)
            return result
        if self.verify_write and defer_verify:
            result["_pending"] = (plan, settle, self.clock())
        elif self.verify_write:
            self._verify(sensor_id, plan, result, settle)
        return result

    def finish(self, sensor_id, result):
        """The deferred read-back of :meth:`apply`; waits only what is left of the settle time."""
        pending = result.pop("_pending", None)
        if pending is None:
            return result
        plan, settle, written = pending
        self._verify(sensor_id, plan, result, settle, first_wait=max(0.0, settle - (self.clock() - written)))
        return result

    def _settle_unknown_write(self, sensor_id, plan, result, failure):
        error = failure.api_error
        try:
            now = self.read(sensor_id, result)
        except (ApiError, TargetFailed) as exc:
            result["changed"] = True  # unknown: it may have been written
            raise TargetFailed("Writing the prevention list of %s failed without a clear answer (%s), and reading it "
                               "back failed too (%s): the list may or may not have been written; run again to finish "
                               "or to see that it is done" % (result["target"], error, exc), result, error)
        again = plan_changes(now, self.desired, state=self.state, exclusive=self.exclusive)
        if again.changed:
            result["changed"] = False
            raise TargetFailed("Writing the prevention list of %s failed and the list read back shows it was not "
                               "written; nothing was changed: %s" % (result["target"], error), result, error)
        result["changed"] = True
        result["verified"] = True
        result["warnings"].append("The answer to the prevention write of %s was lost (%s), but the list read back "
                                  "shows the change was made" % (result["target"], error))
        self._record(result, plan, again)

    def _check_conflicts(self, plan, all_hosts, result):
        others = self.other_side(all_hosts)
        conflicts = find_conflicts(plan.added, others)
        result["conflicts"] = conflicts
        if conflicts and self.conflict_check == "fail":
            raise TargetFailed(conflict_message(result["target"], all_hosts, conflicts), result)
        if conflicts:
            result["warnings"].append(conflict_message(result["target"], all_hosts, conflicts).replace(
                " Nothing was changed.", ""))
        kept = find_conflicts(plan.unchanged, others)
        if kept:
            result["warnings"].append(kept_conflict_warning(result["target"], all_hosts, kept))

    def _write(self, sensor_id, objects, result, first):
        try:
            if objects:
                self.client.post_settings(sensor_id, SETTINGS_PREVENTION, {"objects": objects})
            else:
                self.client.delete_settings(sensor_id, SETTINGS_PREVENTION)
        except ApiError as exc:
            if first:
                result["changed"] = False
                raise TargetFailed("The Central Node refused the new prevention list of %s: %s"
                                   % (result["target"], exc), result, exc)
            raise TargetFailed("Re-writing the prevention list of %s after a concurrent change failed: %s"
                               % (result["target"], exc), result, exc)

    def _verify(self, sensor_id, plan, result, settle, first_wait=None):
        for attempt in range(MAX_REMERGES + 1):
            self.sleep(settle if attempt or first_wait is None else first_wait)
            try:
                now = self.read(sensor_id, result)
            except ApiError as exc:
                raise TargetFailed("The prevention list of %s was written, but reading it back to verify it failed "
                                   "(run again to check; verify_write=false skips the read-back): %s"
                                   % (result["target"], exc), result, exc)
            again = plan_changes(now, self.desired, state=self.state, exclusive=self.exclusive)
            if not again.changed:
                result["verified"] = True
                self._record(result, plan, again)  # the list as read back, with what others added meanwhile
                return
            if attempt == MAX_REMERGES:
                break
            # Another writer replaced the list after this run read it: merge the change again onto it.
            result["remerged"] = attempt + 1
            self._write(sensor_id, again.after, result, first=False)
        raise TargetFailed("Concurrent change detected on %s: another writer replaced the prevention list %d times "
                           "while this run wrote it, and the list read back still lacks this run's change (missing: "
                           "%s; still present: %s). Run again, and serialize writers to one host (throttle: 1 or "
                           "serial) as docs/prevention.md explains." % (
                               result["target"], MAX_REMERGES + 1, ", ".join(again.added) or "none",
                               ", ".join(again.removed) or "none"), result)

    def _record(self, result, plan, final):
        """Return values: what this run changes (``plan``) and the list it ends with (``final``)."""
        result.update(changed=plan.changed, added=plan.added, removed=plan.removed, hashes=final.hashes,
                      unchanged=[value for value in final.hashes if value not in set(plan.added)],
                      objects=final.after)
        if self.diff:
            result["diff"] = build_diff(plan.__class__(plan.before, final.after, plan.added, plan.removed,
                                                       plan.unknown_removed), result["target"])
