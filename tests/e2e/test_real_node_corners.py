# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a real Central Node and KSC may differ from the documentation (issue 15), end to end.

Each test switches the fake into the failing mode and asserts from its request log:

* ``GET settings?sensor_id=all`` refused (400/404/405): the conflict pre-check degrades to a warning
  and the server's own refusal is reported; ``all_hosts`` runs say that the current list is unknown,
  write an exact (exclusive) list, and never merge blindly;
* hosts whose sensor record names an OS other than Windows: isolation and prevention fail before any
  request to their settings, per sensor in fleet mode;
* an isolation DELETE that leaves the rule marked ``enabled: false`` or ``state: disabled|expired``;
* KSC: a rerun that finds the pending incident a crashed run left marks it not handled again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

PREVENTION = "kaspersky.edr.kata_prevention"
POLICY = "kaspersky.edr.kata_prevention_policy"
ISOLATION = "kaspersky.edr.kata_isolation"
RUN_PROCESS = "kaspersky.edr.kata_run_process"
KSC_MODULE = "kaspersky.edr.ksc_edr_response"

A = "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"
B = "2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728"
C = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
UUID_TASK = "3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b"


def sha(value):
    return {"file": {"sha256": value}}


def task(module, name, **options):
    return {"name": name, module: options, "ignore_errors": True}


def requests(central_node):
    """``(method, resource, sensor_id)`` of every request, in order."""
    return [(entry["method"], entry["path"].rsplit("/", 1)[-1], entry["query"].get("sensor_id"))
            for entry in central_node.log()]


def settings_requests(central_node, sensor_id):
    return [entry for entry in central_node.log(path=r"/settings$")
            if str(entry["query"].get("sensor_id")).lower() == str(sensor_id).lower()]


def warnings_of(result):
    return " ".join(result.get("warnings") or [])


# ---- GET settings?sensor_id=all refused ----------------------------------------------------------
@pytest.mark.parametrize("status", [400, 404, 405])
def test_conflict_check_degrades_to_a_warning_and_the_write_goes_ahead(run_playbook, central_node, status):
    central_node.refuse_all_get = status
    sensor = central_node.sensors[0]
    run = run_playbook(tasks=[task(PREVENTION, "add", sensor_hostname=sensor["host"], hashes=[B])])
    assert run.rc == 0, run
    result = run.result("add")
    assert not run.failed("add") and result["changed"] is True
    assert result["conflicts_unknown"] is True
    assert "conflict check" in warnings_of(result) and "could not be done" in warnings_of(result)
    assert str(status) in warnings_of(result)
    # One refused GET of the all-hosts list, then the write and its read-back.
    assert requests(central_node) == [("GET", "sensors", None), ("GET", "settings", sensor["sensorId"]),
                                      ("GET", "settings", "all"), ("POST", "settings", sensor["sensorId"]),
                                      ("GET", "settings", sensor["sensorId"])]
    assert central_node.get_prevention(sensor["sensorId"]) == [sha(B)]


def test_refused_conflict_check_relies_on_the_servers_refusal_which_is_readable(run_playbook, central_node):
    central_node.refuse_all_get = 405
    central_node.set_prevention("all", [sha(B)])
    sensor = central_node.sensors[1]
    run = run_playbook(tasks=[task(PREVENTION, "add", sensor_id=sensor["sensorId"], hashes=[B])])
    assert run.failed("add"), run
    result = run.result("add")
    assert result["changed"] is False
    message = result["msg"]
    assert "\n" not in message and "Traceback" not in run.stdout + run.stderr
    assert "refused the new prevention list" in message
    assert "Prevention rule for file %s already exists and is applied to: all hosts" % B in message
    assert "could not be done" in warnings_of(result)
    assert [entry["status"] for entry in central_node.writes()] == [400]
    assert central_node.get_prevention(sensor["sensorId"]) == []


def test_a_fleet_asks_for_the_all_hosts_list_once(run_playbook, central_node):
    central_node.refuse_all_get = 404
    run = run_playbook(tasks=[task(PREVENTION, "fleet", sensor_filter={}, hashes=[C], parallelism=2)])
    assert run.rc == 0 and not run.failed("fleet"), run
    result = run.result("fleet")
    assert result["summary"]["changed"] == 3
    assert all(entry["conflicts_unknown"] for entry in result["sensor_results"])
    assert len([entry for entry in central_node.log("GET", r"/settings$") if entry["query"]["sensor_id"] == "all"]) \
        == 1


def test_all_hosts_check_mode_says_the_current_list_is_unknown(run_playbook, central_node):
    central_node.refuse_all_get = 405
    central_node.set_prevention("all", [sha(A)])
    run = run_playbook(tasks=[
        task(PREVENTION, "merge", all_hosts=True, hashes=[B]),
        task(PREVENTION, "exact", all_hosts=True, hashes=[B], exclusive=True),
        task(PREVENTION, "remove", all_hosts=True, hashes=[A], state="absent"),
    ], check=True)
    assert run.rc == 0, run
    for name in ("merge", "exact", "remove"):
        result = run.result(name)
        assert not run.failed(name), run
        assert result["current_unknown"] is True and result["changed"] is True
        assert "could not be read" in warnings_of(result)
    assert "a run without check mode fails" in warnings_of(run.result("merge"))
    assert "written as the whole list" in warnings_of(run.result("exact"))
    assert not central_node.writes()
    assert central_node.get_prevention("all") == [sha(A)]


def test_all_hosts_merge_fails_clearly_and_exclusive_writes_the_exact_list(run_playbook, central_node):
    central_node.refuse_all_get = 400
    central_node.set_prevention("all", [sha(A)])
    run = run_playbook(tasks=[
        task(PREVENTION, "merge", all_hosts=True, hashes=[B]),
        task(PREVENTION, "remove", all_hosts=True, hashes=[A], state="absent"),
    ])
    for name in ("merge", "remove"):
        assert run.failed(name), run
        result = run.result(name)
        assert result["changed"] is False and result["current_unknown"] is True
        assert "refused to read the current list" in result["msg"] and "Nothing was changed" in result["msg"]
        assert "exclusive=true" in result["msg"]
    assert not central_node.writes()
    assert central_node.get_prevention("all") == [sha(A)]

    central_node.clear_log()
    run = run_playbook(tasks=[task(PREVENTION, "exact", all_hosts=True, hashes=[B, C], exclusive=True)])
    assert not run.failed("exact"), run
    result = run.result("exact")
    assert result["changed"] is True and result["current_unknown"] is True
    assert central_node.get_prevention("all") == [sha(B), sha(C)]
    # The conflict check still reads every host's list; the write is not read back (the GET is refused).
    gets = [entry["query"]["sensor_id"] for entry in central_node.log("GET", r"/settings$")]
    assert gets.count("all") == 1 and len(gets) == 4
    assert [(entry["method"], entry["query"]["sensor_id"]) for entry in central_node.writes()] == [("POST", "all")]


def test_policy_with_all_writes_it_exactly_and_hosts_after_it(run_playbook, central_node):
    central_node.refuse_all_get = 405
    central_node.set_prevention("all", [sha(A), sha(C)])
    first = central_node.sensors[0]
    policy = {"all": [A], first["host"]: [C]}   # C moves from all to the host
    run = run_playbook(tasks=[task(POLICY, "policy", policy=policy)], check=True)
    assert not run.failed("policy"), run
    assert run.result("policy")["changed"] is True
    assert "could not be read" in warnings_of(run.result("policy"))
    assert not central_node.writes()

    central_node.clear_log()
    run = run_playbook(tasks=[task(POLICY, "policy", policy=policy)])
    assert not run.failed("policy"), run
    entries = dict((entry["target"], entry) for entry in run.result("policy")["targets"])
    assert entries["all"]["current_unknown"] is True
    assert central_node.get_prevention("all") == [sha(A)]
    assert central_node.get_prevention(first["sensorId"]) == [sha(C)]
    # The all-hosts list first (it may hold the host's hash), then the host; the all-hosts GET asked once.
    assert [(entry["method"], entry["query"]["sensor_id"]) for entry in central_node.writes()] == [
        ("POST", "all"), ("POST", first["sensorId"])]
    assert len(settings_requests(central_node, "all")) == 2  # the refused GET and the POST


def test_policy_of_hosts_warns_that_the_conflict_check_was_not_done(run_playbook, central_node):
    central_node.refuse_all_get = 404
    first = central_node.sensors[0]
    run = run_playbook(tasks=[task(POLICY, "policy", policy={first["host"]: [B]})])
    assert not run.failed("policy"), run
    result = run.result("policy")
    assert result["changed"] is True and result["conflicts_unknown"] is True
    assert "could not be done" in run.stdout + run.stderr or "could not be done" in warnings_of(result)
    assert central_node.get_prevention(first["sensorId"]) == [sha(B)]


# ---- hosts that do not run Windows -----------------------------------------------------------------
@pytest.mark.parametrize("key", ["os", "osName", "platform"])
def test_isolation_and_prevention_refuse_a_linux_host_before_any_settings_request(run_playbook, central_node, key):
    central_node.set_os_key(key)
    linux = central_node.sensors[2]
    central_node.seed_os([linux["sensorId"]], "Ubuntu 22.04.3 LTS", key)
    run = run_playbook(tasks=[
        task(ISOLATION, "isolate", sensor_hostname=linux["host"], auto_turnoff_timeout_hours=1),
        task(PREVENTION, "block", sensor_ip=linux["ip"], hashes=[B]),
        task(ISOLATION, "release", sensor_hostname=linux["host"], state="absent"),
    ])
    for name in ("isolate", "block", "release"):
        assert run.failed(name), run
        message = run.result(name)["msg"]
        assert "isolation and prevention work only on Windows agents" in message
        assert linux["host"] in message and "Ubuntu 22.04.3 LTS" in message
        assert run.result(name)["changed"] is False
    assert not settings_requests(central_node, linux["sensorId"])
    assert not central_node.writes()
    assert [method for method, _resource, _sensor in requests(central_node)] == ["GET"] * 3


def test_windows_and_unknown_os_proceed_and_run_process_works_on_linux(run_playbook, central_node):
    windows, unknown, linux = central_node.sensors
    central_node.seed_os([windows["sensorId"]], "Microsoft WINDOWS Server 2019")
    unknown.pop("os")
    central_node.seed_linux(1)
    run = run_playbook(tasks=[
        task(PREVENTION, "windows", sensor_hostname=windows["host"], hashes=[B]),
        task(PREVENTION, "unknown", sensor_hostname=unknown["host"], hashes=[B]),
        task(PREVENTION, "by id", sensor_id=linux["sensorId"], hashes=[B]),   # no record looked up: unknown OS
        task(RUN_PROCESS, "run", sensor_hostname=linux["host"], task_id=UUID_TASK, executable="/usr/bin/id"),
    ])
    for name in ("windows", "unknown", "by id", "run"):
        assert not run.failed(name), run
    assert central_node.get_prevention(windows["sensorId"]) == [sha(B)]
    assert central_node.get_prevention(unknown["sensorId"]) == [sha(B)]


def test_fleet_reports_linux_hosts_per_sensor(run_playbook, central_node):
    central_node.reset(4)
    linux_ids = central_node.seed_linux(2, os_name="Red Hat Enterprise Linux 9")
    run = run_playbook(tasks=[
        task(ISOLATION, "fleet", sensor_filter={}, auto_turnoff_timeout_hours=2),
        task(PREVENTION, "tolerant", sensor_filter={}, hashes=[C], ignore_sensor_errors=True),
    ])
    assert run.failed("fleet"), run
    result = run.result("fleet")
    assert result["summary"] == {"total": 4, "changed": 2, "failed": 2, "unchanged": 0}
    failed = [entry for entry in result["sensor_results"] if entry["failed"]]
    assert sorted(entry["sensor_id"] for entry in failed) == sorted(linux_ids)
    assert all("only on Windows agents" in entry["msg"] and "Red Hat Enterprise Linux 9" in entry["msg"]
               for entry in failed)
    assert not run.failed("tolerant"), run
    tolerant = run.result("tolerant")
    assert tolerant["summary"]["failed"] == 2 and tolerant["summary"]["changed"] == 2
    for sensor_id in linux_ids:
        assert not settings_requests(central_node, sensor_id)


def test_policy_fails_a_linux_host_per_target(run_playbook, central_node):
    linux = central_node.sensors[2]
    central_node.seed_linux(1)
    windows = central_node.sensors[0]
    run = run_playbook(tasks=[task(POLICY, "policy", policy={windows["host"]: [B], linux["host"]: [C]},
                                   ignore_sensor_errors=True)])
    assert not run.failed("policy"), run
    entries = dict((entry["target"], entry) for entry in run.result("policy")["targets"])
    assert entries[linux["host"]]["failed"] is True and "Ubuntu" in entries[linux["host"]]["msg"]
    assert entries[windows["host"]]["changed"] is True
    assert not settings_requests(central_node, linux["sensorId"])


# ---- an isolation DELETE that leaves the rule marked off ----------------------------------------------
@pytest.mark.parametrize("marker", [{"enabled": False}, {"state": "disabled"}, {"state": "expired"},
                                    {"isEnabled": False}, {"active": False}, {"disabled": True},
                                    {"status": "Inactive"}])
def test_a_rule_marked_off_is_not_isolated(run_playbook, central_node, marker):
    central_node.isolation_delete_marker = marker
    sensor = central_node.sensors[0]
    central_node.set_isolation(sensor["sensorId"], {"autoTurnoffTimeoutInSec": 7200, "excludedRules": [
        {"direction": "both", "remoteIpv4Address": "10.0.0.5"}]})
    run = run_playbook(tasks=[
        task(ISOLATION, "release", sensor_id=sensor["sensorId"], state="absent"),
        task(ISOLATION, "release again", sensor_id=sensor["sensorId"], state="absent"),
    ])
    assert run.result("release")["changed"] is True
    assert run.result("release again")["changed"] is False
    assert [entry["method"] for entry in central_node.writes()] == ["DELETE"]
    assert central_node.get_isolation(sensor["sensorId"]) is not None  # the server keeps it, marked off

    central_node.clear_log()
    run = run_playbook(tasks=[
        task(ISOLATION, "isolate", sensor_id=sensor["sensorId"], auto_turnoff_timeout=7200),
        task(ISOLATION, "isolate again", sensor_id=sensor["sensorId"], auto_turnoff_timeout=7200),
    ])
    assert run.result("isolate")["changed"] is True and run.result("isolate again")["changed"] is False
    posts = central_node.writes()
    assert [entry["method"] for entry in posts] == ["POST"]
    # The marked-off rule's exclusions are cleared explicitly; the new rule is active.
    assert posts[0]["json"] == {"settings": {"autoTurnoffTimeoutInSec": 7200, "excludedRules": []}}


# ---- KSC: the pending incident a crashed run left ------------------------------------------------------
def test_ksc_rerun_marks_the_pending_incident_not_handled_again(ksc, ksc_env, run_playbook):
    args = {"target_hostname": "WS-001", "task": "isolateHost", "params": {"action": 1}}
    # The first run dies between AddIncident and UpdateIncident (the server refuses the update).
    ksc.add_fault(method="POST", path=r"UpdateIncident$", status=400, times=1)
    run = run_playbook(tasks=[dict(task(KSC_MODULE, "first", **args))], env=ksc_env)
    assert run.failed("first"), run
    assert "marking it not handled failed" in run.result("first")["msg"]
    assert len(ksc.calls("HostGroup.AddIncident")) == 1
    incident_id = run.result("first")["incident_id"]

    ksc.clear_log()
    run = run_playbook(tasks=[dict(task(KSC_MODULE, "rerun", **args)), dict(task(KSC_MODULE, "check", **args))],
                       env=ksc_env)
    result = run.result("rerun")
    assert not run.failed("rerun"), run
    assert result["changed"] is False and result["pending"] is True
    assert result["incident_id"] == incident_id and result["marked_not_handled"] is True
    assert not ksc.calls("HostGroup.AddIncident")
    updates = ksc.calls("HostGroup.UpdateIncident")
    assert len(updates) == 2   # once per run: idempotent
    assert updates[0]["json"]["nId"] == incident_id
    assert json.dumps(updates[0]["json"]["pData"]).count("KLINCDT_IS_HANDLED") == 1
    assert ksc.incident(incident_id)["KLINCDT_IS_HANDLED"] is False


def test_ksc_check_mode_and_handled_incidents_send_no_update(ksc, ksc_env, run_playbook):
    args = {"target_hostname": "WS-001", "task": "isolateHost", "params": {"action": 1}}
    run = run_playbook(tasks=[dict(task(KSC_MODULE, "create", **args))], env=ksc_env)
    assert run.result("create")["changed"] is True
    incident_id = run.result("create")["incident_id"]

    ksc.clear_log()
    run = run_playbook(tasks=[dict(task(KSC_MODULE, "check", **args))], env=ksc_env, check=True)
    assert run.result("check")["marked_not_handled"] is False and run.result("check")["pending"] is True
    assert not ksc.calls("HostGroup.UpdateIncident") and not ksc.calls("HostGroup.AddIncident")

    ksc.set_handled(incident_id)
    ksc.clear_log()
    run = run_playbook(tasks=[dict(task(KSC_MODULE, "after handled", **args))], env=ksc_env)
    result = run.result("after handled")
    assert result["changed"] is True and result["incident_id"] != incident_id
    assert ksc.incident(incident_id)["KLINCDT_IS_HANDLED"] is True
    assert [entry["json"]["nId"] for entry in ksc.calls("HostGroup.UpdateIncident")] == [result["incident_id"]]
