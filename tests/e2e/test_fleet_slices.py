# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Job slicing (docs/scale.md): docs/examples/prevention_fleet_slices.yml run as 4 parallel slices, as a sliced AWX job does.

Each slice is the same playbook over the inventory plugin's hosts, limited to one part of them
(``--limit``, the way a slice gets every 4th host); together the slices handle every sensor once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import yaml

from ansible_collections.kaspersky.edr.tests.prevention_data import B, C, sha

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO_ROOT, "docs", "examples", "prevention_fleet_slices.yml")
SLICES = 4
N = 40


def start_slice(index, inventory, hosts, ansible_env, kata_env, tmp_path):
    results = tmp_path / ("slice_%d.jsonl" % index)
    env = dict(ansible_env, **kata_env)
    env["EDR_TEST_RESULTS"] = str(results)
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, PLAYBOOK,
               "--limit", ",".join(hosts), "-e", json.dumps({"prevention_fleet_hashes": [B, C]})]
    proc = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    return proc, results


def fleet_result(results):
    entries = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    fleet = [entry for entry in entries if entry["task"].startswith("One kata_prevention fleet run")]
    assert len(fleet) == 1, entries  # run_once: one module run per slice
    return fleet[0]["result"]


def test_four_slices_handle_every_sensor_once_and_add_up_to_the_fleet(central_node, ansible_env, kata_env,
                                                                      tmp_path):
    central_node.reset(N)
    ids = [sensor["sensorId"] for sensor in central_node.sensors]
    hosts = [sensor["host"] for sensor in central_node.sensors]
    for index, sensor_id in enumerate(ids):
        central_node.set_prevention(sensor_id, [sha(B), sha(C)] if index % 3 else [sha(B)])
    inventory = tmp_path / "edr.kata_sensors.yml"
    inventory.write_text(yaml.safe_dump({"plugin": "kaspersky.edr.kata_sensors", "hostnames": ["hostname"]}))
    # As AWX slices an inventory: host i goes to slice i mod 4.
    slices = [hosts[index::SLICES] for index in range(SLICES)]
    started = [start_slice(index, str(inventory), part, ansible_env, kata_env, tmp_path)
               for index, part in enumerate(slices)]
    outputs = [proc.communicate(timeout=300)[0] for proc, _results in started]
    for (proc, _results), output in zip(started, outputs):
        assert proc.returncode == 0, output
    results = [fleet_result(path) for _proc, path in started]
    for part, result in zip(slices, results):
        by_host = dict(zip(hosts, ids))
        assert [entry["sensor_id"] for entry in result["sensor_results"]] == [by_host[host] for host in part]
    totals = dict((key, sum(result["summary"][key] for result in results))
                  for key in ("total", "changed", "unchanged", "failed"))
    changed = len([index for index in range(N) if not index % 3])
    assert totals == {"total": N, "changed": changed, "unchanged": N - changed, "failed": 0}
    # Every sensor read once (plus one read-back where written), written once where it lacked C, never twice.
    gets = [entry["query"]["sensor_id"] for entry in central_node.log("GET", r"/settings$")
            if entry["query"]["sensor_id"] != "all"]
    assert sorted(gets) == sorted(ids + [sensor_id for index, sensor_id in enumerate(ids) if not index % 3])
    assert sorted(entry["query"]["sensor_id"] for entry in central_node.writes()) == sorted(
        sensor_id for index, sensor_id in enumerate(ids) if not index % 3)
    assert len(central_node.log("GET", r"/sensors$")) == SLICES  # each slice's inventory reads the list once
    for sensor_id in ids:
        assert central_node.get_prevention(sensor_id) == [sha(B), sha(C)]
