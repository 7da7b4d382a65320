# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The blast-radius guard's state file under concurrent processes (multiprocessing), moved from
tests/unit/plugins/plugin_utils/test_isolation_budget.py, whose tests stay in one process.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import multiprocessing

from ansible_collections.kaspersky.edr.plugins.plugin_utils import isolation_budget as budget


def hosts(*numbers):
    return [{"sensor_id": "S-%d" % number, "host": "WS-%d" % number} for number in numbers]


def ids(entries):
    return [entry["sensor_id"] for entry in entries]


def _reserve_one(args):
    path, number = args
    return ids(budget.reserve(path, hosts(number), 5, "run-%d" % number)["granted"])


def test_concurrent_runs_never_exceed_the_budget(tmp_path):
    path = str(tmp_path / "state.json")
    with multiprocessing.Pool(4) as pool:
        granted = [host for result in pool.map(_reserve_one, [(path, number) for number in range(20)])
                   for host in result]
    assert len(granted) == 5
    with open(path) as handle:
        assert len(json.load(handle)["reservations"]) == 5
