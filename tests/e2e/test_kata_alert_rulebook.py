# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_alert_response.yml in the real ansible-rulebook (Java 17), with the collection installed from its
tarball, real syslog from another process over TCP, UDP and TLS, and the fake Central Node.

What was done comes from the fake's request log (isolation and prevention writes per sensor); how often
the rules fired from the engine's audit trail (tests/e2e/eda/engine.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from tests.e2e.eda.alert_engine import AlertEngine, cef_alert, install_collection, wait_for

pytestmark = pytest.mark.toolchain

MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    return install_collection(str(tmp_path_factory.mktemp("kata_alert_rulebook")))


@pytest.fixture
def engine(collections, ansible_env, kata_env, tmp_path):
    started = []

    def start(protocol="tcp", **rulebook_vars):
        env = dict(ansible_env)
        env.update(kata_env)
        env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
        rulebook_vars.setdefault("isolation_guard_state", str(tmp_path / "guard.json"))
        workdir = tmp_path / ("engine-%d" % len(started))
        workdir.mkdir()
        run = AlertEngine(str(workdir), collections, env, rulebook_vars, protocol)
        started.append(run)
        return run.start()

    yield start
    for run in started:
        run.stop()


def writes(central_node, settings_type, sensor_id=None):
    return [entry["query"]["sensor_id"] for entry in central_node.writes()
            if entry["query"].get("settings_type") == settings_type
            and (sensor_id is None or entry["query"]["sensor_id"] == sensor_id)]


def test_high_alert_over_tcp_isolates_and_blocks_once_and_spares_protected_hosts(engine, central_node):
    ws1, ws2, _ws3 = central_node.sensors
    run = engine("tcp", protected_hosts=["^WS-002\\."])
    alert = cef_alert(ws1["host"], ws1["ip"], "High", [MD5], alert_id="a1")
    # Repeated alerts: three in one batch window, then two more in a later window.
    run.send([alert, alert, cef_alert(ws2["host"], ws2["ip"], "High", [SHA256], alert_id="a2"), alert])
    wait_for(lambda: writes(central_node, "network_isolation") and len(writes(central_node, "prevention")) >= 2,
             180, run)
    run.send([alert, alert], gap=0.1)
    wait_for(lambda: len(run.actions()) >= 2, 180, run, quiet=6, log=central_node.log)
    assert writes(central_node, "network_isolation") == [ws1["sensorId"]], run.output()
    assert sorted(writes(central_node, "prevention")) == sorted([ws1["sensorId"], ws2["sensorId"]])
    assert [obj["file"]["md5"] for obj in central_node.get_prevention(ws1["sensorId"])] == [MD5]
    assert [obj["file"]["sha256"] for obj in central_node.get_prevention(ws2["sensorId"])] == [SHA256]
    assert central_node.get_isolation(ws2["sensorId"]) is None
    assert all(action["status"] == "successful" for action in run.actions()), run.actions()
    assert "Protected, blocked but never isolated: %s" % ws2["host"] in run.output()


def test_udp_alerts_without_batching_are_throttled_per_host(engine, central_node):
    ws1, _ws2, _ws3 = central_node.sensors
    run = engine("udp", kata_alerts_batch_window=0)
    alert = cef_alert(ws1["host"], ws1["ip"], "High", [MD5])
    run.send([alert] * 3, gap=0.3)
    wait_for(lambda: writes(central_node, "prevention"), 180, run, quiet=8, log=central_node.log)
    assert writes(central_node, "network_isolation") == [ws1["sensorId"]]
    assert writes(central_node, "prevention") == [ws1["sensorId"]]
    # The throttle: one response for the host, although three alerts arrived.
    assert [(action["rule"], action["status"]) for action in run.actions()] == [
        ("Respond to a KATA alert on a named host", "successful")], run.output()


def test_tls_with_client_certificates_isolates(engine, central_node, pki_paths, collections):
    """Also the playbook by its installed path (alert_response_playbook) instead of its name."""
    _ws1, _ws2, ws3 = central_node.sensors
    playbook = os.path.join(collections, "ansible_collections", "kaspersky", "edr", "playbooks", "alert_response.yml")
    run = engine("tls", kata_alerts_certfile=pki_paths["server"], kata_alerts_keyfile=pki_paths["server_key"],
                 kata_alerts_ca_certs=pki_paths["ca"], kata_alerts_client_auth=True, alert_response_playbook=playbook)
    run.send([cef_alert(None, ws3["ip"], "High", [SHA256])],
             tls=(pki_paths["client"], pki_paths["client_key"], pki_paths["ca"]))
    wait_for(lambda: writes(central_node, "prevention"), 180, run, quiet=4, log=central_node.log)
    assert writes(central_node, "network_isolation") == [ws3["sensorId"]]
    assert writes(central_node, "prevention") == [ws3["sensorId"]]
