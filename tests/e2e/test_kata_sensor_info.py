# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_sensor_info end to end: ansible-playbook against the fake Central Node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaspersky.edr.tests.fakes.pki import CLIENT_KEY_PASSPHRASE

MODULE = "kaspersky.edr.kata_sensor_info"


def info_task(name="info", **options):
    return {"name": name, MODULE: options}


def failure_line(run, task="info"):
    result = run.result(task)
    assert run.failed(task), run
    output = run.stdout + run.stderr
    assert "Traceback" not in output, output
    assert "MODULE FAILURE" not in output, output
    message = result["msg"]
    assert "\n" not in message
    return message


def test_lists_every_sensor_with_normalized_keys(run_playbook, central_node):
    run = run_playbook(tasks=[info_task()])
    assert run.rc == 0, run
    result = run.result("info")
    assert result["changed"] is False
    assert result["count"] == 3
    for listed, raw in zip(result["sensors"], central_node.sensors):
        assert listed["sensor_id"] == raw["sensorId"]
        assert listed["hostname"] == raw["host"]
        assert listed["ip"] == raw["ip"]
        assert listed["sensorId"] == raw["sensorId"] and listed["os"] == raw["os"]
    assert len(central_node.log()) == 1


def test_filters_are_passed_to_the_api(run_playbook, central_node):
    first, second, third = central_node.sensors
    run = run_playbook(tasks=[
        info_task("by ip", ip=second["ip"]),
        info_task("by hostname", hostname=third["host"]),
        info_task("by id in other case", sensor_id=first["sensorId"].lower()),
        info_task("hostname is case-sensitive", hostname=third["host"].lower()),
        info_task("combined", ip=second["ip"], hostname=third["host"]),
    ])
    assert run.rc == 0, run
    assert [s["sensor_id"] for s in run.result("by ip")["sensors"]] == [second["sensorId"]]
    assert [s["sensor_id"] for s in run.result("by hostname")["sensors"]] == [third["sensorId"]]
    assert [s["sensor_id"] for s in run.result("by id in other case")["sensors"]] == [first["sensorId"]]
    assert run.result("hostname is case-sensitive")["sensors"] == []
    assert run.result("combined")["sensors"] == []
    queries = [entry["query"] for entry in central_node.log("GET", "sensors$")]
    assert queries == [{"ip": second["ip"]}, {"host": third["host"]}, {"sensor_id": first["sensorId"].lower()},
                       {"host": third["host"].lower()}, {"ip": second["ip"], "host": third["host"]}]


def test_include_settings_in_one_tls_session(run_playbook, central_node):
    first = central_node.sensors[0]
    central_node.set_isolation(first["sensorId"], {"autoTurnoffTimeoutInSec": 7200})
    central_node.set_prevention(first["sensorId"], [{"file": {"md5": "0" * 32, "name": "from the UI"}}])
    run = run_playbook(tasks=[info_task(include_settings=["network_isolation", "prevention"])])
    assert run.rc == 0, run
    sensors = run.result("info")["sensors"]
    assert sensors[0]["settings"] == {
        "network_isolation": {"autoTurnoffTimeoutInSec": 7200},
        "prevention": {"objects": [{"file": {"md5": "0" * 32, "name": "from the UI"}}]},
    }
    assert sensors[1]["settings"] == {"network_isolation": {}, "prevention": {"objects": []}}
    assert len(central_node.log("GET")) == 1 + 3 * 2
    assert central_node.writes() == []
    assert len(central_node.handshakes()) == 1, "one TLS handshake per module run (keep-alive)"


@pytest.mark.parametrize("shape", ["response", "list"])
def test_reads_every_documented_response_shape(run_playbook, central_node, shape):
    central_node.shape = shape
    central_node.set_isolation(central_node.sensors[1]["sensorId"], {"autoTurnoffTimeoutInSec": 3600})
    run = run_playbook(tasks=[info_task(include_settings=["network_isolation"])])
    assert run.rc == 0, run
    sensors = run.result("info")["sensors"]
    assert len(sensors) == 3
    assert sensors[1]["settings"]["network_isolation"] == {"autoTurnoffTimeoutInSec": 3600}


def test_check_mode_reads_and_reports_no_change(run_playbook, central_node):
    run = run_playbook(tasks=[info_task(include_settings=["prevention"])], check=True)
    assert run.rc == 0, run
    assert run.result("info")["changed"] is False
    assert run.result("info")["count"] == 3
    assert central_node.writes() == []


def test_options_instead_of_environment_and_encrypted_key(run_playbook, central_node, pki_paths):
    options = {"kata_host": "localhost", "kata_port": central_node.port,
               "external_system_id": "4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d", "client_cert": pki_paths["client"],
               "client_key": pki_paths["client_key_encrypted"], "client_key_passphrase": CLIENT_KEY_PASSPHRASE,
               "ca_path": pki_paths["ca"]}
    run = run_playbook(tasks=[info_task(**options)], with_kata_env=False, args=["-vvv"])
    assert run.rc == 0, run
    assert run.result("info")["count"] == 3
    assert CLIENT_KEY_PASSPHRASE not in run.stdout + run.stderr


def test_module_defaults_action_group(run_playbook, central_node, kata_env):
    play = [{"name": "group", "hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/kaspersky.edr.kata": {
                 "kata_host": "127.0.0.1", "kata_port": central_node.port,
                 "external_system_id": kata_env["KATA_EXTERNAL_SYSTEM_ID"],
                 "client_cert": kata_env["KATA_CLIENT_CERT"], "client_key": kata_env["KATA_CLIENT_KEY"],
                 "ca_path": kata_env["KATA_CA_PATH"]}},
             "tasks": [info_task()]}]
    run = run_playbook(playbook=play, with_kata_env=False)
    assert run.rc == 0, run
    assert run.result("info")["count"] == 3


def test_wrong_client_certificate(run_playbook, central_node, pki_paths):
    run = run_playbook(tasks=[info_task()], env={"KATA_CLIENT_CERT": pki_paths["other_client"],
                                                 "KATA_CLIENT_KEY": pki_paths["other_client_key"]})
    assert run.rc != 0
    assert "rejected the client certificate" in failure_line(run)
    assert central_node.log() == []


def test_wrong_ca(run_playbook, central_node, pki_paths):
    run = run_playbook(tasks=[info_task()], env={"KATA_CA_PATH": pki_paths["other_ca"]})
    assert run.rc != 0
    message = failure_line(run)
    assert "server certificate could not be verified" in message and "ca_path" in message


def test_wrong_external_system_id(run_playbook, central_node):
    run = run_playbook(tasks=[info_task()], env={"KATA_EXTERNAL_SYSTEM_ID": "00000000-dead-beef-0000-000000000000"})
    assert run.rc != 0
    message = failure_line(run)
    assert message.startswith("GET sensors: HTTP 401")
    assert "unknown external system" in message


def test_unreachable_host(run_playbook, central_node):
    run = run_playbook(tasks=[info_task(retries=0)], env={"KATA_PORT": "9"})
    assert run.rc != 0
    assert "connection refused" in failure_line(run)


def test_timeout(run_playbook, central_node):
    central_node.add_fault(method="GET", path="sensors", delay=3, times=None)
    run = run_playbook(tasks=[info_task(request_timeout=1, retries=0)])
    assert run.rc != 0
    assert "within request_timeout" in failure_line(run)


@pytest.mark.parametrize("options,expected", [
    ({"external_system_id": "a/b"}, "external_system_id"),
    ({"kata_port": 70000}, "kata_port must be 1..65535"),
    ({"request_timeout": 0}, "request_timeout"),
    ({"retries": -1}, "retries must be 0..10"),
    ({"include_settings": ["firewall"]}, "include_settings"),
])
def test_bad_input_fails_before_any_request(run_playbook, central_node, options, expected):
    run = run_playbook(tasks=[info_task(**options)])
    assert run.rc != 0
    assert expected in failure_line(run)
    assert central_node.log() == [] and central_node.connections == []


def test_retries_503_twice_then_succeeds(run_playbook, central_node):
    central_node.add_fault(method="GET", path="sensors", status=503, times=2)
    run = run_playbook(tasks=[info_task()])
    assert run.rc == 0, run
    assert [entry["status"] for entry in central_node.log()] == [503, 503, 200]


def test_keeps_failing_stops_after_retries_with_last_error(run_playbook, central_node):
    central_node.add_fault(method="GET", path="sensors", status=503, times=None,
                           body={"message": "Internal server error. Repeat the request later."})
    run = run_playbook(tasks=[info_task(retries=2)])
    assert run.rc != 0
    message = failure_line(run)
    assert "HTTP 503" in message and "Repeat the request later" in message and "after 3 attempts" in message
    assert len(central_node.log()) == 3


def test_429_retry_after_is_honoured(run_playbook, central_node):
    central_node.add_fault(method="GET", path="sensors", status=429, retry_after=1, times=1)
    run = run_playbook(tasks=[info_task()])
    assert run.rc == 0, run
    first, second = central_node.log()
    assert first["status"] == 429 and second["status"] == 200
    assert second["time"] - first["time"] >= 0.95


def test_truncated_body_is_a_clear_failure(run_playbook, central_node):
    central_node.add_fault(method="GET", path="sensors", action="truncate", times=1)
    run = run_playbook(tasks=[info_task(retries=0)])
    assert run.rc != 0
    assert "not JSON" in failure_line(run)


def test_slow_server_within_timeout_still_works(run_playbook, central_node):
    """An answer that takes half the request_timeout is waited for: one request, no retry, every host."""
    central_node.latency = 0.5
    run = run_playbook(tasks=[info_task(request_timeout=1, retries=0)])
    assert run.rc == 0, run
    assert run.result("info")["count"] == 3
    assert [sensor["sensor_id"] for sensor in run.result("info")["sensors"]] == \
        [sensor["sensorId"] for sensor in central_node.sensors]
    (entry,) = central_node.log()
    assert (entry["method"], entry["path"].rsplit("/", 1)[-1], entry["status"]) == ("GET", "sensors", 200)
