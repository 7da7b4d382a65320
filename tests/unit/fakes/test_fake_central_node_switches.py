# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fake Central Node's switches for what the documentation leaves open (issue 15).

Paging of ``GET sensors``, a refused ``GET settings?sensor_id=all``, an OS field per sensor and an
isolation DELETE that only marks the rule disabled. Talks to the fake with plain ``requests``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import pytest
import requests

from ansible_collections.kaspersky.edr.tests.fakes.central_node import LINUX_OS

ISOLATION = {"autoTurnoffTimeoutInSec": 7200, "excludedRules": []}


@pytest.fixture
def api(central_node, pki_paths):
    session = requests.Session()

    def call(method, path, **kwargs):
        return session.request(method, central_node.base_url + path, cert=(pki_paths["client"],
                               pki_paths["client_key"]), verify=pki_paths["ca"], timeout=10, **kwargs)

    yield call
    session.close()


def all_pages(api, params=None):
    params = dict(params or {})
    pages = []
    while True:
        response = api("GET", "sensors", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        token = body.get("continuation_token") or (body.get("response") or {}).get("continuation_token")
        if not token:
            return pages
        params["continuation_token"] = token


def hosts(pages):
    return [sensor["host"] for page in pages for sensor in (page.get("response") or page)["sensors"]]


def test_pages_by_page_size_with_an_opaque_token(api, central_node):
    central_node.reset(5)
    central_node.page_size = 2
    pages = all_pages(api)
    assert [len(page["sensors"]) for page in pages] == [2, 2, 1]
    assert "continuation_token" not in pages[-1]
    assert hosts(pages) == ["WS-%03d.corp.example" % i for i in range(1, 6)]


def test_the_token_is_inside_response_in_the_response_shape(api, central_node):
    central_node.reset(3)
    central_node.page_size = 2
    central_node.shape = "response"
    pages = all_pages(api)
    assert len(pages) == 2 and "continuation_token" in pages[0]["response"]
    assert hosts(pages) == ["WS-%03d.corp.example" % i for i in range(1, 4)]


def test_max_events_caps_the_page_size(api, central_node):
    central_node.reset(5)
    central_node.page_size = 4
    assert [len(page["sensors"]) for page in all_pages(api, {"max_events": 3})] == [3, 2]
    central_node.page_size = None
    assert [len(page["sensors"]) for page in all_pages(api, {"max_events": 2})] == [2, 2, 1]
    assert api("GET", "sensors", params={"max_events": "0"}).status_code == 400


def test_a_token_needs_the_same_filters(api, central_node):
    central_node.reset(4)
    for sensor in central_node.sensors:
        sensor["ip"] = "10.1.1.1"
    central_node.page_size = 1
    token = api("GET", "sensors", params={"ip": "10.1.1.1"}).json()["continuation_token"]
    other = api("GET", "sensors", params={"continuation_token": token})
    assert other.status_code == 400 and "other filters" in other.json()["message"]
    assert api("GET", "sensors", params={"continuation_token": "nope"}).status_code == 400
    assert len(hosts(all_pages(api, {"ip": "10.1.1.1"}))) == 4


def test_reset_restores_the_switches(central_node):
    central_node.page_size = 1
    central_node.refuse_all_get = 405
    central_node.isolation_delete_marker = {"enabled": False}
    central_node.reset(3)
    assert (central_node.page_size, central_node.refuse_all_get, central_node.isolation_delete_marker) == \
        (central_node.default_page_size, None, None)


@pytest.mark.parametrize("status", [400, 404, 405])
def test_refused_all_hosts_get_keeps_post_and_delete(api, central_node, status):
    central_node.refuse_all_get = status
    params = {"sensor_id": "all", "settings_type": "prevention"}
    refused = api("GET", "settings", params=params)
    assert refused.status_code == status and "POST and DELETE only" in refused.json()["message"]
    sha = "2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728"
    assert api("POST", "settings", params=params, json={"settings": {"objects": [{"file": {"sha256": sha}}]}}) \
        .status_code == 200
    assert central_node.get_prevention("all") == [{"file": {"sha256": sha}}]
    assert api("DELETE", "settings", params=params).status_code == 200
    assert central_node.get_prevention("all") == []
    sid = central_node.sensors[0]["sensorId"]
    assert api("GET", "settings", params={"sensor_id": sid, "settings_type": "prevention"}).status_code == 200


def test_linux_hosts_and_a_configurable_os_key(api, central_node):
    ids = central_node.seed_linux(1)
    assert ids == [central_node.sensors[2]["sensorId"]]
    listed = api("GET", "sensors").json()["sensors"]
    assert [sensor["os"] for sensor in listed] == ["Windows 10 Enterprise"] * 2 + [LINUX_OS]
    central_node.set_os_key("osName")
    listed = api("GET", "sensors").json()["sensors"]
    assert all("os" not in sensor for sensor in listed)
    assert listed[2]["osName"] == LINUX_OS and listed[0]["osName"] == "Windows 10 Enterprise"
    central_node.seed_os([ids[0]], "CentOS 7", key="platform")
    assert api("GET", "sensors").json()["sensors"][2]["platform"] == "CentOS 7"


@pytest.mark.parametrize("marker", [{"enabled": False}, {"state": "disabled"}, {"state": "expired"}])
def test_isolation_delete_can_keep_the_rule_marked(api, central_node, marker):
    sid = central_node.sensors[0]["sensorId"]
    params = {"sensor_id": sid, "settings_type": "network_isolation"}
    central_node.isolation_delete_marker = marker
    assert api("POST", "settings", params=params, json={"settings": ISOLATION}).status_code == 200
    assert api("DELETE", "settings", params=params).status_code == 200
    assert api("GET", "settings", params=params).json() == {"settings": dict(ISOLATION, **marker)}
    assert api("DELETE", "settings", params=params).status_code == 200
    assert central_node.get_isolation(sid) == dict(ISOLATION, **marker)
    # A new isolation replaces the marked rule.
    assert api("POST", "settings", params=params, json={"settings": ISOLATION}).status_code == 200
    assert central_node.get_isolation(sid) == ISOLATION


def test_isolation_delete_removes_the_rule_by_default(api, central_node):
    sid = central_node.sensors[0]["sensorId"]
    central_node.set_isolation(sid, ISOLATION)
    assert api("DELETE", "settings", params={"sensor_id": sid, "settings_type": "network_isolation"}) \
        .status_code == 200
    assert central_node.get_isolation(sid) is None


def test_switches_through_the_control_api(central_node, pki_paths):
    session = requests.Session()
    session.cert = (pki_paths["client"], pki_paths["client_key"])
    state = session.post(central_node.url + "/_fake/state", json={"page_size": 2, "refuse_all_get": 404},
                         verify=pki_paths["ca"], timeout=10).json()
    session.close()
    assert (state["page_size"], state["refuse_all_get"]) == (2, 404)
    assert (central_node.page_size, central_node.refuse_all_get) == (2, 404)


def test_page_before_filter_gives_a_filtered_lookup_empty_pages_first(api, central_node):
    central_node.reset(5)
    central_node.page_size = 2
    central_node.page_before_filter = True
    pages = all_pages(api, {"host": "WS-005.corp.example"})
    assert [len(page["sensors"]) for page in pages] == [0, 0, 1]
    assert hosts(pages) == ["WS-005.corp.example"]
    assert len(hosts(all_pages(api))) == 5
