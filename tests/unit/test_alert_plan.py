# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kaspersky.edr.alert_plan filter: validation, resolution and grouping (plugins/filter/alert_plan.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.kaspersky.edr.plugins.filter.alert_plan import alert_plan

MD5 = "44d88612fea8a8f36de82e1278abb02f"
SENSORS = [{"sensor_id": "S-1", "hostname": "WS-1", "ip": "10.0.0.1"},
           {"sensor_id": "S-2", "hostname": "WS-2", "ip": "10.0.0.2"},
           {"sensor_id": "S-3", "hostname": "TWIN", "ip": "10.0.0.3"},
           {"sensor_id": "S-4", "hostname": "TWIN", "ip": "10.0.0.4"}]


def one(severity="High", host="WS-1", ip=None, hashes=(MD5,)):
    kata = {"severity": severity, "hashes": list(hashes)}
    if host:
        kata["host"] = host
    if ip:
        kata["source_ip"] = ip
    return {"kata": kata}


def test_name_first_then_ip_never_a_guess():
    assert alert_plan(one(host="WS-1", ip="10.0.0.2"), SENSORS)["isolate"][0]["sensor_id"] == "S-1"
    assert alert_plan(one(host="nope", ip="10.0.0.2"), SENSORS)["isolate"][0]["resolved_by"] == "ip"
    # Two hosts named TWIN: the IP picks one of them, but never a host with another name.
    assert alert_plan(one(host="TWIN", ip="10.0.0.4"), SENSORS)["isolate"][0]["sensor_id"] == "S-4"
    plan = alert_plan(one(host="TWIN", ip="10.0.0.1"), SENSORS)
    assert plan["isolate"] == [] and plan["unresolved"][0]["reason"] == "2 Endpoint Agent hosts match"


def test_hostile_values_are_rejected_and_never_copied():
    plan = alert_plan(one(host="{{ lookup('pipe', 'id') }}"), SENSORS)
    assert plan["isolate"] == [] and plan["block_groups"] == []
    assert plan["rejected"][0]["host"] == "???lookup??pipe????id?????"
    plan = alert_plan(one(hashes=[MD5.upper(), "{{ 7 * 6 }}", MD5]), SENSORS)
    assert plan["block_groups"] == [{"hashes": [MD5], "sensors": ["S-1"], "hosts": ["WS-1"]}]
    assert plan["dropped_hashes"] == 1


def test_protected_hosts_by_alert_name_or_central_node_name():
    plan = alert_plan(one(host=None, ip="10.0.0.2"), SENSORS, protected_hosts=["^ws-2$"])
    assert plan["isolate"] == [] and [target["sensor_id"] for target in plan["protected"]] == ["S-2"]
    assert plan["block_groups"][0]["sensors"] == ["S-2"]


def test_severity_lists_and_bad_policy():
    assert alert_plan(one("Medium"), SENSORS)["isolate"] == []
    assert alert_plan(one("Medium"), SENSORS, isolate_on=["Medium"])["isolate"]
    assert alert_plan(one("High"), SENSORS, block_on=[])["block_groups"] == []
    with pytest.raises(AnsibleFilterError, match="protected_hosts"):
        alert_plan(one(), SENSORS, protected_hosts=["("])
    with pytest.raises(AnsibleFilterError, match="isolate_on"):
        alert_plan(one(), SENSORS, isolate_on=["Critical"])


def test_policy_lists_as_text_from_env_vars():
    """ansible-rulebook --env-vars gives text: a JSON list, or (severities) comma-separated values."""
    plan = alert_plan(one("Medium", host="WS-1"), SENSORS, protected_hosts='["^ws-2$", "^DC-"]',
                      isolate_on="High, Medium", block_on="")
    assert [target["sensor_id"] for target in plan["isolate"]] == ["S-1"] and plan["block_groups"] == []
    assert alert_plan(one(host="WS-2"), SENSORS, protected_hosts="^WS-2$")["protected"]


def test_batch_groups_hosts_by_hash_set_one_entry_per_sensor():
    event = {"kata_batch": {"hosts": [
        {"host": "WS-1", "alerts": [{"severity": "High", "hashes": [MD5]}]},
        {"source_ip": "10.0.0.1", "alerts": [{"severity": "Medium", "hashes": ["a" * 64]}]},
        {"host": "WS-2", "alerts": [{"severity": "Low", "hashes": [MD5]}, {"severity": "Medium", "hashes": [MD5]}]},
    ]}}
    plan = alert_plan(event, SENSORS)
    assert plan["alerts"] == 4 and plan["low_alerts"] == 1
    assert [target["sensor_id"] for target in plan["isolate"]] == ["S-1"]
    groups = sorted((group["hashes"], group["sensors"]) for group in plan["block_groups"])
    assert groups == sorted([([MD5, "a" * 64], ["S-1"]), ([MD5], ["S-2"])])


def test_sensor_list_connection_from_options_then_environment(tmp_path):
    from ansible_collections.kaspersky.edr.plugins.action.kata_sensor_list import connection
    from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ConfigurationError

    cert = tmp_path / "client.pem"
    cert.write_text("x")
    environ = {"KATA_HOST": "cn.example", "KATA_PORT": "8443", "KATA_EXTERNAL_SYSTEM_ID": "id",
               "KATA_CLIENT_CERT": str(cert), "KATA_VALIDATE_CERTS": "false"}
    options = connection({"kata_host": "other.example", "client_key": ""}, environ)
    assert options == {"kata_host": "other.example", "kata_port": 8443, "external_system_id": "id",
                       "client_cert": str(cert), "validate_certs": False, "request_timeout": 30.0, "retries": 3}
    with pytest.raises(ConfigurationError, match="kata_port"):
        connection({"kata_port": "many"}, environ)
    with pytest.raises(ConfigurationError, match="does not take sensor_id"):
        connection({"sensor_id": "x"}, environ)
    # The modules' checks (connection_options), not a copy of them.
    with pytest.raises(ConfigurationError, match=r"kata_port must be 1\.\.65535"):
        connection({"kata_port": 70000}, environ)
    with pytest.raises(ConfigurationError, match=r"retries must be 0\.\.10"):
        connection({"retries": 11}, environ)
