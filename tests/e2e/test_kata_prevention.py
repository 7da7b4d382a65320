# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_prevention and the prevention playbooks end to end: ansible-playbook against the fake
Central Node. Several module calls share one playbook run; the fake's request log is checked
as a sequence, so the requests of each task are still asserted one by one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.kaspersky.edr.tests.prevention_data import A, B, C, M, H, UI_RULE, sha, md5

MODULE = "kaspersky.edr.kata_prevention"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCK_PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "block_hashes.yml")


def task(name, **options):
    return {"name": name, MODULE: options}


def tolerant(name, **options):
    """A task whose failure does not stop the play (the test checks it)."""
    return dict(task(name, **options), ignore_errors=True)


def calls(central_node):
    """The request log as ("GET sensors"|"GET settings"|"POST settings"|..., query) pairs."""
    return [("%s %s" % (entry["method"], entry["path"].rsplit("/", 1)[-1]), entry["query"])
            for entry in central_node.log()]


def q(sensor_id):
    return {"sensor_id": sensor_id, "settings_type": "prevention"}


# ---- merge mode --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["plain", "response", "list"])
def test_merge_keeps_the_web_ui_rule_and_converges(run_playbook, central_node, shape):
    central_node.shape = shape
    sensor = central_node.sensors[0]
    sid, host = sensor["sensorId"], sensor["host"]
    central_node.set_prevention(sid, [UI_RULE, sha(B)])
    run = run_playbook(tasks=[
        task("add C", sensor_hostname=host, hashes=[C]),
        task("add C again", sensor_hostname=host, hashes=[C]),
    ], diff=True)
    assert run.rc == 0, run

    first, second = run.result("add C"), run.result("add C again")
    assert first["changed"] is True
    assert first["added"] == [C] and first["removed"] == []
    assert first["unchanged"] == [A, B] and first["hashes"] == [A, B, C]
    assert first["target"] == "%s (sensor %s)" % (host, sid)
    assert "+sha256 %s" % C in run.stdout
    assert second["changed"] is False and second["added"] == [] and second["hashes"] == [A, B, C]

    # The UI rule (with its name and an unknown field) is written back exactly as read.
    assert central_node.get_prevention(sid) == [UI_RULE, sha(B), sha(C)]
    assert calls(central_node) == [
        ("GET sensors", {"host": host}), ("GET settings", q(sid)), ("GET settings", q("all")),
        ("POST settings", q(sid)), ("GET settings", q(sid)),           # the write, then its verifying read-back
        ("GET sensors", {"host": host}), ("GET settings", q(sid)),     # converged: one GET settings, no write
    ]
    assert central_node.writes()[0]["json"] == {"settings": {"objects": [UI_RULE, sha(B), sha(C)]}}


def test_merge_by_id_converged_costs_exactly_one_get(run_playbook, central_node):
    sid = central_node.sensors[1]["sensorId"]
    central_node.set_prevention(sid, [UI_RULE])
    run = run_playbook(tasks=[task("noop", sensor_id=sid.lower(), hashes=[A.upper()])])
    assert run.rc == 0, run
    assert run.result("noop")["changed"] is False
    assert calls(central_node) == [("GET settings", q(sid.lower()))]


def test_host_by_ip(run_playbook, central_node):
    sensor = central_node.sensors[2]
    central_node.set_prevention(sensor["sensorId"], [UI_RULE])
    run = run_playbook(tasks=[task("by ip", sensor_ip=sensor["ip"], hashes=[B])])
    assert run.rc == 0, run
    assert run.result("by ip")["sensor_id"] == sensor["sensorId"]
    assert central_node.get_prevention(sensor["sensorId"]) == [UI_RULE, sha(B)]
    assert calls(central_node)[0] == ("GET sensors", {"ip": sensor["ip"]})


def test_case_duplicates_and_md5_sha256_mix(run_playbook, central_node):
    sid = central_node.sensors[2]["sensorId"]
    central_node.set_prevention(sid, [{"file": {"sha256": B.upper()}}])
    hashes = [C.upper(), C, {"md5": M.upper()}, " %s " % M, {"sha256": B}, B.upper()]
    run = run_playbook(tasks=[
        task("mixed", sensor_id=sid, hashes=hashes),
        task("mixed again", sensor_id=sid, hashes=hashes),
        task("mixed exclusive", sensor_id=sid, hashes=hashes, exclusive=True),
    ])
    assert run.rc == 0, run
    assert run.result("mixed")["added"] == [C, M]
    assert run.result("mixed")["unchanged"] == [B]
    assert run.result("mixed again")["changed"] is False
    assert run.result("mixed exclusive")["changed"] is False
    assert central_node.get_prevention(sid) == [{"file": {"sha256": B.upper()}}, sha(C), md5(M)]
    assert len(central_node.writes()) == 1


# ---- absent ------------------------------------------------------------------------------------
def test_absent_removes_only_listed_hashes(run_playbook, central_node):
    sid = central_node.sensors[0]["sensorId"]
    central_node.set_prevention(sid, [UI_RULE, sha(B), md5(M)])
    run = run_playbook(tasks=[
        task("remove B", sensor_id=sid, hashes=[B], state="absent"),
        task("remove missing", sensor_id=sid, hashes=[C, {"md5": "0" * 32}], state="absent"),
        task("remove the rest", sensor_id=sid, hashes=[A.upper(), M], state="absent"),
        task("remove the rest again", sensor_id=sid, hashes=[A, M], state="absent"),
    ])
    assert run.rc == 0, run
    assert run.result("remove B")["removed"] == [B]
    assert run.result("remove B")["hashes"] == [A, M]
    assert run.result("remove missing")["changed"] is False
    assert run.result("remove the rest")["removed"] == [A, M]
    assert run.result("remove the rest again")["changed"] is False
    assert central_node.get_prevention(sid) == []
    assert calls(central_node) == [
        ("GET settings", q(sid)), ("POST settings", q(sid)),      # no conflict check when only removing
        ("GET settings", q(sid)),                                 # write verification (read-back)
        ("GET settings", q(sid)),
        ("GET settings", q(sid)), ("DELETE settings", q(sid)),    # the last rule goes with DELETE
        ("GET settings", q(sid)),                                 # write verification (read-back)
        ("GET settings", q(sid)),
    ]
    assert central_node.writes()[0]["json"] == {"settings": {"objects": [UI_RULE, md5(M)]}}


# ---- exclusive -----------------------------------------------------------------------------------
def test_exclusive_makes_the_list_exact_and_empty_deletes(run_playbook, central_node):
    sid = central_node.sensors[0]["sensorId"]
    named_c = {"file": {"sha256": C, "name": "C, named in the UI"}}
    central_node.set_prevention(sid, [UI_RULE, sha(B), named_c])
    run = run_playbook(tasks=[
        task("only C", sensor_id=sid, hashes=[C], exclusive=True),
        task("only C again", sensor_id=sid, hashes=[C.upper()], exclusive=True),
        task("nothing", sensor_id=sid, hashes=[], exclusive=True),
        task("nothing again", sensor_id=sid, hashes=[], exclusive=True),
    ])
    assert run.rc == 0, run
    assert run.result("only C")["removed"] == [A, B] and run.result("only C")["hashes"] == [C]
    assert run.result("only C again")["changed"] is False
    assert run.result("nothing")["removed"] == [C] and run.result("nothing")["hashes"] == []
    assert run.result("nothing again")["changed"] is False
    assert central_node.get_prevention(sid) == []
    assert calls(central_node) == [
        ("GET settings", q(sid)), ("POST settings", q(sid)), ("GET settings", q(sid)),     # + read-back
        ("GET settings", q(sid)),
        ("GET settings", q(sid)), ("DELETE settings", q(sid)), ("GET settings", q(sid)),   # + read-back
        ("GET settings", q(sid)),
    ]
    assert central_node.writes()[0]["json"] == {"settings": {"objects": [named_c]}}   # name kept


# ---- check mode ------------------------------------------------------------------------------------
def test_check_mode_reports_with_diff_and_never_writes(run_playbook, central_node):
    sid = central_node.sensors[0]["sensorId"]
    central_node.set_prevention(sid, [UI_RULE, sha(B)])
    run = run_playbook(tasks=[
        task("merge", sensor_id=sid, hashes=[C]),
        task("absent", sensor_id=sid, hashes=[B], state="absent"),
        task("exclusive", sensor_id=sid, hashes=[M], exclusive=True),
        task("clear", sensor_id=sid, hashes=[], exclusive=True),
        task("all hosts", all_hosts=True, hashes=[H]),
    ], check=True, diff=True)
    assert run.rc == 0, run
    for name in ("merge", "absent", "exclusive", "clear", "all hosts"):
        assert run.result(name)["changed"] is True, name
    merge = run.result("merge")
    assert merge["diff"]["before"] == "sha256 %s  # Blocked by hand in the web UI\nsha256 %s\n" % (A, B)
    assert merge["diff"]["after"] == merge["diff"]["before"] + "sha256 %s\n" % C
    assert run.result("exclusive")["added"] == [M] and run.result("exclusive")["removed"] == [A, B]
    assert run.result("clear")["diff"]["after"] == ""
    assert "-sha256 %s  # Blocked by hand in the web UI" % A in run.stdout
    assert "+md5 %s" % M in run.stdout
    assert central_node.writes() == []
    assert central_node.get_prevention(sid) == [UI_RULE, sha(B)]


# ---- conflicts between the all-hosts list and single hosts ---------------------------------------
def test_all_hosts_conflict_fails_before_any_write_naming_hosts_and_hashes(run_playbook, central_node):
    s1, s2, s3 = central_node.sensors
    central_node.set_prevention(s2["sensorId"], [sha(H), md5(M)])
    central_node.set_prevention(s3["sensorId"], [sha(H)])
    run = run_playbook(tasks=[tolerant("to all", all_hosts=True, hashes=[B, H, M])])
    assert run.rc != 0 or run.failed("to all"), run
    result = run.result("to all")
    assert run.failed("to all")
    assert result["changed"] is False, result
    message = result["msg"]
    for needle in (H, M, s2["host"], s3["host"], s2["sensorId"]):
        assert needle in message, message
    assert B not in message
    assert s1["host"] not in message
    assert result["conflicts"] == {
        H: ["%s (sensor %s)" % (s2["host"], s2["sensorId"]), "%s (sensor %s)" % (s3["host"], s3["sensorId"])],
        M: ["%s (sensor %s)" % (s2["host"], s2["sensorId"])]}
    assert central_node.writes() == []
    # Cost: the all-hosts list, then the sensors and every sensor's list.
    assert calls(central_node) == [("GET settings", q("all")), ("GET sensors", {})] + [
        ("GET settings", q(sensor["sensorId"])) for sensor in central_node.sensors]
    assert central_node.get_prevention("all") == []


def test_single_host_conflict_with_all_hosts_fails_before_any_write(run_playbook, central_node):
    sensor = central_node.sensors[0]
    central_node.set_prevention("all", [sha(H)])
    central_node.set_prevention(sensor["sensorId"], [UI_RULE])
    run = run_playbook(tasks=[tolerant("to host", sensor_hostname=sensor["host"], hashes=[H.upper(), C])])
    assert run.failed("to host"), run
    assert run.result("to host")["changed"] is False
    message = run.result("to host")["msg"]
    assert H in message and sensor["host"] in message and "all hosts" in message
    assert C not in message
    assert central_node.writes() == []
    assert central_node.get_prevention(sensor["sensorId"]) == [UI_RULE]


def test_server_refusal_is_shown_verbatim_when_the_check_is_skipped_or_only_warns(run_playbook, central_node):
    sensor = central_node.sensors[0]
    central_node.set_prevention("all", [sha(H)])
    run = run_playbook(tasks=[
        tolerant("skip", sensor_id=sensor["sensorId"], hashes=[H], conflict_check="skip"),
        tolerant("warn", sensor_id=sensor["sensorId"], hashes=[H], conflict_check="warn"),
    ])
    server_message = "Prevention rule for file %s already exists and is applied to: all hosts" % H
    for name in ("skip", "warn"):
        assert run.failed(name), run
        result = run.result(name)
        assert server_message in result["msg"], result["msg"]
        assert "refused the new prevention list" in result["msg"]
        assert result["api_error"]["status"] == 400 and result["changed"] is False
    assert "already blocked for all hosts" in str(run.result("warn").get("warnings"))
    assert [entry for entry in calls(central_node) if entry[0] == "GET settings"] == [
        ("GET settings", q(sensor["sensorId"])),
        ("GET settings", q(sensor["sensorId"])), ("GET settings", q("all"))]
    assert len(central_node.writes()) == 2
    assert central_node.get_prevention(sensor["sensorId"]) == []


# ---- validation --------------------------------------------------------------------------------------
def test_invalid_input_fails_before_any_request(run_playbook, central_node):
    sid = central_node.sensors[0]["sensorId"]
    cases = {
        "no target": dict(hashes=[M]),
        "two targets": dict(sensor_id=sid, all_hosts=True, hashes=[M]),
        "sensor_id all": dict(sensor_id="all", hashes=[M]),
        "bad hash": dict(sensor_id=sid, hashes=[M, "not-a-hash"]),
        "sha1": dict(sensor_id=sid, hashes=["a" * 40]),
        "wrong kind": dict(sensor_id=sid, hashes=[{"md5": A}]),
        "two kinds": dict(sensor_id=sid, hashes=[{"md5": M, "sha256": A}]),
        "absent exclusive": dict(sensor_id=sid, hashes=[M], state="absent", exclusive=True),
        "no hashes": dict(sensor_id=sid),
        "bad conflict_check": dict(sensor_id=sid, hashes=[M], conflict_check="maybe"),
        "sensors and sensor_id": dict(sensor_id=sid, sensors=[sid], hashes=[M]),
        "sensors entry dict": dict(sensors=[sid, {"hostname": "WS-001"}], hashes=[M]),
        "sensors entry all": dict(sensors=["ALL"], hashes=[M]),
        "sensors entry empty": dict(sensors=[" "], hashes=[M]),
        "bad sensor_filter": dict(sensor_filter={"os": "Windows"}, hashes=[M]),
        "parallelism 0": dict(sensors=[sid], hashes=[M], parallelism=0),
        "parallelism 33": dict(sensors=[sid], hashes=[M], parallelism=33),
    }
    run = run_playbook(tasks=[tolerant(name, **options) for name, options in cases.items()])
    for name in cases:
        assert run.failed(name), name
    messages = dict((name, run.result(name)["msg"]) for name in cases)
    assert "exactly one of sensor_id, sensor_hostname, sensor_ip, all_hosts=true, sensors or sensor_filter" \
        in messages["no target"]
    assert "got sensor_id, all_hosts" in messages["two targets"]
    assert "all_hosts=true" in messages["sensor_id all"]
    assert messages["bad hash"].startswith("hashes[1]: 'not-a-hash' is neither an MD5")
    assert "neither an MD5 (32 hexadecimal digits) nor a SHA256 (64 hexadecimal digits)" in messages["sha1"]
    assert "hashes[0].md5" in messages["wrong kind"] and "MD5" in messages["wrong kind"]
    assert "exactly one key, md5 or sha256" in messages["two kinds"]
    assert "needs state=present" in messages["absent exclusive"]
    assert "hashes" in messages["no hashes"]
    assert "conflict_check" in messages["bad conflict_check"] and "fail, warn, skip" in messages["bad conflict_check"]
    assert "got sensor_id, sensors" in messages["sensors and sensor_id"]
    assert messages["sensors entry dict"].startswith("sensors[1] must be a sensor ID or a dict with exactly one of "
                                                     "sensor_id, sensor_hostname, sensor_ip")
    assert messages["sensors entry all"].startswith("sensors[0]: 'ALL' is not a host; use all_hosts=true")
    assert messages["sensors entry empty"].startswith("sensors[0] must be a non-empty string")
    assert "sensor_filter accepts the keys hostname, ip" in messages["bad sensor_filter"]
    assert "parallelism must be 1..32" in messages["parallelism 0"] and "got 0" in messages["parallelism 0"]
    assert "parallelism must be 1..32" in messages["parallelism 33"]
    assert central_node.log() == []


# ---- playbook: block_hashes.yml (merge); prevention_gitops.yml: test_prevention_gitops_playbook.py ----
def write_lists(tmp_path, lists, name="lists.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(lists, sort_keys=False))
    return str(path)


def debug_lines(run, task_name):
    return [item["msg"] for item in run.result(task_name)["results"]]


def test_block_hashes_playbook_merges(run_playbook, central_node):
    sensor = central_node.sensors[1]
    central_node.set_prevention(sensor["sensorId"], [UI_RULE])
    run = run_playbook(BLOCK_PLAYBOOK, extra_vars={"sensor_hostname": sensor["host"], "hashes": [M]}, diff=True)
    assert run.rc == 0, run
    assert central_node.get_prevention(sensor["sensorId"]) == [UI_RULE, md5(M)]
    assert "+md5 %s" % M in run.stdout
    central_node.clear_log()
    again = run_playbook(BLOCK_PLAYBOOK, args=("-e", "sensor_hostname=%s" % sensor["host"], "-e", "hashes=%s" % M))
    assert again.rc == 0, again
    assert again.result("Update the prevention list (merge mode)")["changed"] is False
    assert central_node.writes() == [] and central_node.log(), central_node.log()   # read, found it, wrote nothing
    unblock = run_playbook(BLOCK_PLAYBOOK, extra_vars={"all_hosts": True, "hashes": [H]})
    assert unblock.rc == 0, unblock
    assert central_node.get_prevention("all") == [sha(H)]
    wrong = run_playbook(BLOCK_PLAYBOOK, extra_vars={"hashes": [H]})
    assert wrong.rc != 0 and "Pass exactly one of" in wrong.stdout
