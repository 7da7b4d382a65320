# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``results`` option of fleet runs: every target, or only those that changed, failed or warned."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaspersky.edr.tests.prevention_data import B, C, sha

PREVENTION = "kaspersky.edr.kata_prevention"
POLICY = "kaspersky.edr.kata_prevention_policy"


def task(module, name, **options):
    return {"name": name, module: options}


def seed(central_node, count, objects):
    central_node.reset(count)
    for sensor in central_node.sensors:
        central_node.set_prevention(sensor["sensorId"], objects)
    return [sensor["sensorId"] for sensor in central_node.sensors]


def settings_gets(central_node):
    return central_node.log("GET", r"/settings$")


def test_changes_lists_only_the_changed_and_failed_sensors_and_counts_them_all(run_playbook, central_node):
    ids = seed(central_node, 10, [sha(B)])
    central_node.set_prevention(ids[2], [])
    central_node.set_prevention(ids[5], [])
    central_node.add_fault(method="POST", path=ids[5], status=400, body={"message": "Invalid settings"}, times=1)
    run = run_playbook(tasks=[task(PREVENTION, "fleet", sensors=ids, hashes=[B], results="changes",
                                   ignore_sensor_errors=True)])
    assert run.rc == 0, run
    result = run.result("fleet")
    assert [(entry["sensor_id"], entry["changed"], entry["failed"]) for entry in result["sensor_results"]] == [
        (ids[2], True, False), (ids[5], False, True)]
    assert result["summary"] == {"total": 10, "changed": 1, "failed": 1, "unchanged": 8}
    assert result["failed_sensors"] == [result["sensor_results"][1]["target"]]
    # The cut is in the result only: every sensor was read once, only the two that differed were written.
    assert len(settings_gets(central_node)) == 10 + 1 + 1   # + the all-hosts list + one read-back
    assert sorted(entry["query"]["sensor_id"] for entry in central_node.writes()) == sorted([ids[2], ids[5]])


def test_unset_lists_every_sensor_up_to_100_and_only_changes_above_unless_all(run_playbook, central_node):
    ids = seed(central_node, 101, [sha(B)])
    run = run_playbook(tasks=[
        task(PREVENTION, "100 sensors", sensors=ids[:100], hashes=[B]),
        task(PREVENTION, "101 sensors", sensors=ids, hashes=[B]),
        task(PREVENTION, "101 sensors, all", sensors=ids, hashes=[B], results="all"),
    ])
    assert run.rc == 0, run
    assert [entry["sensor_id"] for entry in run.result("100 sensors")["sensor_results"]] == ids[:100]
    above = run.result("101 sensors")
    assert above["sensor_results"] == [] and above["failed_sensors"] == []
    assert above["summary"] == {"total": 101, "changed": 0, "failed": 0, "unchanged": 101}
    assert [entry["sensor_id"] for entry in run.result("101 sensors, all")["sensor_results"]] == ids
    assert len(settings_gets(central_node)) == 100 + 101 + 101 and central_node.writes() == []


def test_policy_changes_lists_only_the_drifting_targets(run_playbook, central_node):
    ids = seed(central_node, 3, [sha(B)])
    policy = dict((sensor_id, [B]) for sensor_id in ids)
    policy[ids[1]] = [B, C]
    run = run_playbook(tasks=[
        task(POLICY, "policy changes", policy=policy, results="changes"),
        task(POLICY, "policy all", policy=policy, results="all"),
    ])
    assert run.rc == 0, run
    first = run.result("policy changes")
    assert [entry["target"] for entry in first["targets"]] == [ids[1]]
    assert first["summary"] == {"targets": 3, "changed": 1, "failed": 0, "in_sync": 2}
    second = run.result("policy all")
    assert [entry["target"] for entry in second["targets"]] == ids
    assert second["summary"] == {"targets": 3, "changed": 0, "failed": 0, "in_sync": 3}
