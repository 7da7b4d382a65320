# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kaspersky.edr.kata_sensors inventory plugin's pure parts: file names, host names, host variables.

Against the fake Central Node through ansible-inventory: tests/e2e/test_inventory_kata_sensors.py and the
inventory_kata_sensors integration target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaspersky.edr.plugins.inventory.kata_sensors import (
    InventoryModule,
    choose_host_names,
    sensor_host_vars,
    snake_case,
)


@pytest.mark.parametrize("name,expected", [
    ("osVersion", "os_version"), ("IPAddress", "ip_address"), ("agent-id", "agent_id"), ("hostName", "host_name"),
    ("already_snake", "already_snake"), ("---", "field"), ("", "field"),
])
def test_snake_case(name, expected):
    assert snake_case(name) == expected


def test_host_vars_keep_the_plugins_own_names_and_every_api_field():
    raw = {"sensorId": "S-1", "hostName": "WS-1", "ip": "10.0.0.1", "osVersion": "Windows 11",
           "port": 8443, "sensor": {"nested": True}}
    variables = sensor_host_vars(raw, {"prevention": {"objects": []}})
    assert variables["kata_sensor_id"] == "S-1"
    assert variables["kata_hostname"] == "WS-1"
    assert variables["kata_ip"] == "10.0.0.1"
    assert variables["kata_os_version"] == "Windows 11"
    assert variables["kata_sensor"] is raw
    assert variables["kata_prevention"] == {"objects": []}
    # An API field named like a connection option never overwrites one; it stays readable in kata_sensor.
    assert "kata_port" not in variables
    assert variables["kata_sensor"]["port"] == 8443


def test_host_names_follow_the_preference_and_fall_back_on_duplicates():
    sensors = [{"sensor_id": "S-1", "hostname": "WS-1", "ip": "10.0.0.1"},
               {"sensor_id": "S-2", "hostname": "DUP", "ip": "10.0.0.2"},
               {"sensor_id": "S-3", "hostname": "DUP", "ip": "10.0.0.3"},
               {"sensor_id": "S-4", "hostname": None, "ip": None}]
    names, warnings = choose_host_names(sensors, ["hostname", "ip"])
    assert names == ["WS-1", "10.0.0.2", "10.0.0.3", "S-4"]
    assert len(warnings) == 2 and all("2 sensors report hostname DUP" in warning for warning in warnings)


@pytest.mark.parametrize("name,accepted", [
    ("hosts.kata_sensors.yml", True), ("hosts.kata_sensors.yaml", True), ("kata_sensors.yml", False),
    ("hosts.yml", False), ("hosts.kata_sensors.yml.bak", False),
])
def test_only_kata_sensors_files_are_read(tmp_path, name, accepted):
    path = tmp_path / name
    path.write_text("plugin: kaspersky.edr.kata_sensors\n")
    assert InventoryModule().verify_file(str(path)) is accepted
