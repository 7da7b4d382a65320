# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The blast-radius guard's state file (plugins/plugin_utils/isolation_budget.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import pytest

from ansible_collections.kaspersky.edr.plugins.plugin_utils import isolation_budget as budget


def hosts(*numbers):
    return [{"sensor_id": "S-%d" % number, "host": "WS-%d" % number} for number in numbers]


def ids(entries):
    return [entry["sensor_id"] for entry in entries]


def test_budget_counts_distinct_hosts_in_the_last_hour(tmp_path):
    path = str(tmp_path / "state.json")
    first = budget.reserve(path, hosts(1, 2, 3), 2, "run-1", now=1000.0)
    assert ids(first["granted"]) == ["S-1", "S-2"] and ids(first["deferred"]) == ["S-3"]
    budget.commit(path, "run-1", hosts(1), now=1001.0)  # S-2 was already isolated: only S-1 counts
    second = budget.reserve(path, hosts(1, 3, 4), 2, "run-2", now=1002.0)
    assert [(entry["sensor_id"], entry["already_counted"]) for entry in second["granted"]] == [
        ("S-1", True), ("S-3", False)]
    assert ids(second["deferred"]) == ["S-4"]
    budget.commit(path, "run-2", [], now=1003.0)
    # An hour after S-1's isolation, it no longer counts.
    later = budget.reserve(path, hosts(5, 6), 2, "run-3", now=1001.0 + budget.WINDOW)
    assert ids(later["granted"]) == ["S-5", "S-6"]


def test_a_host_another_run_is_isolating_is_left_to_it(tmp_path):
    path = str(tmp_path / "state.json")
    budget.reserve(path, hosts(1), 5, "run-1", now=1000.0)
    other = budget.reserve(path, hosts(1, 2), 5, "run-2", now=1000.5)
    assert ids(other["busy"]) == ["S-1"] and ids(other["granted"]) == ["S-2"]
    # A run that died: its reservation expires.
    late = budget.reserve(path, hosts(1), 5, "run-3", now=1000.0 + budget.RESERVATION_TTL + 1)
    assert ids(late["granted"]) == ["S-1"]


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "state.json"
    budget.reserve(str(path), hosts(1), 5, "run-1", write=False)
    assert not path.exists()


def test_a_broken_state_file_stops_isolation_with_its_path(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(budget.StateError, match=str(path)):
        budget.reserve(str(path), hosts(1), 5, "run-1")
