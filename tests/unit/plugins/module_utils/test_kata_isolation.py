# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of plugins/module_utils/kata_isolation.py and of the module's option spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils import kata_isolation_model as ki
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_sensors import (
    FleetInputError,
    select_target,
)
from ansible_collections.kaspersky.edr.plugins.modules.kata_isolation import SELECTION_CHOICES
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import read_settings


def params(**kwargs):
    base = {"sensor_id": "e6aa2842-0000-0000-0000-000000000001", "sensor_hostname": None, "sensor_ip": None,
            "state": "present", "auto_turnoff_timeout": None, "auto_turnoff_timeout_hours": None,
            "exclusions": None, "force": False}
    base.update(kwargs)
    return base


def error_of(**kwargs):
    with pytest.raises(ki.IsolationOptionError) as info:
        ki.validate_options(params(**kwargs))
    return str(info.value)


# ---- timeout ---------------------------------------------------------------------------------
def test_range_constants_match_the_documentation():
    assert ki.MIN_TIMEOUT_SECONDS == 3600
    assert ki.MAX_TIMEOUT_SECONDS == 35996400 == 9999 * 3600


@pytest.mark.parametrize("seconds", [3600, 5400, 7200, 9999, 35996400])
def test_valid_seconds(seconds):
    desired, warnings = ki.validate_options(params(auto_turnoff_timeout=seconds))
    assert desired["auto_turnoff_timeout"] == seconds
    assert desired["exclusions"] == []
    assert warnings == []


@pytest.mark.parametrize("hours,seconds", [(1, 3600), (4, 14400), (9999, 35996400)])
def test_hours_are_converted_to_seconds(hours, seconds):
    desired, dummy = ki.validate_options(params(auto_turnoff_timeout_hours=hours))
    assert desired["auto_turnoff_timeout"] == seconds
    assert desired["auto_turnoff_timeout_hours"] == float(hours)


@pytest.mark.parametrize("value", [24, 1, 2, 72, 168, 3599])
def test_hours_in_the_seconds_field_are_refused_with_a_hint(value):
    message = error_of(auto_turnoff_timeout=value)
    assert message.startswith("auto_turnoff_timeout is in seconds")
    assert "3600..35996400 seconds (1..9999 hours)" in message
    assert "got %d" % value in message
    assert "auto_turnoff_timeout_hours: %d" % value in message
    assert "auto_turnoff_timeout: %d" % (value * 3600) in message


@pytest.mark.parametrize("value", [0, -1, -24])
def test_other_small_seconds_values_are_refused(value):
    message = error_of(auto_turnoff_timeout=value)
    assert "auto_turnoff_timeout is in seconds" in message
    assert "3600..35996400" in message
    assert "auto_turnoff_timeout_hours" in message


def test_more_than_9999_hours_is_refused():
    message = error_of(auto_turnoff_timeout=35996401)
    assert "auto_turnoff_timeout is in seconds and must be in the range 3600..35996400" in message
    assert "got 35996401" in message


@pytest.mark.parametrize("hours", [0, -3, 10000])
def test_hours_out_of_range(hours):
    message = error_of(auto_turnoff_timeout_hours=hours)
    assert "auto_turnoff_timeout_hours" in message and "1..9999" in message and repr(hours) in message


def test_seconds_and_hours_are_mutually_exclusive():
    message = error_of(auto_turnoff_timeout=1, auto_turnoff_timeout_hours=9999)
    assert "mutually exclusive" in message
    assert "auto_turnoff_timeout (seconds, 3600..35996400)" in message
    assert "auto_turnoff_timeout_hours (hours, 1..9999)" in message


def test_present_needs_a_timeout():
    message = error_of()
    assert "auto_turnoff_timeout" in message and "auto_turnoff_timeout_hours" in message
    assert "3600..35996400" in message and "1..9999" in message


@pytest.mark.parametrize("value", [True, 3600.5, "3600"])
def test_non_integer_seconds_are_refused(value):
    assert "auto_turnoff_timeout" in error_of(auto_turnoff_timeout=value)


# ---- state=absent ------------------------------------------------------------------------------
def test_absent_takes_no_rule_options():
    assert ki.validate_options(params(state="absent")) == ({}, [])
    assert ki.validate_options(params(state="absent", exclusions=[])) == ({}, [])
    message = error_of(state="absent", auto_turnoff_timeout_hours=4, force=True)
    assert "state=absent" in message and "auto_turnoff_timeout_hours" in message and "force" in message


# ---- sensor selection (checked by the module before the isolation options) ---------------------
def selection_error_of(**kwargs):
    with pytest.raises(FleetInputError) as info:
        select_target(params(**kwargs), SELECTION_CHOICES)
    return str(info.value)


def test_exactly_one_sensor_option():
    assert "exactly one of sensor_id, sensor_hostname or sensor_ip" in selection_error_of(
        sensor_id=None, auto_turnoff_timeout_hours=1)
    message = selection_error_of(sensor_hostname="WS-001", auto_turnoff_timeout_hours=1)
    assert "got sensor_id, sensor_hostname" in message
    # empty strings (e.g. "{{ var | default('') }}") count as not set
    selected = params(sensor_id="", sensor_ip="10.20.0.2", auto_turnoff_timeout_hours=1)
    assert select_target(selected, SELECTION_CHOICES) == ("sensor_ip", "10.20.0.2")
    ki.validate_options(selected)


def test_sensor_ip_must_be_an_ip():
    message = selection_error_of(sensor_id=None, sensor_ip="WS-001", auto_turnoff_timeout_hours=1)
    assert "sensor_ip must be an IPv4 or IPv6 address" in message


# ---- exclusions --------------------------------------------------------------------------------
def validate_one(**exclusion):
    desired, dummy = ki.validate_options(params(auto_turnoff_timeout_hours=1, exclusions=[exclusion]))
    return desired["exclusions"][0]


def exclusion_error(**exclusion):
    return error_of(auto_turnoff_timeout_hours=1, exclusions=[{"remote_address": "10.0.0.1"}, exclusion])


def test_exclusion_defaults():
    assert validate_one(remote_address="10.0.0.1") == {
        "direction": "both", "protocol": None, "remote_address": "10.0.0.1", "local_ports": None,
        "remote_ports": None}


def test_exclusion_full():
    assert validate_one(direction="outbound", protocol=6, remote_address="2001:DB8:0:0::5",
                        local_ports={"from": 1024, "to": 65535}, remote_ports={"from": 443}) == {
        "direction": "outbound", "protocol": 6, "remote_address": "2001:db8::5",
        "local_ports": {"from": 1024, "to": 65535}, "remote_ports": {"from": 443, "to": 443}}


@pytest.mark.parametrize("protocol", [-1, 256, 300])
def test_protocol_range(protocol):
    message = exclusion_error(protocol=protocol)
    assert "exclusions[1].protocol" in message and "0..255" in message and str(protocol) in message


@pytest.mark.parametrize("address", ["10.0.0.256", "10.0.0.0/8", "kata.example.com", "1.2.3", "::g"])
def test_bad_remote_address(address):
    message = exclusion_error(remote_address=address)
    assert "exclusions[1].remote_address must be one IPv4 or IPv6 address" in message and address in message


@pytest.mark.parametrize("option", ["local_ports", "remote_ports"])
def test_ports_with_direction_both_are_refused(option):
    message = exclusion_error(protocol=6, **{option: {"from": 80, "to": 80}})
    assert "exclusions[1].%s" % option in message and "direction both" in message
    message = exclusion_error(direction="both", protocol=6, **{option: {"from": 80, "to": 80}})
    assert "inbound or outbound" in message


@pytest.mark.parametrize("ports,fragment", [
    ({"from": 0, "to": 10}, "from must be a port number 1..65535, got 0"),
    ({"from": 1, "to": 65536}, "to must be a port number 1..65535, got 65536"),
    ({"from": 443, "to": 80}, "from (443) must not be greater than to (80)"),
    ({"from": None, "to": 80}, "from must be a port number 1..65535, got None"),
    ({"first": 1}, "only the keys from and to"),
])
def test_port_range_checks(ports, fragment):
    message = exclusion_error(direction="inbound", remote_ports=ports)
    assert "exclusions[1].remote_ports" in message and fragment in message


def test_direction_choices():
    message = exclusion_error(direction="ingress", protocol=6)
    assert "exclusions[1].direction must be one of inbound, outbound, both" in message


def test_exclusion_needs_a_criterion():
    message = exclusion_error(direction="outbound")
    assert "exclusions[1] must set at least one of remote_address, protocol, local_ports or remote_ports" in message


def test_duplicate_exclusions_are_dropped_with_a_warning():
    desired, warnings = ki.validate_options(params(auto_turnoff_timeout_hours=1, exclusions=[
        {"remote_address": "10.0.0.1"}, {"direction": "both", "remote_address": "10.0.0.1"},
        {"remote_address": "10.0.0.2"}]))
    assert [item["remote_address"] for item in desired["exclusions"]] == ["10.0.0.1", "10.0.0.2"]
    assert warnings == ["exclusions[1] repeats exclusions[0] and is ignored"]


# ---- mapping -----------------------------------------------------------------------------------
def test_mapping_to_the_api():
    desired, dummy = ki.validate_options(params(auto_turnoff_timeout_hours=4, exclusions=[
        {"remote_address": "10.0.0.10"},
        {"direction": "outbound", "protocol": 17, "remote_address": "fd00::53", "remote_ports": {"from": 53}},
        {"direction": "inbound", "protocol": 6, "local_ports": {"from": 3389, "to": 3389}},
    ]))
    assert ki.isolation_to_api(desired) == {
        "autoTurnoffTimeoutInSec": 14400,
        "excludedRules": [
            {"direction": "both", "remoteIpv4Address": "10.0.0.10"},
            {"direction": "outbound", "protocol": 17, "remoteIpv6Address": "fd00::53",
             "remotePortRange": {"fromPort": 53, "toPort": 53}},
            {"direction": "inbound", "protocol": 6, "localPortRange": {"fromPort": 3389, "toPort": 3389}},
        ]}
    # round trip
    assert ki.isolation_from_api(ki.isolation_to_api(desired)) == desired


def test_no_exclusions_key_unless_clearing():
    desired = ki.make_isolation(7200, [])
    assert ki.isolation_to_api(desired) == {"autoTurnoffTimeoutInSec": 7200}
    assert ki.isolation_to_api(desired, clear_exclusions=True) == {"autoTurnoffTimeoutInSec": 7200,
                                                                   "excludedRules": []}


def test_reading_the_api_is_tolerant():
    current = ki.isolation_from_api({"autoTurnoffTimeoutInSec": "7200", "excludedRules": [
        {"protocol": "6", "remoteIpv4Address": "10.0.0.1", "id": 17},
        {"direction": "OUTBOUND", "remoteIpv6Address": "FD00:0::1", "remotePortRange": {"fromPort": "53"}},
    ], "unknownField": True})
    assert current == {"auto_turnoff_timeout": 7200, "auto_turnoff_timeout_hours": 2.0, "exclusions": [
        {"direction": "both", "protocol": 6, "remote_address": "10.0.0.1", "local_ports": None,
         "remote_ports": None},
        {"direction": "outbound", "protocol": None, "remote_address": "fd00::1", "local_ports": None,
         "remote_ports": {"from": 53, "to": 53}}]}


@pytest.mark.parametrize("settings", [{}, None, [], {"autoTurnoffTimeoutInSec": None}, {"excludedRules": []}])
def test_no_rule(settings):
    assert ki.isolation_from_api(settings) == {}
    assert not ki.rule_exists(settings)


def test_postman_placeholder_timeout_is_read_as_unknown():
    current = ki.isolation_from_api({"autoTurnoffTimeoutInSec": "{{isolation_timeout_hours}}"})
    assert current["auto_turnoff_timeout"] is None
    assert not ki.same_isolation(current, ki.make_isolation(3600, []))


@pytest.mark.parametrize("body", [
    {"settings": {"autoTurnoffTimeoutInSec": 7200}},
    {"response": {"settings": {"autoTurnoffTimeoutInSec": 7200}}},
    {"settings": [{"autoTurnoffTimeoutInSec": 7200}]},
])
def test_three_response_shapes(body):
    assert ki.isolation_from_api(read_settings(body))["auto_turnoff_timeout"] == 7200


# ---- comparison --------------------------------------------------------------------------------
def desired_of(hours, exclusions):
    return ki.validate_options(params(auto_turnoff_timeout_hours=hours, exclusions=exclusions))[0]


A = {"remote_address": "10.0.0.10"}
B = {"direction": "outbound", "protocol": 17, "remote_address": "10.0.0.53", "remote_ports": {"from": 53, "to": 53}}
C = {"direction": "inbound", "protocol": 6, "local_ports": {"from": 22}}


def test_same_rule_in_another_order_is_the_same():
    current = ki.isolation_from_api(ki.isolation_to_api(desired_of(4, [A, B, C])))
    assert ki.same_isolation(current, desired_of(4, [C, A, B]))


def test_default_direction_is_normalized():
    # The API may leave out direction "both"; the module sends it explicitly.
    current = ki.isolation_from_api({"autoTurnoffTimeoutInSec": 14400, "excludedRules": [
        {"remoteIpv4Address": "10.0.0.10"}]})
    assert ki.same_isolation(current, desired_of(4, [{"direction": "both", "remote_address": "10.0.0.10"}]))


def test_differences_are_detected():
    current = ki.isolation_from_api(ki.isolation_to_api(desired_of(4, [A, B])))
    assert not ki.same_isolation(current, desired_of(5, [A, B]))
    assert not ki.same_isolation(current, desired_of(4, [A]))
    assert not ki.same_isolation(current, desired_of(4, [A, B, C]))
    changed_port = dict(B, remote_ports={"from": 53, "to": 54})
    assert not ki.same_isolation(current, desired_of(4, [A, changed_port]))
    assert not ki.same_isolation(current, desired_of(4, [A, dict(B, direction="inbound")]))
    assert not ki.same_isolation({}, desired_of(4, []))
    assert ki.same_isolation({}, {})
