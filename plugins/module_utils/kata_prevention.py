# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prevention (hash block) lists of the Central Node, one target at a time (``target_runner`` resource).

:class:`PreventionResource` reads a target's list, plans it with ``kata_prevention_model``, checks
the all-hosts versus per-host conflicts, writes the whole list and reads it back.

Costs: a converged target one ``GET``; a change one ``GET`` and one write, plus one ``GET`` of the
other side's lists when hashes are added (the conflict check, shared by a whole fleet) and one
verifying read-back ``GET`` when ``verify_write`` is on.

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

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import ALL_SENSORS, SETTINGS_PREVENTION
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention_model import (
    Plan,
    PreventionShapeError,
    build_diff,
    conflict_message,
    describe_object,
    find_conflicts,
    kept_conflict_warning,
    plan_changes,
    read_objects,
    unknown_conflicts_warning,
    unknown_current_warning,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_sensors import (
    ALL_HOSTS_LABEL,
    label_of,
    non_windows_os,
    require_windows,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import TargetFailed

MAX_REMERGES = 2
SETTLE_FACTOR = 1.5
MAX_SETTLE_SECONDS = 5.0
# ``GET settings?sensor_id=all`` is documented for POST and DELETE only: a Central Node that does not
# serve the GET answers one of these, and the all-hosts list is then unknown (never an empty list).
ALL_HOSTS_READ_REFUSED = (400, 404, 405)


def all_hosts_read_refused(error):
    """True when ``error`` is the Central Node refusing to read the all-hosts list."""
    return isinstance(error, ApiError) and error.status in ALL_HOSTS_READ_REFUSED


class PreventionResource:
    """One run's prevention options (``target_runner`` resource); safe to use from several threads.

    ``desired_of(target)`` gives the hashes a target should have (the same for every target here; the
    policy module gives each target its own).
    """

    def __init__(self, client, desired, state="present", exclusive=False, conflict_check="fail",
                 verify_write=True, diff=False, sleep=time.sleep, clock=time.monotonic):
        self.client = client
        self.sleep, self.clock = sleep, clock  # replaceable in unit tests
        self.desired = desired
        self.state, self.exclusive = state, exclusive
        self.conflict_check = conflict_check
        self.verify_write = verify_write
        self.diff = diff
        self._all_hosts_lock = threading.Lock()
        self._all_hosts_list = None
        self.all_hosts_error = None  # the ApiError when the Central Node refuses to read the all-hosts list

    def desired_of(self, target):
        return self.desired

    def plan_for(self, target, current):
        return plan_changes(current, self.desired_of(target), state=self.state, exclusive=self.exclusive)

    def exact(self):
        return self.state == "present" and self.exclusive

    @staticmethod
    def first_result(target):
        """The return values of a target before its list is read (what a failure reports)."""
        return dict(changed=False, target=target.label, sensor_id=target.api_id, conflicts={}, warnings=[])

    # ---- reads -----------------------------------------------------------------------------
    def read_list(self, sensor_id, result):
        try:
            return read_objects(self.client.get_settings(sensor_id, SETTINGS_PREVENTION))
        except PreventionShapeError as exc:
            raise TargetFailed(str(exc), result)

    def read_all_hosts(self, result):
        """The all-hosts list, or None when the Central Node refuses to read it (``all_hosts_error``)."""
        try:
            return self.read_list(ALL_SENSORS, result)
        except ApiError as exc:
            if not all_hosts_read_refused(exc):
                raise
            self.all_hosts_error = exc
            return None

    def all_hosts_list(self):
        """The all-hosts list, read once per run however many targets ask for it; None when refused."""
        with self._all_hosts_lock:
            if self._all_hosts_list is None and self.all_hosts_error is None:
                self._all_hosts_list = self.read_all_hosts({})
            return self._all_hosts_list

    def other_side(self, all_hosts):
        """``[(label, objects)]`` of the lists on the other side of the all-hosts/per-host rule; None when the
        all-hosts list cannot be read."""
        if not all_hosts:
            objects = self.all_hosts_list()
            return None if objects is None else [(ALL_HOSTS_LABEL, objects)]
        lists = []
        for sensor in self.client.list_sensors():
            if not sensor.get("sensor_id") or non_windows_os(sensor):
                continue  # no list to read: prevention works only on Windows agents
            try:
                objects = self.read_list(sensor["sensor_id"], {})
            except ApiError as exc:
                if exc.status == 404:  # the host went away between the two requests
                    continue
                raise
            lists.append((label_of(sensor), objects))
        return lists

    # ---- the target_runner protocol ----------------------------------------------------------
    def read(self, target, result):
        """The target's list; for ``all`` None when the Central Node refuses to read it."""
        result.update(self.first_result(target))
        require_windows(target, result)
        if target.api_id == ALL_SENSORS:
            return self.read_all_hosts(result)
        return self.read_list(target.api_id, result)

    def plan(self, target, current, result):
        """The plan and its return values; a plan that adds hashes is checked for conflicts here (reads only)."""
        plan = self.plan_for(target, current) if current is not None else self.plan_unknown(target, result)
        self._record(result, plan, plan)
        if plan.changed:
            for obj in plan.unknown_removed:
                result["warnings"].append("Removing a prevention object of unknown shape from %s (exclusive mode): %s"
                                          % (target.label, describe_object(obj)))
            if plan.added and self.conflict_check != "skip":
                self._check_conflicts(plan, target.api_id == ALL_SENSORS, result)
        return plan

    def plan_unknown(self, target, result):
        """The plan of a target whose current list could not be read: the list given, marked unknown.

        Only an exact list (exclusive) can be written without knowing the current one; merging or removing
        fails in :meth:`apply`, so check mode reports it (``current_unknown``) and a real run writes nothing.
        """
        result["current_unknown"] = True
        result["warnings"].append(unknown_current_warning(self.exact(), self.all_hosts_error))
        plan = plan_changes([], self.desired_of(target), state=self.state, exclusive=self.exclusive)
        plan.current_unknown = True
        return plan

    def apply(self, target, plan, result):
        """Write the planned list; True when it is to be read back (:meth:`verify`)."""
        if not plan.changed:
            return False
        if plan.current_unknown and not self.exact():
            result["changed"] = False
            raise TargetFailed("Cannot %s the prevention list of %s: the Central Node refused to read the current "
                               "list (%s), and writing without it would drop the rules it holds. Nothing was "
                               "changed. Use exclusive=true to write the whole list, or manage it where it can be "
                               "read." % ("remove hashes from" if self.state == "absent" else "add hashes to",
                                          result["target"], self.all_hosts_error), result, self.all_hosts_error)
        try:
            self._write(target.api_id, plan.after, result, first=True)
        except TargetFailed as exc:
            if exc.api_error is None or not exc.api_error.may_have_been_applied:
                raise
            # The answer was lost (connection, timeout, gateway): the list read now tells what happened.
            self._settle_unknown_write(target, plan, result, exc)
            return False
        return self.verify_write and not plan.current_unknown

    def verify(self, target, plan, result, elapsed, since_write):
        """The read-back; waits only what is left of the settle time."""
        settle = min(MAX_SETTLE_SECONDS, SETTLE_FACTOR * elapsed)
        self._verify(target, plan, result, settle, first_wait=max(0.0, settle - since_write))

    # ---- steps -------------------------------------------------------------------------------
    def _settle_unknown_write(self, target, plan, result, failure):
        error = failure.api_error
        try:
            now = self.read_list(target.api_id, result)
        except (ApiError, TargetFailed) as exc:
            result["changed"] = True  # unknown: it may have been written
            raise TargetFailed("Writing the prevention list of %s failed without a clear answer (%s), and reading it "
                               "back failed too (%s): the list may or may not have been written; run again to finish "
                               "or to see that it is done" % (result["target"], error, exc), result, error)
        again = self.plan_for(target, now)
        if again.changed:
            result["changed"] = False
            raise TargetFailed("Writing the prevention list of %s failed and the list read back shows it was not "
                               "written; nothing was changed: %s" % (result["target"], error), result, error)
        result["changed"] = True
        if self.verify_write:
            result["verified"] = True
        result["warnings"].append("The answer to the prevention write of %s was lost (%s), but the list read back "
                                  "shows the change was made" % (result["target"], error))
        self._record(result, plan, again)

    def _check_conflicts(self, plan, all_hosts, result):
        others = self.other_side(all_hosts)
        if others is None:
            result["conflicts_unknown"] = True
            result["warnings"].append(unknown_conflicts_warning(result["target"], self.all_hosts_error))
            return
        conflicts = find_conflicts(plan.added, others)
        result["conflicts"] = conflicts
        if conflicts and self.conflict_check == "fail":
            result["changed"] = False
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

    def _verify(self, target, plan, result, settle, first_wait):
        for attempt in range(MAX_REMERGES + 1):
            self.sleep(settle if attempt else first_wait)
            try:
                now = self.read_list(target.api_id, result)
            except ApiError as exc:
                raise TargetFailed("The prevention list of %s was written, but reading it back to verify it failed "
                                   "(run again to check; verify_write=false skips the read-back): %s"
                                   % (result["target"], exc), result, exc)
            again = self.plan_for(target, now)
            if not again.changed:
                result["verified"] = True
                self._record(result, plan, again)  # the list as read back, with what others added meanwhile
                return
            if attempt == MAX_REMERGES:
                break
            # Another writer replaced the list after this run read it: merge the change again onto it.
            result["remerged"] = attempt + 1
            self._write(target.api_id, again.after, result, first=False)
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
            result["diff"] = build_diff(Plan(plan.before, final.after, plan.added, plan.removed,
                                             plan.unknown_removed), result["target"])
