# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every sensor-listing path against a fake Central Node that pages GET sensors by 100 (issue 15).

250 sensors, so an unfiltered list is three pages (100, 100, 50). With ``page_before_filter`` the fake
pages the whole list and filters each page, as a server that scans ``max_events`` hosts per request
would: a lookup of host 250 then gets two empty pages before the one that has it. Resolution by name
and IP (single mode of kata_isolation and kata_prevention), fleet ``sensor_filter`` and ``sensors`` by
host name or IP, kata_sensor_info and the inventory plugin must all see the hosts beyond page 1; the
number of ``GET sensors`` pages is asserted from the fake's log.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.kaspersky.edr.tests.inprocess import run_module

SENSORS = 250
PAGE = 100
SHA = "2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728"


@pytest.fixture
def paging(central_node):
    central_node.reset(SENSORS)
    central_node.page_size = PAGE
    return central_node


@pytest.fixture
def connection(kata_env):
    return dict(kata_host=kata_env["KATA_HOST"], kata_port=int(kata_env["KATA_PORT"]),
                external_system_id=kata_env["KATA_EXTERNAL_SYSTEM_ID"], client_cert=kata_env["KATA_CLIENT_CERT"],
                client_key=kata_env["KATA_CLIENT_KEY"], ca_path=kata_env["KATA_CA_PATH"], request_timeout=15)


def pages(fake):
    """The GET sensors requests of the run, as their query dicts."""
    return [entry["query"] for entry in fake.log("GET", r"/sensors$")]


def last(fake, index=-1):
    return fake.sensors[index]


def one_connection(fake):
    """Every page over one kept-alive connection."""
    assert len({entry["conn"] for entry in fake.log("GET", r"/sensors$")}) == 1


@pytest.mark.parametrize("before_filter,expected_pages", [(False, 1), (True, 3)])
@pytest.mark.parametrize("selector", ["sensor_hostname", "sensor_ip"])
def test_isolation_single_mode_resolves_a_host_beyond_page_one(paging, connection, selector, before_filter,
                                                               expected_pages):
    paging.page_before_filter = before_filter
    target = last(paging)
    value = target["host"] if selector == "sensor_hostname" else target["ip"]
    run = run_module("kata_isolation", dict(connection, state="absent", **{selector: value}), check=True)
    assert not run.failed, run
    assert run.result["sensor_id"] == target["sensorId"]
    queried = pages(paging)
    assert len(queried) == expected_pages
    assert queried[1:] == [dict(queried[0], continuation_token=query["continuation_token"]) for query in queried[1:]]
    one_connection(paging)


@pytest.mark.parametrize("selector", ["sensor_hostname", "sensor_ip"])
def test_prevention_single_mode_resolves_a_host_beyond_page_one(paging, connection, selector):
    paging.page_before_filter = True
    target = last(paging, 200)   # the first host of page 3
    value = target["host"] if selector == "sensor_hostname" else target["ip"]
    run = run_module("kata_prevention", dict(connection, hashes=[SHA], **{selector: value}), check=True)
    assert not run.failed, run
    assert run.result["changed"] is True and run.result["sensor_id"] == target["sensorId"]
    assert len(pages(paging)) == 3
    assert paging.writes() == []


def test_a_name_that_no_page_has_is_not_found_after_every_page(paging, connection):
    paging.page_before_filter = True
    run = run_module("kata_isolation", dict(connection, state="absent", sensor_hostname="WS-999.corp.example"),
                     check=True)
    assert run.failed and "No Endpoint Agent host matches sensor_hostname=WS-999.corp.example" in run.msg
    # The lookup reads 3 pages of the filtered list, the similar-hosts hint 3 pages of the whole list.
    assert len(pages(paging)) == 6


def test_fleet_sensor_filter_all_reads_every_page(paging, connection):
    paging.set_isolation(last(paging)["sensorId"], {"autoTurnoffTimeoutInSec": 3600, "excludedRules": []})
    run = run_module("kata_isolation", dict(connection, state="absent", sensor_filter={}, parallelism=8),
                     check=True)
    assert not run.failed, run
    assert run.result["summary"]["total"] == SENSORS
    assert run.result["summary"]["changed"] == 1
    changed = [item for item in run.result["sensor_results"] if item["changed"]]
    assert changed[0]["sensor_id"] == last(paging)["sensorId"]
    assert len(pages(paging)) == 3
    assert len(paging.log("GET", r"/settings$")) == SENSORS
    assert paging.writes() == []


def test_fleet_sensor_filter_by_hostname_beyond_page_one(paging, connection):
    paging.page_before_filter = True
    target = last(paging, 150)
    run = run_module("kata_prevention", dict(connection, hashes=[SHA], sensor_filter={"hostname": target["host"]}),
                     check=True)
    assert not run.failed, run
    assert [item["sensor_id"] for item in run.result["sensor_results"]] == [target["sensorId"]]
    queried = pages(paging)
    assert len(queried) == 3 and all(query["host"] == target["host"] for query in queried)


def test_fleet_sensors_by_hostname_and_ip_one_listing_for_the_run(paging, connection):
    wanted = [last(paging, 5), last(paging, 120), last(paging, 249)]
    entries = [{"sensor_hostname": wanted[0]["host"]}, {"sensor_ip": wanted[1]["ip"]},
               {"sensor_hostname": wanted[2]["host"]}]
    run = run_module("kata_prevention", dict(connection, hashes=[SHA], sensors=entries), check=True)
    assert not run.failed, run
    assert [item["sensor_id"] for item in run.result["sensor_results"]] == [item["sensorId"] for item in wanted]
    queried = pages(paging)
    assert len(queried) == 3 and "max_events" not in queried[0]
    one_connection(paging)
    assert len(paging.handshakes()) <= 3   # the fleet's workers share the pool


def test_sensor_info_lists_every_page(paging, connection):
    run = run_module("kata_sensor_info", connection)
    assert not run.failed, run
    assert run.result["count"] == SENSORS
    assert [sensor["sensor_id"] for sensor in run.result["sensors"]] == [s["sensorId"] for s in paging.sensors]
    assert len(pages(paging)) == 3
    one_connection(paging)
    assert len(paging.handshakes()) == 1


def test_sensor_info_page_size_is_sent_as_max_events(paging, connection):
    run = run_module("kata_sensor_info", dict(connection, page_size=60))
    assert not run.failed, run
    assert run.result["count"] == SENSORS
    queried = pages(paging)
    assert len(queried) == 5 and all(query["max_events"] == "60" for query in queried)


@pytest.mark.parametrize("value", [0, 10001])
def test_page_size_out_of_range_fails_before_any_request(paging, connection, value):
    run = run_module("kata_sensor_info", dict(connection, page_size=value))
    assert run.failed and run.msg.startswith("page_size must be 1..10000"), run
    assert paging.log() == []


def test_a_server_repeating_its_token_fails_with_one_line(paging, connection):
    # Every answer of GET sensors carries the same token: the second page repeats it.
    paging.add_fault(method="GET", path=r"/sensors", status=200, times=None,
                     body={"sensors": [paging.sensors[0]], "continuation_token": "again"})
    run = run_module("kata_sensor_info", connection)
    assert run.failed and "continuation_token already followed" in run.msg and "\n" not in run.msg, run
    assert len(pages(paging)) == 2


# ---- the inventory plugin -------------------------------------------------------------------------
def inventory(ansible_env, kata_env, tmp_path, **options):
    path = tmp_path / "paging.kata_sensors.yml"
    path.write_text(yaml.safe_dump(dict({"plugin": "kaspersky.edr.kata_sensors"}, **options)))
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(path), "--list"]
    proc = subprocess.run(command, env=dict(ansible_env, **kata_env), capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0 and "Failed to parse" not in proc.stderr, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_inventory_lists_every_page(paging, ansible_env, kata_env, tmp_path):
    data = inventory(ansible_env, kata_env, tmp_path)
    hosts = data["_meta"]["hostvars"]
    assert len(hosts) == SENSORS
    assert last(paging)["host"] in hosts
    assert len(pages(paging)) == 3
    one_connection(paging)


def test_inventory_page_size_option(paging, ansible_env, kata_env, tmp_path):
    data = inventory(ansible_env, kata_env, tmp_path, page_size=120)
    assert len(data["_meta"]["hostvars"]) == SENSORS
    queried = pages(paging)
    assert len(queried) == 3 and all(query["max_events"] == "120" for query in queried)
