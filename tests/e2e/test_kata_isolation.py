# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_isolation end to end: ansible-playbook against the fake Central Node.

Several module calls share one playbook run; the fake's request log is checked as a
sequence, so the requests of each task are still asserted one by one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

MODULE = "kaspersky.edr.kata_isolation"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ISOLATE_PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "isolate_host.yml")
RELEASE_PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "release_host.yml")

KSC = {"remote_address": "10.0.0.10"}
DNS = {"direction": "outbound", "protocol": 17, "remote_address": "10.0.0.53", "remote_ports": {"from": 53, "to": 53}}
RDP = {"direction": "inbound", "protocol": 6, "remote_address": "fd00::20", "local_ports": {"from": 3389}}

API_KSC = {"direction": "both", "remoteIpv4Address": "10.0.0.10"}
API_DNS = {"direction": "outbound", "protocol": 17, "remoteIpv4Address": "10.0.0.53",
           "remotePortRange": {"fromPort": 53, "toPort": 53}}
API_RDP = {"direction": "inbound", "protocol": 6, "remoteIpv6Address": "fd00::20",
           "localPortRange": {"fromPort": 3389, "toPort": 3389}}


def task(name, **options):
    return {"name": name, MODULE: options}


def calls(central_node):
    """The request log as ("GET sensors"|"GET settings"|"POST settings"|..., query) pairs."""
    return [("%s %s" % (entry["method"], entry["path"].rsplit("/", 1)[-1]), entry["query"])
            for entry in central_node.log()]


def names(central_node):
    return [call for call, dummy in calls(central_node)]


def failure_message(run, name):
    assert run.failed(name), run
    message = run.result(name)["msg"]
    assert "Traceback" not in run.stdout + run.stderr
    assert "\n" not in message
    return message


# ---- present: idempotence, changes, order ---------------------------------------------------
@pytest.mark.parametrize("shape", ["plain", "response", "list"])
def test_isolate_is_idempotent_and_writes_only_differences(run_playbook, central_node, shape):
    central_node.shape = shape
    sensor = central_node.sensors[1]
    host = sensor["host"]
    run = run_playbook(tasks=[
        task("isolate", sensor_hostname=host, auto_turnoff_timeout_hours=4, exclusions=[KSC, DNS]),
        task("again reordered", sensor_hostname=host, auto_turnoff_timeout=14400,
             exclusions=[dict(DNS), {"direction": "both", "remote_address": "10.0.0.10"}]),
        task("longer", sensor_hostname=host, auto_turnoff_timeout_hours=5, exclusions=[KSC, DNS]),
        task("one exclusion changed", sensor_hostname=host, auto_turnoff_timeout_hours=5,
             exclusions=[KSC, dict(DNS, remote_ports={"from": 53, "to": 54})]),
        task("same by id", sensor_id=sensor["sensorId"].lower(), auto_turnoff_timeout_hours=5,
             exclusions=[dict(DNS, remote_ports={"from": 53, "to": 54}), KSC]),
    ], diff=True)
    assert run.rc == 0, run

    host_query = {"host": host}
    settings_query = {"sensor_id": sensor["sensorId"], "settings_type": "network_isolation"}
    assert calls(central_node) == [
        ("GET sensors", host_query), ("GET settings", settings_query), ("POST settings", settings_query),
        ("GET sensors", host_query), ("GET settings", settings_query),
        ("GET sensors", host_query), ("GET settings", settings_query), ("POST settings", settings_query),
        ("GET sensors", host_query), ("GET settings", settings_query), ("POST settings", settings_query),
        ("GET settings", {"sensor_id": sensor["sensorId"].lower(), "settings_type": "network_isolation"}),
    ]
    posts = [entry["json"] for entry in central_node.log("POST")]
    assert posts[0] == {"settings": {"autoTurnoffTimeoutInSec": 14400, "excludedRules": [API_KSC, API_DNS]}}
    assert posts[1] == {"settings": {"autoTurnoffTimeoutInSec": 18000, "excludedRules": [API_KSC, API_DNS]}}
    assert posts[2]["settings"]["excludedRules"][1]["remotePortRange"] == {"fromPort": 53, "toPort": 54}

    first = run.result("isolate")
    assert first["changed"] is True
    assert first["sensor_id"] == sensor["sensorId"]
    assert first["isolation"] == {
        "auto_turnoff_timeout": 14400, "auto_turnoff_timeout_hours": 4.0, "exclusions": [
            {"direction": "both", "protocol": None, "remote_address": "10.0.0.10", "local_ports": None,
             "remote_ports": None},
            {"direction": "outbound", "protocol": 17, "remote_address": "10.0.0.53", "local_ports": None,
             "remote_ports": {"from": 53, "to": 53}}]}
    assert first["api_settings"] == posts[0]["settings"]
    assert first["diff"] == {"before": {}, "after": first["isolation"]}

    second = run.result("again reordered")
    assert second["changed"] is False
    assert second["isolation"] == first["isolation"]
    assert second["api_settings"] == posts[0]["settings"]

    longer = run.result("longer")
    assert longer["changed"] is True
    assert longer["diff"]["before"]["auto_turnoff_timeout"] == 14400
    assert longer["diff"]["after"]["auto_turnoff_timeout"] == 18000
    assert run.result("one exclusion changed")["changed"] is True
    assert run.result("same by id")["changed"] is False
    assert central_node.get_isolation(sensor["sensorId"]) == posts[2]["settings"]


def test_selection_by_id_ip_and_server_side_defaults(run_playbook, central_node):
    """By sensor ID: exactly one GET settings; by IP: one GET sensors first. No writes."""
    first, second = central_node.sensors[0], central_node.sensors[1]
    # The Central Node may leave out the default direction and list the rules in its own order.
    central_node.set_isolation(first["sensorId"], {"autoTurnoffTimeoutInSec": 7200, "excludedRules": [
        {"protocol": 17, "remoteIpv4Address": "10.0.0.53", "direction": "outbound",
         "remotePortRange": {"fromPort": 53, "toPort": 53}},
        {"remoteIpv4Address": "10.0.0.10"}]})
    central_node.set_isolation(second["sensorId"], {"autoTurnoffTimeoutInSec": 3600})
    run = run_playbook(tasks=[
        task("by id", sensor_id=first["sensorId"], auto_turnoff_timeout=7200, exclusions=[KSC, DNS]),
        task("by ip", sensor_ip=second["ip"], auto_turnoff_timeout_hours=1, exclusions=[]),
    ])
    assert run.rc == 0, run
    assert run.result("by id")["changed"] is False
    assert run.result("by ip")["changed"] is False
    assert run.result("by ip")["sensor_id"] == second["sensorId"]
    assert calls(central_node) == [
        ("GET settings", {"sensor_id": first["sensorId"], "settings_type": "network_isolation"}),
        ("GET sensors", {"ip": second["ip"]}),
        ("GET settings", {"sensor_id": second["sensorId"], "settings_type": "network_isolation"}),
    ]
    assert central_node.writes() == []


def test_force_reisolates_and_exclusions_are_cleared(run_playbook, central_node):
    """An expired rule stays on the Central Node: same settings -> no change; force re-sends it."""
    first, second = central_node.sensors[0], central_node.sensors[1]
    central_node.set_isolation(first["sensorId"], {"autoTurnoffTimeoutInSec": 7200})
    central_node.set_isolation(second["sensorId"], {"autoTurnoffTimeoutInSec": 7200,
                                                    "excludedRules": [API_KSC, API_RDP]})
    run = run_playbook(tasks=[
        task("expired, same settings", sensor_id=first["sensorId"], auto_turnoff_timeout_hours=2),
        task("force", sensor_id=first["sensorId"], auto_turnoff_timeout_hours=2, force=True),
        task("drop one exclusion", sensor_id=second["sensorId"], auto_turnoff_timeout_hours=2, exclusions=[RDP]),
        task("drop all exclusions", sensor_id=second["sensorId"], auto_turnoff_timeout_hours=2),
    ])
    assert run.rc == 0, run
    assert run.result("expired, same settings")["changed"] is False
    assert run.result("force")["changed"] is True
    assert run.result("drop one exclusion")["changed"] is True
    assert run.result("drop all exclusions")["changed"] is True
    assert names(central_node) == ["GET settings", "GET settings", "POST settings", "GET settings", "POST settings",
                                   "GET settings", "POST settings"]
    posts = [entry["json"]["settings"] for entry in central_node.log("POST")]
    assert posts == [{"autoTurnoffTimeoutInSec": 7200},
                     {"autoTurnoffTimeoutInSec": 7200, "excludedRules": [API_RDP]},
                     {"autoTurnoffTimeoutInSec": 7200, "excludedRules": []}]
    assert central_node.get_isolation(second["sensorId"]) == {"autoTurnoffTimeoutInSec": 7200, "excludedRules": []}
    assert run.result("drop all exclusions")["isolation"]["exclusions"] == []


def test_postman_hours_mistake_on_the_server_is_repaired(run_playbook, central_node):
    """A rule written with hours in autoTurnoffTimeoutInSec (3 = three seconds) differs from 3 hours."""
    sensor = central_node.sensors[2]
    central_node.set_isolation(sensor["sensorId"], {"autoTurnoffTimeoutInSec": 3})
    run = run_playbook(tasks=[task("fix", sensor_id=sensor["sensorId"], auto_turnoff_timeout_hours=3)], diff=True)
    assert run.rc == 0, run
    result = run.result("fix")
    assert result["changed"] is True
    assert result["diff"]["before"]["auto_turnoff_timeout"] == 3
    assert central_node.get_isolation(sensor["sensorId"]) == {"autoTurnoffTimeoutInSec": 10800}


# ---- check mode -------------------------------------------------------------------------------
def test_check_mode_never_writes(run_playbook, central_node):
    first, second, third = central_node.sensors
    central_node.set_isolation(first["sensorId"], {"autoTurnoffTimeoutInSec": 7200, "excludedRules": [API_KSC]})
    central_node.set_isolation(second["sensorId"], {"autoTurnoffTimeoutInSec": 7200})
    before = {sensor["sensorId"]: central_node.get_isolation(sensor["sensorId"]) for sensor in central_node.sensors}
    run = run_playbook(tasks=[
        task("change", sensor_id=first["sensorId"], auto_turnoff_timeout_hours=8, exclusions=[KSC, DNS]),
        task("new", sensor_hostname=third["host"], auto_turnoff_timeout_hours=1),
        task("force", sensor_id=second["sensorId"], auto_turnoff_timeout=7200, force=True),
        task("same", sensor_id=second["sensorId"], auto_turnoff_timeout=7200),
        task("release", sensor_id=second["sensorId"], state="absent"),
    ], check=True, diff=True)
    assert run.rc == 0, run
    assert central_node.writes() == []
    assert {sensor["sensorId"]: central_node.get_isolation(sensor["sensorId"])
            for sensor in central_node.sensors} == before

    change = run.result("change")
    assert change["changed"] is True
    assert change["diff"]["before"]["auto_turnoff_timeout"] == 7200
    assert change["diff"]["after"]["auto_turnoff_timeout"] == 28800
    assert len(change["diff"]["after"]["exclusions"]) == 2
    assert change["api_settings"] == {"autoTurnoffTimeoutInSec": 28800, "excludedRules": [API_KSC, API_DNS]}
    assert run.result("new")["changed"] is True
    assert run.result("new")["diff"]["before"] == {}
    assert run.result("force")["changed"] is True
    assert run.result("same")["changed"] is False
    release = run.result("release")
    assert release["changed"] is True
    assert release["diff"] == {"before": {"auto_turnoff_timeout": 7200, "auto_turnoff_timeout_hours": 2.0,
                                          "exclusions": []}, "after": {}}
    # The diff is shown to the user.
    assert "28800" in run.stdout and "auto_turnoff_timeout" in run.stdout


# ---- absent -------------------------------------------------------------------------------------
def test_absent_deletes_only_an_existing_rule(run_playbook, central_node):
    first, second = central_node.sensors[0], central_node.sensors[1]
    central_node.set_isolation(first["sensorId"], {"autoTurnoffTimeoutInSec": 7200, "excludedRules": [API_KSC]})
    run = run_playbook(tasks=[
        task("release isolated", sensor_id=first["sensorId"], state="absent"),
        task("release again", sensor_id=first["sensorId"], state="absent"),
        task("release never isolated", sensor_hostname=second["host"], state="absent"),
    ], diff=True)
    assert run.rc == 0, run
    released = run.result("release isolated")
    assert released["changed"] is True
    assert released["isolation"] == {} and released["api_settings"] == {}
    assert released["diff"]["before"]["exclusions"][0]["remote_address"] == "10.0.0.10"
    assert run.result("release again")["changed"] is False
    assert run.result("release never isolated")["changed"] is False
    assert names(central_node) == ["GET settings", "DELETE settings", "GET settings", "GET sensors", "GET settings"]
    assert central_node.get_isolation(first["sensorId"]) is None


# ---- validation before any request --------------------------------------------------------------
INVALID = [
    ("hours in the seconds field", dict(auto_turnoff_timeout=24),
     ["auto_turnoff_timeout is in seconds", "3600..35996400", "auto_turnoff_timeout_hours: 24"]),
    ("zero seconds", dict(auto_turnoff_timeout=0), ["auto_turnoff_timeout is in seconds", "3600..35996400",
                                                    "auto_turnoff_timeout_hours"]),
    ("9999 h + 1 s", dict(auto_turnoff_timeout=35996401), ["auto_turnoff_timeout", "3600..35996400", "35996401"]),
    ("hours and seconds", dict(auto_turnoff_timeout_hours=9999, auto_turnoff_timeout=1),
     ["mutually exclusive", "auto_turnoff_timeout (seconds, 3600..35996400)", "auto_turnoff_timeout_hours (hours, 1..9999)"]),
    ("zero hours", dict(auto_turnoff_timeout_hours=0), ["auto_turnoff_timeout_hours", "1..9999"]),
    ("too many hours", dict(auto_turnoff_timeout_hours=10000), ["auto_turnoff_timeout_hours", "1..9999"]),
    ("no timeout", dict(exclusions=[KSC]), ["auto_turnoff_timeout", "auto_turnoff_timeout_hours", "1..9999"]),
    ("ports with both", dict(auto_turnoff_timeout_hours=1, exclusions=[
        {"protocol": 6, "remote_address": "10.0.0.1", "remote_ports": {"from": 443, "to": 443}}]),
     ["exclusions[0].remote_ports", "direction both", "inbound or outbound"]),
    ("bad IP", dict(auto_turnoff_timeout_hours=1, exclusions=[KSC, {"remote_address": "10.0.0.300"}]),
     ["exclusions[1].remote_address", "IPv4 or IPv6", "10.0.0.300"]),
    ("network instead of an address", dict(auto_turnoff_timeout_hours=1, exclusions=[{"remote_address": "10.0.0.0/8"}]),
     ["exclusions[0].remote_address", "IPv4 or IPv6"]),
    ("protocol 300", dict(auto_turnoff_timeout_hours=1, exclusions=[{"protocol": 300}]),
     ["exclusions[0].protocol", "0..255", "300"]),
    ("port 0", dict(auto_turnoff_timeout_hours=1, exclusions=[
        {"direction": "inbound", "local_ports": {"from": 0, "to": 10}}]),
     ["exclusions[0].local_ports.from", "1..65535"]),
    ("ports reversed", dict(auto_turnoff_timeout_hours=1, exclusions=[
        {"direction": "outbound", "remote_ports": {"from": 443, "to": 80}}]),
     ["exclusions[0].remote_ports", "from (443) must not be greater than to (80)", "1..65535"]),
    ("direction", dict(auto_turnoff_timeout_hours=1, exclusions=[{"direction": "egress", "protocol": 6}]),
     ["direction", "inbound, outbound, both"]),
    ("direction only", dict(auto_turnoff_timeout_hours=1, exclusions=[{"direction": "outbound"}]),
     ["exclusions[0]", "at least one of remote_address, protocol, local_ports or remote_ports"]),
    ("absent with a timeout", dict(state="absent", auto_turnoff_timeout_hours=4),
     ["state=absent", "auto_turnoff_timeout_hours"]),
]


def test_invalid_input_fails_before_any_request(run_playbook, central_node):
    sensor_id = central_node.sensors[0]["sensorId"]
    tasks = [dict(task(name, sensor_id=sensor_id, **options), ignore_errors=True) for name, options, dummy in INVALID]
    tasks += [
        dict(task("two hosts", sensor_id=sensor_id, sensor_ip="10.20.0.2", auto_turnoff_timeout_hours=1),
             ignore_errors=True),
        dict(task("no host", auto_turnoff_timeout_hours=1), ignore_errors=True),
        dict(task("sensor_ip not an IP", sensor_ip="WS-001", auto_turnoff_timeout_hours=1), ignore_errors=True),
    ]
    run = run_playbook(tasks=tasks)
    assert run.rc == 0, run
    for name, dummy, fragments in INVALID:
        message = failure_message(run, name)
        for fragment in fragments:
            assert fragment in message, (name, message)
    assert "exactly one of sensor_id, sensor_hostname or sensor_ip" in failure_message(run, "two hosts")
    assert "exactly one of sensor_id, sensor_hostname or sensor_ip" in failure_message(run, "no host")
    assert "sensor_ip must be an IPv4 or IPv6 address" in failure_message(run, "sensor_ip not an IP")
    assert central_node.log() == []
    assert central_node.handshakes() == []


def test_api_errors_are_reported(run_playbook, central_node):
    sensor = central_node.sensors[2]
    # HTTP 500 is retried (the API says "repeat the request later"): a persistent one, with retries=0, is reported.
    central_node.add_fault(method="POST", path=r"/settings\?", status=500, times=None)
    run = run_playbook(tasks=[
        dict(task("unknown id", sensor_id="00000000-0000-0000-0000-000000000000", auto_turnoff_timeout_hours=1),
             ignore_errors=True),
        dict(task("unknown host", sensor_hostname="ws-001.corp.example", auto_turnoff_timeout_hours=1),
             ignore_errors=True),
        dict(task("server error", sensor_id=sensor["sensorId"], auto_turnoff_timeout_hours=1, retries=0),
             ignore_errors=True),
    ])
    assert run.rc == 0, run
    message = failure_message(run, "unknown id")
    assert "404" in message and "settings" in message and "Specified host not found" in message
    message = failure_message(run, "unknown host")
    assert "sensor_hostname=ws-001.corp.example" in message and "WS-001.corp.example" in message
    assert run.result("unknown id")["changed"] is False
    message = failure_message(run, "server error")
    assert "POST" in message and "settings" in message and "500" in message
    assert run.result("server error")["changed"] is False
    assert [entry["status"] for entry in central_node.writes()] == [500]
    assert central_node.get_isolation(sensor["sensorId"]) is None


# ---- the playbooks ------------------------------------------------------------------------------
def test_isolate_and_release_playbooks(run_playbook, central_node):
    sensor = central_node.sensors[0]
    exclusions = [KSC, DNS]
    # As from the command line: -e sensor_hostname=... -e isolation_hours=8 (strings), exclusions as JSON.
    run = run_playbook(ISOLATE_PLAYBOOK, extra_vars={"sensor_hostname": sensor["host"], "isolation_hours": "8",
                                                     "isolation_exclusions": exclusions})
    assert run.rc == 0, run
    assert run.result("Isolate the host")["changed"] is True
    assert "isolated for 8.0 hours (28800 seconds) with 2 exclusion(s); rule written" in run.stdout
    assert central_node.get_isolation(sensor["sensorId"]) == {"autoTurnoffTimeoutInSec": 28800,
                                                              "excludedRules": [API_KSC, API_DNS]}
    assert names(central_node) == ["GET sensors", "GET settings", "POST settings"]

    central_node.clear_log()
    # key=value form: the exclusions arrive as a JSON string (the playbook parses it), reordered.
    run = run_playbook(ISOLATE_PLAYBOOK, extra_vars={"sensor_id": sensor["sensorId"]}, args=(
        "-e", "isolation_hours=8",
        "-e", "isolation_exclusions=" + json.dumps(list(reversed(exclusions)), separators=(",", ":"))))
    assert run.rc == 0, run
    assert run.result("Isolate the host")["changed"] is False
    assert names(central_node) == ["GET settings"]

    central_node.clear_log()
    run = run_playbook(RELEASE_PLAYBOOK, extra_vars={"sensor_ip": sensor["ip"]})
    assert run.rc == 0, run
    assert run.result("Delete the isolation rule")["changed"] is True
    assert "isolation rule deleted" in run.stdout
    assert names(central_node) == ["GET sensors", "GET settings", "DELETE settings"]
    assert central_node.get_isolation(sensor["sensorId"]) is None

    central_node.clear_log()
    run = run_playbook(RELEASE_PLAYBOOK, extra_vars={"sensor_id": sensor["sensorId"]})
    assert run.rc == 0, run
    assert run.result("Delete the isolation rule")["changed"] is False
    assert central_node.writes() == []


def test_playbooks_need_exactly_one_host_selector(run_playbook, central_node):
    run = run_playbook(ISOLATE_PLAYBOOK, extra_vars={"isolation_hours": 2})
    assert run.rc != 0, run
    assert "Pass exactly one of -e sensor_id=..., -e sensor_hostname=... or -e sensor_ip=..." in run.stdout
    assert central_node.log() == []


def test_a_write_whose_answer_is_lost_says_it_may_have_happened(run_playbook, central_node):
    sid = central_node.sensors[0]["sensorId"]
    central_node.add_fault(method="POST", path=r"/settings\?", action="drop_after")
    central_node.add_fault(method="DELETE", path=r"/settings\?", status=500)
    run = run_playbook(tasks=[
        dict(task("isolate", sensor_id=sid, auto_turnoff_timeout_hours=2, retries=0), ignore_errors=True),
        task("isolate again", sensor_id=sid, auto_turnoff_timeout_hours=2),
        dict(task("release", sensor_id=sid, state="absent", retries=0), ignore_errors=True),
    ])
    assert run.rc == 0, run
    assert run.failed("isolate") and run.result("isolate")["changed"] is True
    message = run.result("isolate")["msg"]
    assert "may or may not have been changed: run the task again" in message and "\n" not in message
    # The POST was applied before the connection dropped: the rerun finds the rule and changes nothing.
    assert run.result("isolate again")["changed"] is False
    # The only writes: the lost POST (not repeated, retries=0) and the release's DELETE; none from the rerun.
    assert [(entry["method"], entry["fault"], entry["status"]) for entry in central_node.writes()] == [
        ("POST", "drop_after", 200), ("DELETE", None, 500)]
    assert run.failed("release") and "HTTP 500" in run.result("release")["msg"]
    assert central_node.get_isolation(sid)["autoTurnoffTimeoutInSec"] == 7200
