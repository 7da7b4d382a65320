# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KataClient: response shapes, sensor normalization and resolution."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import kata_settings
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import (
    KataClient,
    SensorNotFound,
    normalize_sensor,
    read_sensors,
    read_settings,
)
from ansible_collections.kaspersky.edr.tests.fakes.central_node import DEFAULT_EXTERNAL_SYSTEM_ID

ISOLATION = {"autoTurnoffTimeoutInSec": 7200, "excludedRules": [{"direction": "both", "protocol": 6}]}


@pytest.mark.parametrize("body", [
    {"settings": ISOLATION},
    {"response": {"settings": ISOLATION}},
    {"settings": [ISOLATION]},
    {"response": {"settings": [ISOLATION]}},
])
def test_read_settings_accepts_the_three_shapes(body):
    assert read_settings(body) == ISOLATION


@pytest.mark.parametrize("body", [{}, {"settings": None}, {"settings": []}, {"settings": {}}, None, "", []])
def test_read_settings_empty(body):
    assert read_settings(body) == {}


@pytest.mark.parametrize("body", [
    {"sensors": [{"sensorId": "a"}]},
    {"response": {"sensors": [{"sensorId": "a"}]}},
    [{"sensorId": "a"}],
])
def test_read_sensors_shapes(body):
    assert read_sensors(body) == [{"sensorId": "a"}]


@pytest.mark.parametrize("raw,expected", [
    ({"sensorId": "A", "host": "h1", "ip": "10.0.0.1"}, ("A", "h1", "10.0.0.1")),
    ({"sensorId": "A", "hostName": "h1", "ipAddress": "10.0.0.1"}, ("A", "h1", "10.0.0.1")),
    ({"sensor_id": "A", "name": "h1", "ips": ["10.0.0.1", "10.0.0.2"]}, ("A", "h1", "10.0.0.1")),
    ({"id": "A", "computerName": "h1", "ipAddresses": [{"address": "10.0.0.1"}]}, ("A", "h1", "10.0.0.1")),
    ({"sensorId": "A"}, ("A", None, None)),
])
def test_normalize_sensor_keeps_fields_and_adds_keys(raw, expected):
    sensor = normalize_sensor(raw)
    assert (sensor["sensor_id"], sensor["hostname"], sensor["ip"]) == expected
    for key, value in raw.items():
        assert sensor[key] == value


@pytest.fixture
def client(central_node, pki_paths):
    kata = KataClient("127.0.0.1", DEFAULT_EXTERNAL_SYSTEM_ID, pki_paths["client"], kata_port=central_node.port,
                      client_key=pki_paths["client_key"], ca_path=pki_paths["ca"], retries=0)
    yield kata
    kata.close()


def test_resolve_by_id_sends_nothing(client, central_node):
    assert client.resolve_sensor(sensor_id="abc")["sensor_id"] == "abc"
    assert central_node.log() == []


def test_resolve_by_hostname_and_ip(client, central_node):
    second = central_node.sensors[1]
    assert client.resolve_sensor(hostname=second["host"])["sensor_id"] == second["sensorId"]
    assert client.resolve_sensor(ip=second["ip"])["sensor_id"] == second["sensorId"]
    assert [entry["query"] for entry in central_node.log()] == [{"host": second["host"]}, {"ip": second["ip"]}]


def test_resolve_unknown_lists_candidates(client, central_node):
    with pytest.raises(SensorNotFound) as info:
        client.resolve_sensor(hostname="ws-002.CORP.example")
    assert "No Endpoint Agent host matches sensor_hostname=ws-002.CORP.example" in str(info.value)
    assert "WS-002.corp.example" in str(info.value)


def test_resolve_by_hostname_is_case_sensitive_even_on_a_tolerant_server(client, central_node):
    # A server whose host filter ignores case answers with WS-002 for ws-002: not the host asked for.
    second = central_node.sensors[1]
    tolerant = central_node.add_fault(method="GET", path=r"/sensors\?host=", body={"sensors": [second]})
    with pytest.raises(SensorNotFound) as info:
        client.resolve_sensor(hostname=second["host"].lower())
    # The tolerant answer was really given (the fake itself is case-sensitive and would find nothing)...
    assert tolerant.fired == 1
    first = central_node.log()[0]
    assert (first["query"], first["status"]) == ({"host": second["host"].lower()}, 200)
    # ...and the client refused the host it named: not found, with WS-002 offered as a candidate.
    assert "No Endpoint Agent host matches sensor_hostname=%s" % second["host"].lower() in str(info.value)
    assert second["host"] in str(info.value)


def test_resolve_ambiguous_lists_every_match(client, central_node):
    central_node.sensors[2]["ip"] = central_node.sensors[0]["ip"]
    with pytest.raises(SensorNotFound) as info:
        client.resolve_sensor(ip=central_node.sensors[0]["ip"])
    text = str(info.value)
    assert "2 Endpoint Agent hosts match" in text
    assert central_node.sensors[0]["sensorId"] in text and central_node.sensors[2]["sensorId"] in text


def test_get_task_missing_is_none_and_path_is_encoded(client, central_node):
    assert client.get_task("a/b?c#d%e") is None
    assert central_node.log()[0]["path"].endswith("/tasks/a%2Fb%3Fc%23d%25e")
    assert client.task_url("a/b?c#d%e").endswith("tasks/a%2Fb%3Fc%23d%25e")


@pytest.mark.parametrize("kwargs,expected", [
    (dict(external_system_id="a/b"), "external_system_id"),
    (dict(external_system_id="a b"), "external_system_id"),
    (dict(external_system_id="a%2F"), "external_system_id"),
    (dict(kata_host=""), "kata_host"),
    (dict(client_cert=None), "client_cert"),
    (dict(kata_port=0), "kata_port"),
])
def test_bad_connection_settings(kwargs, expected, pki_paths):
    options = dict(kata_host="127.0.0.1", external_system_id=DEFAULT_EXTERNAL_SYSTEM_ID,
                   client_cert=pki_paths["client"], client_key=pki_paths["client_key"])
    options.update(kwargs)
    with pytest.raises(ConfigurationError) as info:
        KataClient(**kata_settings(options))
    assert expected in str(info.value)
