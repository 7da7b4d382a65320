# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kaspersky.edr.task_uuid filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kaspersky.edr.plugins.filter.task_uuid import (
    TASK_UUID_NAMESPACE,
    FilterModule,
    seed_text,
    task_uuid,
)

DOCUMENTED_NAMESPACE = "a2b9f149-54f3-5646-b9a9-454813081a0f"


def test_namespace_is_the_documented_constant():
    assert str(TASK_UUID_NAMESPACE) == DOCUMENTED_NAMESPACE
    # and is derived as the docs say
    assert TASK_UUID_NAMESPACE == uuid.uuid5(uuid.NAMESPACE_URL,
                                             "https://github.com/kaspersky-edr-community/kaspersky.edr/task_uuid")


def test_registered_as_task_uuid():
    assert FilterModule().filters() == {"task_uuid": task_uuid}


@pytest.mark.parametrize("empty", [None, "", b""])
def test_empty_input_gives_a_fresh_random_v4(empty):
    values = {task_uuid(empty) for _index in range(50)}
    assert len(values) == 50
    for value in values:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert str(parsed) == value  # canonical lower-case 8-4-4-4-12


def test_random_ignores_namespace():
    assert uuid.UUID(task_uuid(None, namespace="6ba7b811-9dad-11d1-80b4-00c04fd430c8")).version == 4


def test_string_seed_is_uuid5_of_the_string():
    value = task_uuid("INC-4711/WS-001")
    assert value == str(uuid.uuid5(uuid.UUID(DOCUMENTED_NAMESPACE), "INC-4711/WS-001"))
    assert uuid.UUID(value).version == 5
    assert task_uuid("INC-4711/WS-001") == value
    assert task_uuid("INC-4711/WS-002") != value


def test_known_values_never_change():
    # Pipelines depend on these: a changed value would start programs a second time.
    assert task_uuid("INC-4711/WS-001") == "ce4fc1c9-dcf0-562e-970b-eaeaaae1f30f"
    assert task_uuid(["INC-1", "WS-001", "cmd.exe"]) == str(
        uuid.uuid5(uuid.UUID(DOCUMENTED_NAMESPACE), '["INC-1","WS-001","cmd.exe"]'))


def test_seed_text_rules():
    assert seed_text("abc") == "abc"
    assert seed_text(b"abc") == "abc"
    assert seed_text(42) == "42"
    assert task_uuid(42) == task_uuid("42")
    assert seed_text(True) == "true"
    assert seed_text({"b": 1, "a": [1, "x"]}) == '{"a":[1,"x"],"b":1}'
    assert seed_text(["é", None]) == '["é",null]'


def test_dict_seed_is_order_insensitive_and_list_seed_is_not():
    assert task_uuid({"incident": "INC-1", "host": "WS-001"}) == task_uuid({"host": "WS-001", "incident": "INC-1"})
    assert task_uuid(["a", "b"]) != task_uuid(["b", "a"])


def test_subclasses_of_str_list_dict_are_plain():
    class Tagged(str):
        pass

    class TaggedList(list):
        pass

    class TaggedDict(dict):
        pass

    assert task_uuid(Tagged("x")) == task_uuid("x")
    assert task_uuid(TaggedList([Tagged("x"), TaggedDict(a=1)])) == task_uuid(["x", {"a": 1}])


def test_own_namespace():
    other = "6ba7b811-9dad-11d1-80b4-00c04fd430c8"
    assert task_uuid("x", namespace=other) == str(uuid.uuid5(uuid.UUID(other), "x"))
    assert task_uuid("x", namespace=other) != task_uuid("x")
    assert task_uuid("x", namespace="") == task_uuid("x")


def test_bad_namespace_and_seed():
    with pytest.raises(AnsibleFilterError, match="namespace must be a UUID"):
        task_uuid("x", namespace="nope")
    with pytest.raises(AnsibleFilterError, match="seed must be"):
        task_uuid([object()])
