# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rulebooks of extensions/eda/rulebooks in the real ansible-rulebook engine.

Sample alerts come in through a stand-in for the ``ansible.eda.webhook`` source (tests/e2e/eda);
the engine's audit trail says which rule fired and which actions ran for each alert. For
kata_response.yml the collection's real playbooks run against the fake Central Node, recording
their extra vars; kata_response_controller.yml launches job templates on a fake automation
controller, which records the launches.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from tests.e2e.eda.engine import run_rulebook
from tests.e2e.eda.fake_controller import TOKEN as CONTROLLER_TOKEN
from tests.e2e.eda.fake_controller import FakeController

pytestmark = pytest.mark.toolchain

MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
HOSTILE_HOST = "{{ lookup('ansible.builtin.pipe', 'id') }}"
TOKEN = "test-webhook-token-5b0c"
IGNORED = ("Report an alert that matches no response", "debug", None, "successful")

BAD_ALERTS = [
    ("template-host-block", {"host": HOSTILE_HOST, "hash": MD5}),
    ("template-host-isolate", {"host": HOSTILE_HOST, "action": "isolate"}),
    ("template-hash", {"host": "WS-001.corp.example", "hash": "{{ 7 * 6 }}"}),
    ("short-hash", {"host": "WS-001.corp.example", "hash": MD5[:-1]}),
    ("long-hash", {"host": "WS-001.corp.example", "hash": SHA256 + "0"}),
    ("not-hex-hash", {"host": "WS-001.corp.example", "hash": "g" * 32}),
    ("space", {"host": "WS 001", "hash": MD5}),
    ("leading-dash", {"host": "-oProxyCommand=id", "hash": MD5}),
    ("newline", {"host": "WS-001.corp.example\nWS-002.corp.example", "hash": MD5}),
    ("hash-list", {"host": "WS-001.corp.example", "hash": [MD5]}),
    ("no-host", {"hash": MD5}),
    ("no-hash", {"host": "WS-001.corp.example"}),
    ("unknown-action", {"host": "WS-001.corp.example", "hash": MD5, "action": "delete-everything"}),
    ("isolate-hostile-hash", {"host": "WS-001.corp.example", "action": "isolate", "hash": "{{ 7 * 6 }}"}),
]


@pytest.fixture
def rulebook_env(ansible_env, kata_env):
    env = dict(ansible_env)
    env.update(kata_env)
    return env


def test_kata_response_rulebook_in_the_real_engine(rulebook_env, central_node, tmp_path):
    ws1, ws2, ws3 = [sensor["host"] for sensor in central_node.sensors]
    alerts = [
        (TOKEN, {"host": ws1, "hash": SHA256.upper()}),                          # 0: block
        (TOKEN, {"host": ws2, "action": "isolate"}),                             # 1: isolate, default time
        (TOKEN, {"host": ws3, "action": "isolate", "hash": MD5,                  # 2: isolate, then block
                 "isolation_hours": 8}),
        (TOKEN, {"host": ws1, "action": "isolate", "isolation_hours": "8; rm"}),  # 3: 0 hours, refused
        ("wrong-token", {"host": ws1, "action": "isolate"}),                     # 4: never delivered
    ] + [(TOKEN, payload) for _name, payload in BAD_ALERTS]                     # 5...: ignored
    run = run_rulebook("kata_response.yml", alerts, str(tmp_path), rulebook_env, TOKEN)
    assert run.rc == 0, run

    # A hash alert blocks the file on that host, passing the hash as the only list item.
    assert run.actions_for(0) == [("Block the file on the host", "run_playbook", "kaspersky.edr.block_hashes",
                                   "successful")], run
    assert run.playbooks_for(0) == [("block_hashes.yml", {"sensor_hostname": ws1, "hashes": [SHA256.upper()]})], run

    # An isolate alert isolates the host for the default 4 hours.
    assert run.actions_for(1) == [("Isolate the host", "run_playbook", "kaspersky.edr.isolate_host",
                                   "successful")], run
    assert run.playbooks_for(1) == [("isolate_host.yml", {"sensor_hostname": ws2, "isolation_hours": 4})], run

    # An isolate alert with a hash isolates first, then blocks the file.
    assert run.actions_for(2) == [
        ("Isolate the host and block the file", "run_playbook", "kaspersky.edr.isolate_host", "successful"),
        ("Isolate the host and block the file", "run_playbook", "kaspersky.edr.block_hashes", "successful"),
    ], run
    assert run.playbooks_for(2) == [("isolate_host.yml", {"sensor_hostname": ws3, "isolation_hours": 8}),
                                    ("block_hashes.yml", {"sensor_hostname": ws3, "hashes": [MD5]})], run

    # isolation_hours that is not a number becomes 0, which the playbook refuses: nothing is written.
    assert run.actions_for(3) == [("Isolate the host", "run_playbook", "kaspersky.edr.isolate_host", "failed")], run
    assert run.playbooks_for(3) == [("isolate_host.yml", {"sensor_hostname": ws1, "isolation_hours": 0})], run

    # The webhook token is checked: an alert with another token never reaches the rules.
    assert run.actions_for(4) == [] and run.playbooks_for(4) == [], run

    # Hostile host names, bad hashes and unknown actions start no playbook: only the report rule fires.
    for offset, (name, _payload) in enumerate(BAD_ALERTS):
        assert run.actions_for(5 + offset) == [IGNORED], (name, run)
        assert run.playbooks_for(5 + offset) == [], (name, run)
    assert len(run.playbooks) == 5, run

    # The playbooks really ran against the Central Node: exactly these rules were written.
    sensors = dict((sensor["host"], sensor["sensorId"]) for sensor in central_node.sensors)
    assert [obj["file"]["sha256"] for obj in central_node.get_prevention(sensors[ws1])] == [SHA256], \
        central_node.get_prevention(sensors[ws1])
    assert [obj["file"]["md5"] for obj in central_node.get_prevention(sensors[ws3])] == [MD5]
    assert central_node.get_prevention(sensors[ws2]) == []
    assert central_node.get_isolation(sensors[ws1]) is None
    assert central_node.get_isolation(sensors[ws2])["autoTurnoffTimeoutInSec"] == 4 * 3600
    assert central_node.get_isolation(sensors[ws3])["autoTurnoffTimeoutInSec"] == 8 * 3600
    isolate_failure = [entry for entry in run.results if entry["status"] == "failed"]
    assert [entry["task"] for entry in isolate_failure] == ["Isolate the host"], run.results


def test_controller_rulebook_launches_the_job_templates(rulebook_env, tmp_path):
    """kata_response_controller.yml: run_job_template on an automation controller (tests/e2e/eda/fake_controller.py)."""
    controller = FakeController().start()
    try:
        alerts = [
            (None, {"host": "WS-001.corp.example", "hash": MD5}),                          # 0: block
            (None, {"host": "10.20.0.3", "action": "isolate"}),                            # 1: isolate, 4 h
            (None, {"host": "WS-002.corp.example", "action": "isolate", "isolation_hours": "8; rm"}),  # 2: 0 h
        ] + [(None, payload) for name, payload in BAD_ALERTS  # 3...: nothing
             # This rulebook isolates without looking at a hash (none is passed on), so that one isolates.
             if name != "isolate-hostile-hash"]
        end = {"host": "end-of-alerts.example", "action": "isolate"}
        run = run_rulebook("kata_response_controller.yml", alerts, str(tmp_path), rulebook_env, TOKEN,
                           end_of_alerts=end, controller_url=controller.url, controller_token=CONTROLLER_TOKEN)
    finally:
        controller.stop()
    assert run.rc == 0, run
    launches = [(launch["template"], dict((key, value) for key, value in launch["body"]["extra_vars"].items()
                                          if key != "ansible_eda"))
                for launch in controller.launches]
    assert launches[-1] == ("EDR - Isolate host (KATA)", {"sensor_hostname": end["host"], "isolation_hours": 4})
    # A survey answer is text: the hash goes as a string, not a list.
    assert launches[:-1] == [
        ("EDR - Block hashes (KATA)", {"sensor_hostname": "WS-001.corp.example", "hashes": MD5}),
        ("EDR - Isolate host (KATA)", {"sensor_hostname": "10.20.0.3", "isolation_hours": 4}),
        ("EDR - Isolate host (KATA)", {"sensor_hostname": "WS-002.corp.example", "isolation_hours": 0}),
    ], run
    assert run.actions_for(0) == [("Block the file on the host", "run_job_template", "EDR - Block hashes (KATA)",
                                   "successful")], run
    assert run.actions_for(1) == [("Isolate the host", "run_job_template", "EDR - Isolate host (KATA)",
                                   "successful")], run
    for index in range(3, len(alerts)):
        assert run.actions_for(index) == [], (alerts[index], run)
