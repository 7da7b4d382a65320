# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prevention (hash block) rules of the KATA/KEDR Central Node: hashes -> plan -> one target's list.

The Response API replaces a host's whole prevention list on every ``POST``, including the
rules someone made in the web UI. Everything here works on the list as read and plans the
one list to write back:

* :func:`normalize_hashes` validates and normalizes the module's ``hashes`` input;
* :func:`plan_changes` merges (``present``), removes (``absent``) or makes the list exact
  (``present`` + ``exclusive``), keeping every object that stays exactly as it was read
  (its ``name`` and any field this code does not know);
* :func:`find_conflicts` and the message helpers implement the all-hosts versus per-host rule
  (a file cannot be blocked both for all hosts and for a single host).

* :class:`PreventionResource` applies a plan to one target (``target_runner`` protocol): read,
  plan, check conflicts, write, verify.

Everything above :class:`PreventionResource` is pure (no HTTP).

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

import json
import re
import threading
import time

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import ALL_SENSORS, SETTINGS_PREVENTION
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_sensors import (
    ALL_HOSTS_LABEL,
    label_of,
    non_windows_os,
    require_windows,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import BaseResource, TargetFailed

MAX_REMERGES = 2
SETTLE_FACTOR = 1.5
MAX_SETTLE_SECONDS = 5.0
HASH_KINDS = {32: "md5", 64: "sha256"}
HASH_LENGTHS = {"md5": 32, "sha256": 64}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
# ``GET settings?sensor_id=all`` is documented for POST and DELETE only: a Central Node that does not
# serve the GET answers one of these, and the all-hosts list is then unknown (never an empty list).
ALL_HOSTS_READ_REFUSED = (400, 404, 405)


def all_hosts_read_refused(error):
    """True when ``error`` is the Central Node refusing to read the all-hosts list."""
    return isinstance(error, ApiError) and error.status in ALL_HOSTS_READ_REFUSED


def unknown_conflicts_warning(target_label, error):
    """The warning of a conflict pre-check that could not read the all-hosts list."""
    return ("The conflict check of %s against the all-hosts list could not be done: the Central Node refused to "
            "read that list (%s). The write goes ahead; if a hash is also blocked for all hosts the Central Node "
            "refuses the new list, and its message is shown." % (target_label, error))


def unknown_current_warning(exact, error):
    """The warning of an ``all_hosts`` run whose current list could not be read."""
    text = "The current all-hosts prevention list could not be read: the Central Node refused it (%s). " % error
    if exact:
        return text + ("With exclusive=true the hashes given are written as the whole list, whatever it holds now; "
                       "the write is not read back to verify it.")
    return text + ("Adding to it or removing from it needs the current list, so a run without check mode fails "
                   "and writes nothing (writing only the hashes given would drop the other rules); use "
                   "exclusive=true to write the whole list.")


class HashError(ValueError):
    """An invalid entry in the ``hashes`` option; the message names the entry."""


class PreventionShapeError(ValueError):
    """The Central Node answered with a prevention list this code cannot read."""


def _check_hex(where, kind, value):
    expected = HASH_LENGTHS[kind]
    if len(value) != expected or not _HEX.match(value):
        raise HashError("%s: %r is not a valid %s hash (%d hexadecimal digits expected, got %d characters)"
                        % (where, value, kind.upper(), expected, len(value)))


def normalize_hash(entry, where="hashes"):
    """One input entry -> ``{"kind": "md5"|"sha256", "value": <lower-case hex>}``.

    ``entry`` is a string (the kind follows from its length, 32 or 64 hex digits) or a dict
    with exactly one key, ``md5`` or ``sha256``. Surrounding whitespace is ignored.
    """
    if isinstance(entry, bool) or entry is None:
        raise HashError("%s: %r is not a hash; give an MD5 (32 hex digits) or SHA256 (64 hex digits) string, "
                        "or a dict {md5: ...} or {sha256: ...}" % (where, entry))
    if isinstance(entry, (int, float)):
        raise HashError("%s: %r is a number, not a hash string; quote hashes that contain only digits in YAML "
                        "(an unquoted value loses its leading zeros)" % (where, entry))
    if isinstance(entry, dict):
        keys = sorted(str(key) for key in entry)
        kinds = [key for key in keys if key.lower() in HASH_LENGTHS]
        if len(keys) != 1 or len(kinds) != 1:
            raise HashError("%s: a hash dict needs exactly one key, md5 or sha256; got %s"
                            % (where, ", ".join(keys) if keys else "no key"))
        kind = kinds[0].lower()
        value = entry[kinds[0]]
        if not isinstance(value, str):
            raise HashError("%s.%s: %r is not a string; quote the hash in YAML" % (where, kind, value))
        value = value.strip()
        _check_hex("%s.%s" % (where, kind), kind, value)
        return {"kind": kind, "value": value.lower()}
    if not isinstance(entry, str):
        raise HashError("%s: %r is not a hash; give a string or a dict {md5: ...} or {sha256: ...}" % (where, entry))
    value = entry.strip()
    kind = HASH_KINDS.get(len(value))
    if kind is None or not _HEX.match(value):
        raise HashError("%s: %r is neither an MD5 (32 hexadecimal digits) nor a SHA256 (64 hexadecimal digits) hash"
                        % (where, entry))
    return {"kind": kind, "value": value.lower()}


def normalize_hashes(entries, option="hashes"):
    """Validate every entry; return the normalized hashes in input order without duplicates."""
    if entries is None:
        return []
    if not isinstance(entries, (list, tuple)):
        raise HashError("%s must be a list of hashes, got %r" % (option, entries))
    result = []
    seen = set()
    for index, entry in enumerate(entries):
        item = normalize_hash(entry, "%s[%d]" % (option, index))
        if item["value"] not in seen:
            seen.add(item["value"])
            result.append(item)
    return result


def _unique(values):
    seen = set()
    out = []
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


def _file_info(obj):
    if not isinstance(obj, dict):
        return {}
    info = obj.get("file")
    return info if isinstance(info, dict) else obj


def object_hash_items(obj):
    """``[(kind, original value)]`` of one API object (usually one item; the case is as read)."""
    items = []
    for key, value in _file_info(obj).items():
        kind = str(key).lower()
        if kind in HASH_LENGTHS and isinstance(value, str) and value.strip():
            items.append((kind, value.strip()))
    items.sort(key=lambda item: 0 if item[0] == "sha256" else 1)
    return items


def object_hashes(obj):
    """The lower-case hashes one API object blocks (``[]`` for an object of unknown shape)."""
    return _unique(value.lower() for _kind, value in object_hash_items(obj))


def objects_hashes(objects):
    return _unique(value for obj in objects for value in object_hashes(obj))


def new_object(item):
    """The API object for a normalized hash: ``{"file": {"sha256": "..."}}``."""
    return {"file": {item["kind"]: item["value"]}}


def read_objects(settings):
    """The ``objects`` list of a prevention settings dict (already unwrapped by ``read_settings``)."""
    if settings in (None, {}):
        return []
    if not isinstance(settings, dict):
        raise PreventionShapeError("unexpected prevention settings from the Central Node: %r" % (settings,))
    objects = settings.get("objects")
    if objects is None:
        return []
    if isinstance(objects, dict):
        objects = [objects]
    if not isinstance(objects, list):
        raise PreventionShapeError("unexpected prevention settings from the Central Node, objects is not a list: %r"
                                   % (objects,))
    return list(objects)


class Plan:
    """What one run does to one target's list."""

    def __init__(self, before, after, added, removed, unknown_removed, current_unknown=False):
        self.before = before
        self.after = after
        self.added = added
        self.removed = removed
        self.unknown_removed = unknown_removed
        # The current list could not be read (the all-hosts GET refused): planned against an empty list.
        self.current_unknown = current_unknown

    @property
    def changed(self):
        return bool(self.current_unknown or self.added or self.removed or self.unknown_removed)

    @property
    def hashes(self):
        return objects_hashes(self.after)

    @property
    def unchanged(self):
        added = set(self.added)
        return [value for value in self.hashes if value not in added]


def plan_changes(current, desired, state="present", exclusive=False):
    """Plan the list to write.

    ``current``: the objects as read. ``desired``: output of :func:`normalize_hashes`.
    Objects that stay are the very objects read (same dicts, same order); new objects are
    appended in input order. An object that carries several hashes (for example both MD5
    and SHA256 of one file) is one rule: it matches when any of its hashes matches.
    """
    wanted = [item["value"] for item in desired]
    wanted_set = set(wanted)
    if state == "absent":
        keep = [obj for obj in current if not set(object_hashes(obj)) & wanted_set]
        to_add = []
    elif exclusive:
        keep = [obj for obj in current if set(object_hashes(obj)) & wanted_set]
        have = set(objects_hashes(keep))
        to_add = [item for item in desired if item["value"] not in have]
    else:
        keep = list(current)
        have = set(objects_hashes(keep))
        to_add = [item for item in desired if item["value"] not in have]
    kept_ids = set(id(obj) for obj in keep)
    dropped = [obj for obj in current if id(obj) not in kept_ids]
    removed = _unique(value for obj in dropped for value in object_hashes(obj))
    kept_hashes = set(objects_hashes(keep))
    removed = [value for value in removed if value not in kept_hashes]
    unknown_removed = [obj for obj in dropped if not object_hashes(obj)]
    after = keep + [new_object(item) for item in to_add]
    return Plan(before=list(current), after=after, added=[item["value"] for item in to_add],
                removed=removed, unknown_removed=unknown_removed)


# ---- conflicts between the all-hosts list and per-host lists ------------------------------
def find_conflicts(hashes, other_lists):
    """``{hash: [label, ...]}`` for each of ``hashes`` found in one of ``other_lists``.

    ``other_lists`` is a list of ``(label, objects)``; hashes are compared case-insensitively.
    The order follows ``hashes``, then ``other_lists``.
    """
    conflicts = {}
    order = []
    lowered = [value.lower() for value in hashes]
    for label, objects in other_lists:
        present = set(objects_hashes(objects))
        for value in lowered:
            if value in present:
                if value not in conflicts:
                    conflicts[value] = []
                    order.append(value)
                if label not in conflicts[value]:
                    conflicts[value].append(label)
    return dict((value, conflicts[value]) for value in sorted(order, key=lowered.index))


def describe_conflicts(conflicts):
    return "; ".join("%s on %s" % (value, ", ".join(labels)) for value, labels in conflicts.items())


def conflict_message(target_label, all_hosts, conflicts):
    """The failure message for hashes that would be blocked on both sides."""
    if all_hosts:
        return ("Cannot block for all hosts: the Central Node refuses a file that is also blocked for a single host, "
                "and these hashes are already blocked per host: %s. Remove them from those hosts' lists first "
                "(for example with kaspersky.edr.kata_prevention state=absent), then add them for all hosts. "
                "Nothing was changed." % describe_conflicts(conflicts))
    return ("Cannot block on %s: these hashes are already blocked for all hosts (so they already apply to this "
            "host), and the Central Node refuses a file blocked both for all hosts and for a single host: %s. "
            "Leave them to the all-hosts list or remove them from it first. Nothing was changed."
            % (target_label, ", ".join(conflicts)))


def kept_conflict_warning(target_label, all_hosts, conflicts):
    """The warning for hashes that stay in the list but are also blocked on the other side."""
    side = "per host" if all_hosts else "for all hosts"
    return ("The prevention list of %s already contains hashes that are also blocked %s: %s. The Central Node may "
            "refuse the whole new list because of them; its message is shown if it does."
            % (target_label, side, describe_conflicts(conflicts)))


# ---- diff ------------------------------------------------------------------------------------
def describe_object(obj):
    """One line per rule for ``--diff``: ``sha256 <hash>  # <name>``; other shapes as JSON."""
    items = object_hash_items(obj)
    if not items:
        return "? %s" % json.dumps(obj, sort_keys=True)
    text = "  ".join("%s %s" % (kind, value) for kind, value in items)
    name = _file_info(obj).get("name")
    if name not in (None, "") and not any(str(name).lower() == value.lower() for _kind, value in items):
        text += "  # %s" % name
    return text


def render_list(objects):
    lines = [describe_object(obj) for obj in objects]
    return "".join(line + "\n" for line in lines)


def build_diff(plan, target_label):
    header = "prevention rules of %s" % target_label
    return {"before": render_list(plan.before), "after": render_list(plan.after),
            "before_header": header, "after_header": header}


# ---- apply to one target -----------------------------------------------------------------
class PreventionResource(BaseResource):
    """One run's prevention options (``target_runner`` protocol); safe to use from several threads.

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
    def new_result(self, target):
        return dict(changed=False, target=target.label, sensor_id=target.sensor_id, conflicts={}, warnings=[])

    def read(self, target, result):
        """The target's list; for ``all`` None when the Central Node refuses to read it."""
        require_windows(target, result)
        if target.sensor_id == ALL_SENSORS:
            return self.read_all_hosts(result)
        return self.read_list(target.sensor_id, result)

    def plan(self, target, current, result):
        if current is None:
            return self.plan_unknown(target, result)
        return self.plan_for(target, current)

    def exact(self):
        return self.state == "present" and self.exclusive

    def plan_unknown(self, target, result):
        """The plan of a target whose current list could not be read: the list given, marked unknown.

        Only an exact list (exclusive) can be written without knowing the current one; merging or removing
        fails in :meth:`write`, so check mode reports it (``current_unknown``) and a real run writes nothing.
        """
        result["current_unknown"] = True
        result["warnings"].append(unknown_current_warning(self.exact(), self.all_hosts_error))
        plan = plan_changes([], self.desired_of(target), state=self.state, exclusive=self.exclusive)
        plan.current_unknown = True
        return plan

    def check(self, target, plan, result):
        for obj in plan.unknown_removed:
            result["warnings"].append("Removing a prevention object of unknown shape from %s (exclusive mode): %s"
                                      % (target.label, describe_object(obj)))
        if plan.added and self.conflict_check != "skip":
            self._check_conflicts(plan, target.sensor_id == ALL_SENSORS, result)

    def write(self, target, plan, result):
        if plan.current_unknown and not self.exact():
            result["changed"] = False
            raise TargetFailed("Cannot %s the prevention list of %s: the Central Node refused to read the current "
                               "list (%s), and writing without it would drop the rules it holds. Nothing was "
                               "changed. Use exclusive=true to write the whole list, or manage it where it can be "
                               "read." % ("remove hashes from" if self.state == "absent" else "add hashes to",
                                          result["target"], self.all_hosts_error), result, self.all_hosts_error)
        try:
            self._write(target.sensor_id, plan.after, result, first=True)
        except TargetFailed as exc:
            if exc.api_error is None or not exc.api_error.may_have_been_applied:
                raise
            # The answer was lost (connection, timeout, gateway): the list read now tells what happened.
            self._settle_unknown_write(target, plan, result, exc)
            return False
        return True

    def needs_finish(self, plan, wrote):
        return wrote and self.verify_write and not plan.current_unknown

    def finish(self, target, plan, result, elapsed, since_write):
        """The read-back; waits only what is left of the settle time."""
        settle = min(MAX_SETTLE_SECONDS, SETTLE_FACTOR * elapsed)
        self._verify(target, plan, result, settle, first_wait=max(0.0, settle - since_write))
        return result

    def single_result(self, result):
        if not self.verify_write:
            result.pop("verified", None)
        return result

    # ---- steps -------------------------------------------------------------------------------
    def _settle_unknown_write(self, target, plan, result, failure):
        error = failure.api_error
        try:
            now = self.read_list(target.sensor_id, result)
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
        result["verified"] = True
        result["warnings"].append("The answer to the prevention write of %s was lost (%s), but the list read back "
                                  "shows the change was made" % (result["target"], error))
        self.record(result, plan, again)

    def _check_conflicts(self, plan, all_hosts, result):
        others = self.other_side(all_hosts)
        if others is None:
            result["conflicts_unknown"] = True
            result["warnings"].append(unknown_conflicts_warning(result["target"], self.all_hosts_error))
            return
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

    def _verify(self, target, plan, result, settle, first_wait):
        for attempt in range(MAX_REMERGES + 1):
            self.sleep(settle if attempt else first_wait)
            try:
                now = self.read_list(target.sensor_id, result)
            except ApiError as exc:
                raise TargetFailed("The prevention list of %s was written, but reading it back to verify it failed "
                                   "(run again to check; verify_write=false skips the read-back): %s"
                                   % (result["target"], exc), result, exc)
            again = self.plan_for(target, now)
            if not again.changed:
                result["verified"] = True
                self.record(result, plan, again)  # the list as read back, with what others added meanwhile
                return
            if attempt == MAX_REMERGES:
                break
            # Another writer replaced the list after this run read it: merge the change again onto it.
            result["remerged"] = attempt + 1
            self._write(target.sensor_id, again.after, result, first=False)
        raise TargetFailed("Concurrent change detected on %s: another writer replaced the prevention list %d times "
                           "while this run wrote it, and the list read back still lacks this run's change (missing: "
                           "%s; still present: %s). Run again, and serialize writers to one host (throttle: 1 or "
                           "serial) as docs/prevention.md explains." % (
                               result["target"], MAX_REMERGES + 1, ", ".join(again.added) or "none",
                               ", ".join(again.removed) or "none"), result)

    def record(self, result, plan, final):
        """Return values: what this run changes (``plan``) and the list it ends with (``final``)."""
        result.update(changed=plan.changed, added=plan.added, removed=plan.removed, hashes=final.hashes,
                      unchanged=[value for value in final.hashes if value not in set(plan.added)],
                      objects=final.after)
        if self.diff:
            result["diff"] = build_diff(Plan(plan.before, final.after, plan.added, plan.removed,
                                             plan.unknown_removed), result["target"])
