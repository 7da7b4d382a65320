# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The prevention (hash block) model, pure (no I/O): hashes in, one target's list planned, conflicts found.

The Response API replaces a host's whole prevention list on every ``POST``, including the
rules someone made in the web UI. Everything here works on the list as read and plans the
one list to write back:

* :func:`normalize_hashes` validates and normalizes the module's ``hashes`` input;
* :func:`plan_changes` merges (``present``), removes (``absent``) or makes the list exact
  (``present`` + ``exclusive``), keeping every object that stays exactly as it was read
  (its ``name`` and any field this code does not know);
* :func:`find_conflicts` and the message helpers implement the all-hosts versus per-host rule
  (a file cannot be blocked both for all hosts and for a single host);
* :func:`build_diff` renders a plan for ``--diff``.

``kata_prevention.PreventionResource`` reads and writes the lists through ``KataClient``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.kaspersky.edr.plugins.module_utils.hashes import HASH_KINDS, HASH_LENGTHS, is_hex_hash


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
    if not is_hex_hash(value, expected):
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
    if kind is None or not is_hex_hash(value, HASH_LENGTHS[kind]):
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
