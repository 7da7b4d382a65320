# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_prevention fleet mode end to end: one module run, one GET per sensor, writes only where needed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MODULE = "kaspersky.edr.kata_prevention"
N = 10

A = "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"   # the "web UI" rule
B = "2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728"
C = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
UI_RULE = {"file": {"sha256": A, "name": "Blocked by hand in the web UI"}, "uiOnly": {"createdBy": "alice"}}


def sha(value):
    return {"file": {"sha256": value}}


def task(name, **options):
    return {"name": name, MODULE: options}


def settings_requests(central_node, method):
    return central_node.log(method, r"/settings$")


def per_sensor(entries):
    counts = {}
    for entry in entries:
        key = entry["query"]["sensor_id"].lower()
        counts[key] = counts.get(key, 0) + 1
    return counts


def seed(central_node, objects):
    central_node.reset(N)
    for sensor in central_node.sensors:
        central_node.set_prevention(sensor["sensorId"], objects)
    return [sensor["sensorId"] for sensor in central_node.sensors]


def test_converged_fleet_costs_one_get_per_sensor_and_no_write(run_playbook, central_node):
    ids = seed(central_node, [UI_RULE, sha(B)])
    run = run_playbook(tasks=[task("fleet", sensors=ids, hashes=[B.upper()], parallelism=4)])
    assert run.rc == 0, run
    result = run.result("fleet")
    assert result["changed"] is False and result["failed_sensors"] == []
    assert result["summary"] == {"total": N, "changed": 0, "failed": 0, "unchanged": N}
    assert [entry["sensor_id"] for entry in result["sensor_results"]] == ids
    assert all(entry["hashes"] == [A, B] for entry in result["sensor_results"])
    assert len(central_node.log()) == N  # no GET sensors: the IDs are used as given
    assert per_sensor(settings_requests(central_node, "GET")) == dict((sid.lower(), 1) for sid in ids)
    assert central_node.writes() == []
    # One kept-alive pool: at most `parallelism` TLS connections for the whole fleet.
    assert 1 <= len(central_node.handshakes()) <= 4


def test_changing_fleet_writes_once_per_changed_sensor_and_keeps_other_rules(run_playbook, central_node):
    ids = seed(central_node, [UI_RULE])
    central_node.set_prevention(ids[3], [UI_RULE, sha(C)])  # already converged
    run = run_playbook(tasks=[
        task("fleet", sensors=ids, hashes=[C]),
        task("fleet again", sensors=ids, hashes=[C]),
    ], diff=True)
    assert run.rc == 0, run
    first, second = run.result("fleet"), run.result("fleet again")
    assert first["changed"] is True and first["summary"]["changed"] == N - 1
    assert [entry["changed"] for entry in first["sensor_results"]] == [index != 3 for index in range(N)]
    assert all(entry["verified"] for entry in first["sensor_results"] if entry["changed"])
    assert second["changed"] is False
    for sid in ids:
        assert central_node.get_prevention(sid) == [UI_RULE, sha(C)]
    assert "+sha256 %s" % C in run.stdout
    # First run: one GET + one POST + one read-back GET per changed sensor, one GET per converged sensor,
    # and the all-hosts list read once for the whole fleet (the conflict check). Second run: one GET each.
    gets = per_sensor(settings_requests(central_node, "GET"))
    assert gets.pop("all") == 1
    assert gets == dict((sid.lower(), 1 + (2 if index != 3 else 1)) for index, sid in enumerate(ids))
    posts = per_sensor(settings_requests(central_node, "POST"))
    assert posts == dict((sid.lower(), 1) for index, sid in enumerate(ids) if index != 3)
    assert len(central_node.writes()) == N - 1  # all from the first run: "fleet again" wrote nothing
    assert central_node.log("GET", r"/sensors$") == []


def test_check_mode_fleet_reports_every_sensor_and_writes_nothing(run_playbook, central_node):
    ids = seed(central_node, [UI_RULE, sha(B)])
    run = run_playbook(tasks=[task("fleet", sensors=ids[:4], hashes=[C], exclusive=True)], check=True, diff=True)
    assert run.rc == 0, run
    result = run.result("fleet")
    assert result["changed"] is True and result["summary"]["changed"] == 4
    assert all(entry["added"] == [C] and entry["removed"] == [A, B] for entry in result["sensor_results"])
    assert central_node.writes() == []
    assert "-sha256 %s  # Blocked by hand in the web UI" % A in run.stdout


def test_names_ips_and_sensor_filter_cost_one_sensors_listing(run_playbook, central_node):
    ids = seed(central_node, [])
    sensors = central_node.sensors
    run = run_playbook(tasks=[
        task("by name and ip", hashes=[B], sensors=[
            {"sensor_hostname": sensors[0]["host"]}, {"sensor_ip": sensors[1]["ip"]}, ids[2], ids[2].lower()]),
    ])
    assert run.rc == 0, run
    result = run.result("by name and ip")
    assert [entry["sensor_id"] for entry in result["sensor_results"]] == ids[:3]   # duplicates collapse
    assert result["sensor_results"][0]["target"] == "%s (sensor %s)" % (sensors[0]["host"], ids[0])
    assert len(central_node.log("GET", r"/sensors$")) == 1
    assert central_node.log("GET", r"/sensors$")[0]["query"] == {}

    central_node.clear_log()
    run = run_playbook(tasks=[task("every sensor", sensor_filter={}, hashes=[B])])
    assert run.rc == 0, run
    assert run.result("every sensor")["summary"] == {"total": N, "changed": N - 3, "failed": 0, "unchanged": 3}
    assert len(central_node.log("GET", r"/sensors$")) == 1
    central_node.clear_log()
    run = run_playbook(tasks=[task("one by filter", sensor_filter={"ip": sensors[5]["ip"]}, hashes=[B])])
    assert run.rc == 0, run
    assert [entry["sensor_id"] for entry in run.result("one by filter")["sensor_results"]] == [ids[5]]
    assert central_node.log("GET", r"/sensors$")[0]["query"] == {"ip": sensors[5]["ip"]}


def test_failures_are_reported_together_without_stopping_the_others(run_playbook, central_node):
    ids = seed(central_node, [UI_RULE])
    wanted = [ids[0], "0badc0de-0000-0000-0000-000000000000", {"sensor_hostname": "NO-SUCH-HOST"}, ids[1]]
    central_node.add_fault(method="POST", path=ids[1], status=400, body={"message": "Invalid settings"}, times=1)
    run = run_playbook(tasks=[
        dict(task("fleet", sensors=wanted, hashes=[C]), ignore_errors=True),
        task("fleet tolerant", sensors=wanted, hashes=[C], ignore_sensor_errors=True),
    ])
    assert run.rc == 0, run
    assert run.failed("fleet")
    result = run.result("fleet")
    message = result["msg"]
    assert message.startswith("3 of 4 sensors failed (the others were processed): ")
    assert "0badc0de-0000-0000-0000-000000000000" in message and "HTTP 404" in message
    assert "No Endpoint Agent host matches sensor_hostname=NO-SUCH-HOST" in message
    assert "Invalid settings" in message and "\n" not in message
    assert result["changed"] is True and result["summary"] == {"total": 4, "changed": 1, "failed": 3, "unchanged": 0}
    # The sensor that worked got its hash, the refused one kept its list untouched.
    assert central_node.get_prevention(ids[0]) == [UI_RULE, sha(C)]
    tolerant = run.result("fleet tolerant")
    assert not run.failed("fleet tolerant")
    assert tolerant["summary"] == {"total": 4, "changed": 1, "failed": 2, "unchanged": 1}
    assert central_node.get_prevention(ids[1]) == [UI_RULE, sha(C)]
    assert "NO-SUCH-HOST" in run.stdout  # the failed sensors are shown as warnings
