# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``kaspersky.edr.task_uuid`` filter: task IDs for the KATA Response API.

Documentation: task_uuid.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import uuid

from ansible.errors import AnsibleFilterError

# The fixed namespace of the deterministic task IDs. Never change it: every seeded task ID
# ever generated depends on it. It is uuid5(NAMESPACE_URL,
# "https://github.com/kaspersky-edr-community/kaspersky.edr/task_uuid").
TASK_UUID_NAMESPACE = uuid.UUID("a2b9f149-54f3-5646-b9a9-454813081a0f")


def seed_text(seed):
    """The text a seed is hashed as: strings as they are, numbers as decimal, anything else as canonical JSON."""
    if isinstance(seed, bytes):
        return seed.decode("utf-8")
    if isinstance(seed, str):
        return str(seed)
    if isinstance(seed, bool) or seed is None:
        return json.dumps(seed)
    if isinstance(seed, (int, float)):
        return str(seed)
    try:
        return json.dumps(_plain(seed), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("task_uuid: the seed must be a string, a number, a list or a dict of those: %s" % exc)


def _plain(value):
    """Plain Python containers (Ansible may hand over subclasses of dict, list and str)."""
    if isinstance(value, dict):
        return dict((str(key), _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def task_uuid(seed=None, namespace=None):
    """A random UUID4 for an empty seed (``None`` or ``""``), else uuid5(namespace, seed)."""
    if namespace is None or namespace == "":
        space = TASK_UUID_NAMESPACE
    else:
        try:
            space = uuid.UUID(str(namespace))
        except ValueError:
            raise AnsibleFilterError("task_uuid: namespace must be a UUID, got %r" % (namespace,))
    if seed is None or (isinstance(seed, (str, bytes)) and not seed):
        return str(uuid.uuid4())
    return str(uuid.uuid5(space, seed_text(seed)))


class FilterModule(object):
    def filters(self):
        return {"task_uuid": task_uuid}
