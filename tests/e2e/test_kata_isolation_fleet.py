# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_isolation fleet mode end to end: one GET per host, writes only where a host differs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MODULE = "kaspersky.edr.kata_isolation"
N = 8
RULE = {"autoTurnoffTimeoutInSec": 14400, "excludedRules": [{"direction": "both", "remoteIpv4Address": "10.0.0.10"}]}


def task(name, **options):
    return {"name": name, MODULE: options}


def per_sensor(central_node, method):
    counts = {}
    for entry in central_node.log(method, r"/settings$"):
        key = entry["query"]["sensor_id"].lower()
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_isolate_many_then_converged_then_release_all(run_playbook, central_node):
    central_node.reset(N)
    ids = [sensor["sensorId"] for sensor in central_node.sensors]
    central_node.set_isolation(ids[0], RULE)  # already as wanted
    isolate = dict(sensors=ids[:5], auto_turnoff_timeout_hours=4, exclusions=[{"remote_address": "10.0.0.10"}])
    run = run_playbook(tasks=[task("isolate", **isolate)], diff=True)
    assert run.rc == 0, run
    result = run.result("isolate")
    assert result["summary"] == {"total": 5, "changed": 4, "failed": 0, "unchanged": 1}
    assert [entry["changed"] for entry in result["sensor_results"]] == [False, True, True, True, True]
    assert all(central_node.get_isolation(sid)["autoTurnoffTimeoutInSec"] == 14400 for sid in ids[:5])
    assert per_sensor(central_node, "GET") == dict((sid.lower(), 1) for sid in ids[:5])
    assert per_sensor(central_node, "POST") == dict((sid.lower(), 1) for sid in ids[1:5])
    assert "auto_turnoff_timeout" in run.stdout  # one diff per changed host

    central_node.clear_log()
    run = run_playbook(tasks=[task("again", **isolate)])
    assert run.rc == 0 and run.result("again")["changed"] is False, run
    assert len(central_node.log()) == 5 and central_node.writes() == []

    central_node.clear_log()
    run = run_playbook(tasks=[task("drift report", sensor_filter={}, state="absent")], check=True)
    assert run.rc == 0, run
    assert run.result("drift report")["summary"] == {"total": N, "changed": 5, "failed": 0, "unchanged": N - 5}
    assert central_node.writes() == []

    central_node.clear_log()
    run = run_playbook(tasks=[task("release all", sensor_filter={}, state="absent")])
    assert run.rc == 0, run
    assert all(central_node.get_isolation(sid) is None for sid in ids)
    assert len(central_node.log("GET", r"/sensors$")) == 1
    assert per_sensor(central_node, "DELETE") == dict((sid.lower(), 1) for sid in ids[:5])


def test_a_failing_host_does_not_stop_the_others(run_playbook, central_node):
    ids = [sensor["sensorId"] for sensor in central_node.sensors]
    wanted = [ids[0], {"sensor_ip": "192.0.2.99"}, ids[1]]
    run = run_playbook(tasks=[
        dict(task("isolate", sensors=wanted, auto_turnoff_timeout=7200), ignore_errors=True),
        dict(task("bad input", sensors=[ids[0], {"sensor_ip": "not-an-ip"}], auto_turnoff_timeout=7200),
             ignore_errors=True),
    ])
    assert run.rc == 0, run
    assert run.failed("isolate")
    message = run.result("isolate")["msg"]
    assert message.startswith("1 of 3 sensors failed (the others were processed): ")
    assert "No Endpoint Agent host matches sensor_ip=192.0.2.99" in message
    assert central_node.get_isolation(ids[0]) and central_node.get_isolation(ids[1])
    assert run.failed("bad input")
    assert run.result("bad input")["msg"] == "sensors[1].sensor_ip must be an IPv4 or IPv6 address, got 'not-an-ip'"
