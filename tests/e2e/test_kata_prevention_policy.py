# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_prevention_policy end to end: a whole policy in one run, request counts from the fake's log."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaspersky.edr.tests.prevention_data import A, B, C, D, M, UI_RULE, sha, md5

MODULE = "kaspersky.edr.kata_prevention_policy"


def task(name, **options):
    return {"name": name, MODULE: options}


def host(index):
    return "WS-%03d.corp.example" % index


def sensor_id(central_node, index):
    return central_node.sensor_by_host(host(index))["sensorId"]


def settings_gets(central_node):
    return central_node.log("GET", r"/settings$")


def writes_by_target(central_node):
    """``[(method, sensor_id)]`` of the writes, in the order the fake received them."""
    return [(entry["method"], entry["query"]["sensor_id"]) for entry in central_node.writes()]


def state(central_node, count):
    lists = {"all": central_node.get_prevention("all")}
    for index in range(1, count + 1):
        lists[host(index)] = central_node.get_prevention(sensor_id(central_node, index))
    return lists


def test_converged_policy_costs_one_get_sensors_and_one_get_per_target(run_playbook, central_node):
    central_node.reset(5)
    central_node.set_prevention("all", [sha(B)])
    central_node.set_prevention(sensor_id(central_node, 1), [sha(C), md5(M)])
    policy = {"all": [B], host(1): [{"md5": M.upper()}, C], host(2): []}
    run = run_playbook(tasks=[task("policy", policy=policy)])
    assert run.rc == 0, run
    result = run.result("policy")
    assert result["changed"] is False
    assert result["summary"] == {"targets": 3, "changed": 0, "failed": 0, "in_sync": 3}
    assert [entry["target"] for entry in result["targets"]] == ["all", host(1), host(2)]
    assert result["targets"][1]["unchanged"] == 2 and result["targets"][1]["added"] == []
    assert len(central_node.log("GET", r"/sensors$")) == 1
    assert len(settings_gets(central_node)) == 3
    assert len(central_node.log()) == 4 and central_node.writes() == []


def test_sensor_ids_only_need_no_sensor_listing(run_playbook, central_node):
    central_node.reset(3)
    ids = [sensor["sensorId"] for sensor in central_node.sensors]
    for sid in ids:
        central_node.set_prevention(sid, [sha(C)])
    run = run_playbook(tasks=[task("policy", policy=dict((sid.lower(), [C]) for sid in ids))])
    assert run.rc == 0, run
    assert run.result("policy")["changed"] is False
    assert central_node.log("GET", r"/sensors$") == []
    assert len(central_node.log()) == 3


def test_enforcing_writes_once_per_differing_target_then_converges(run_playbook, central_node):
    central_node.reset(4)
    central_node.set_prevention(sensor_id(central_node, 1), [UI_RULE, sha(C)])   # UI rule goes: exclusive
    central_node.set_prevention(sensor_id(central_node, 2), [sha(D)])           # already exact
    central_node.set_prevention(sensor_id(central_node, 3), [sha(B)])           # cleared
    policy = {"all": [M], host(1): [C], host(2): [D], host(3): None, host(4): [B, D]}
    run = run_playbook(tasks=[task("enforce", policy=policy), task("again", policy=policy)], diff=True)
    assert run.rc == 0, run
    first, second = run.result("enforce"), run.result("again")
    assert first["changed"] is True
    assert first["summary"] == {"targets": 5, "changed": 4, "failed": 0, "in_sync": 1}
    by_target = dict((entry["target"], entry) for entry in first["targets"])
    assert by_target[host(1)]["removed"] == [A] and by_target[host(1)]["added"] == []
    assert by_target[host(3)]["removed"] == [B] and by_target[host(4)]["added"] == [B, D]
    assert all(entry["verified"] for entry in first["targets"] if entry["changed"])
    assert second["changed"] is False and second["summary"]["in_sync"] == 5
    assert state(central_node, 4) == {"all": [md5(M)], host(1): [sha(C)], host(2): [sha(D)], host(3): [],
                                      host(4): [sha(B), sha(D)]}
    # First run: GET sensors + 5 GETs + (write + read-back) for each of the 4 changed targets, and the
    # conflict check of the all-hosts addition: the one host outside the policy... there is none here.
    writes = writes_by_target(central_node)
    assert len(writes) == 4, writes
    assert sorted(method for method, _sid in writes) == ["DELETE", "POST", "POST", "POST"]
    gets = settings_gets(central_node)
    assert len(gets) == 5 + 4 + 5, [entry["query"] for entry in gets]
    assert len(central_node.log("GET", r"/sensors$")) == 2  # once per run
    # --diff: one diff per changed target
    assert run.stdout.count("prevention rules of") >= 8  # before/after headers of 4 targets


def test_hashes_move_between_all_and_hosts_in_one_run(run_playbook, central_node):
    central_node.reset(4)
    central_node.set_prevention("all", [sha(B)])
    central_node.set_prevention(sensor_id(central_node, 1), [sha(C)])          # C: host 1 -> all
    central_node.set_prevention(sensor_id(central_node, 3), [sha(D), md5(M)])  # swap: D -> all, B -> host 3
    policy = {"all": [C, D], host(1): [], host(2): [B], host(3): [M, B]}     # B: all -> hosts 2 and 3
    run = run_playbook(tasks=[task("move", policy=policy), task("again", policy=policy)])
    assert run.rc == 0, run
    result = run.result("move")
    assert result["changed"] is True and result["summary"]["failed"] == 0
    assert state(central_node, 4) == {"all": [sha(C), sha(D)], host(1): [], host(2): [sha(B)],
                                      host(3): [md5(M), sha(B)], host(4): []}
    by_target = dict((entry["target"], entry) for entry in result["targets"])
    assert by_target[host(3)]["removed"] == [D] and by_target[host(3)]["added"] == [B]
    assert run.result("again")["changed"] is False
    # Order: the hosts giving C and D up before all; all before the hosts taking B.
    order = [sid.lower() for _method, sid in writes_by_target(central_node)]
    first_all = order.index("all")
    assert order.index(sensor_id(central_node, 1).lower()) < first_all
    assert order.index(sensor_id(central_node, 3).lower()) < first_all
    assert order.index(sensor_id(central_node, 2).lower()) > first_all
    assert len([sid for sid in order if sid == sensor_id(central_node, 3).lower()]) == 2  # the swap: two steps


def test_check_mode_reports_drift_per_target_and_writes_nothing(run_playbook, central_node):
    central_node.reset(3)
    central_node.set_prevention(sensor_id(central_node, 1), [UI_RULE])
    policy = {host(1): [C], host(2): []}
    run = run_playbook(tasks=[task("drift", policy=policy)], check=True, diff=True)
    assert run.rc == 0, run
    result = run.result("drift")
    assert result["changed"] is True and result["summary"] == {"targets": 2, "changed": 1, "failed": 0,
                                                               "in_sync": 1}
    assert result["targets"][0]["added"] == [C] and result["targets"][0]["removed"] == [A]
    assert central_node.writes() == []
    assert len(result["diff"]) == 1 and "+sha256 %s" % C in run.stdout
    # Hosts add hashes and `all` is not in the policy: the all-hosts list is read once for the conflict check.
    assert [entry["query"]["sensor_id"] for entry in settings_gets(central_node)].count("all") == 1


def test_groups_expand_to_their_hosts_and_a_host_in_several_keys_gets_the_union(run_playbook, central_node):
    central_node.reset(3)
    policy = {"finance": [C], host(2): [D]}
    groups = {"all": [host(1), host(2), "localhost"], "ungrouped": ["localhost"], "finance": [host(1), host(2)]}
    run = run_playbook(tasks=[task("groups", policy=policy, groups=groups)])
    assert run.rc == 0, run
    result = run.result("groups")
    assert [entry["target"] for entry in result["targets"]] == [host(1), host(2)]
    assert result["targets"][1]["policy_keys"] == ["finance", host(2)]
    assert central_node.get_prevention(sensor_id(central_node, 1)) == [sha(C)]
    assert central_node.get_prevention(sensor_id(central_node, 2)) == [sha(C), sha(D)]
    assert central_node.get_prevention(sensor_id(central_node, 3)) == []


def test_all_adding_a_hash_an_unlisted_host_blocks_fails_that_target_only(run_playbook, central_node):
    central_node.reset(3)
    central_node.set_prevention(sensor_id(central_node, 3), [sha(C)])  # host 3 is not in the policy
    policy = {"all": [C], host(1): [D]}
    run = run_playbook(tasks=[task("conflict", policy=policy)])
    assert run.rc != 0
    result = run.result("conflict")
    assert result["summary"] == {"targets": 2, "changed": 1, "failed": 1, "in_sync": 0}
    assert "Cannot block for all hosts" in result["msg"] and host(3) in result["msg"]
    assert central_node.get_prevention("all") == [] and central_node.get_prevention(sensor_id(central_node, 1)) == \
        [sha(D)]
    assert [sid for _method, sid in writes_by_target(central_node)] == [sensor_id(central_node, 1)]


@pytest.mark.parametrize("policy, groups, fragment", [
    ({"WS-999.corp.example": [C]}, None, "policy[WS-999.corp.example]: no Endpoint Agent host is named"),
    ({"finance": [C]}, {"finance": ["WS-404.corp.example"]}, "policy[finance] (group finance, host WS-404"),
    ({"all": [C], host(1): [C.upper()]}, None, "policy[%s] lists %s, which policy[all] lists too" % (host(1), C)),
    ({host(1): ["xyz"]}, None, "policy[%s][0]: 'xyz' is neither an MD5" % host(1)),
    ({host(1): C}, None, "policy[%s] must be a list of hashes" % host(1)),
    ({host(1): [{"sha1": "a" * 40}]}, None, "policy[%s][0]: a hash dict needs exactly one key" % host(1)),
])
def test_bad_input_fails_before_any_write_naming_the_key(run_playbook, central_node, policy, groups, fragment):
    central_node.reset(3)
    options = dict(policy=policy)
    if groups is not None:
        options["groups"] = groups
    run = run_playbook(tasks=[task("bad", **options)])
    assert run.rc != 0
    assert fragment in run.result("bad")["msg"], run.result("bad")["msg"]
    assert central_node.writes() == []
    assert central_node.log("GET", r"/settings$") == []
    if "neither" in fragment or "must be a list" in fragment or "lists too" in fragment or "hash dict" in fragment:
        assert central_node.log() == []  # input errors: not even GET sensors


def test_an_ambiguous_host_name_fails_naming_its_key(run_playbook, central_node):
    sensors = [dict(sensor) for sensor in central_node.sensors]
    sensors[1]["host"] = sensors[0]["host"]
    central_node.reset(sensors)
    run = run_playbook(tasks=[task("ambiguous", policy={host(1): [C]})])
    assert run.rc != 0
    assert "policy[%s]: 2 Endpoint Agent hosts are named" % host(1) in run.result("ambiguous")["msg"]
    assert central_node.writes() == []
