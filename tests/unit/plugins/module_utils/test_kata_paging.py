# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host list paging in KataClient (issue 15): continuation_token, max_events, and the loop guards.

Against the real fake Central Node paging by a few hosts, and against a scripted HTTP layer for the
answers a broken server could give (a token repeated, a list that never ends).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import check_page_size, kata_settings
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import HttpClient
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import (
    DEFAULT_MAX_PAGES,
    KataClient,
    continuation_token,
)


@pytest.fixture
def make_client(kata_client_factory):
    return kata_client_factory


def sensor_pages(central_node):
    return central_node.log("GET", r"/sensors$")


# ---- against the paging fake ---------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["plain", "response"])
def test_every_page_is_read_over_one_connection(make_client, central_node, shape):
    central_node.reset(7)
    central_node.page_size = 3
    central_node.shape = shape
    sensors = make_client().list_sensors()
    assert [sensor["hostname"] for sensor in sensors] == ["WS-%03d.corp.example" % i for i in range(1, 8)]
    pages = sensor_pages(central_node)
    assert len(pages) == 3
    assert "continuation_token" not in pages[0]["query"]
    assert all("continuation_token" in page["query"] for page in pages[1:])
    assert all("max_events" not in page["query"] for page in pages)
    assert len(central_node.handshakes()) == 1 and len({page["conn"] for page in pages}) == 1


def test_page_size_is_sent_as_max_events_and_caps_the_page(make_client, central_node):
    central_node.reset(5)
    sensors = make_client(page_size=2).list_sensors_raw()
    assert len(sensors) == 5
    pages = sensor_pages(central_node)
    assert len(pages) == 3 and all(page["query"]["max_events"] == "2" for page in pages)


def test_the_filters_go_with_every_page(make_client, central_node):
    central_node.reset(6)
    for sensor in central_node.sensors:
        sensor["ip"] = "10.9.9.9"
    sensors = make_client(page_size=4).list_sensors(ip="10.9.9.9")
    assert len(sensors) == 6
    pages = sensor_pages(central_node)
    assert len(pages) == 2 and all(page["query"]["ip"] == "10.9.9.9" for page in pages)


def test_resolution_by_name_finds_a_host_on_a_later_page(make_client, central_node):
    central_node.reset(9)
    central_node.page_size = 2
    client = make_client()
    # The filter is applied by the server; the similar-hosts hint after a miss reads every page.
    with pytest.raises(ApiError) as info:
        client.resolve_sensor(hostname="WS-009")
    assert "WS-009.corp.example" in str(info.value)
    assert len(sensor_pages(central_node)) == 1 + 5


def test_paging_fake_stays_unpaged_without_page_size(make_client, central_node):
    central_node.reset(12)
    assert len(make_client().list_sensors()) == 12
    assert len(sensor_pages(central_node)) == 1


# ---- a scripted server ---------------------------------------------------------------------------
class ScriptedHttp(HttpClient):
    """HttpClient whose answers come from a list (or a function of the request's parameters)."""

    def __init__(self, answers):  # pylint: disable=super-init-not-called
        self.answers = answers
        self.calls = []
        self.where = "scripted"

    def request(self, method, path, params=None, **kwargs):
        self.calls.append((method, path, dict(params or {})))
        body = self.answers(params or {}) if callable(self.answers) else self.answers[len(self.calls) - 1]
        return FakeResponse(body)

    def close(self):
        pass


class FakeResponse:
    status_code = 200

    def __init__(self, body):
        self.content = json.dumps(body).encode("utf-8")
        self.text = self.content.decode("utf-8")
        self._body = body

    def json(self):
        return self._body


def scripted(answers, **kwargs):
    client = KataClient.__new__(KataClient)
    client.base_url = "https://kata.example/kata/response_api/v1/x/"
    client.page_size = check_page_size(kwargs.get("page_size"))
    client.max_pages = kwargs.get("max_pages", DEFAULT_MAX_PAGES)
    client.http = ScriptedHttp(answers)
    return client


def sensor(index):
    return {"sensorId": "id-%d" % index, "host": "h%d" % index}


@pytest.mark.parametrize("body,token", [
    ({"sensors": [], "continuation_token": "t"}, "t"),
    ({"response": {"sensors": [], "continuation_token": "t"}}, "t"),
    ({"response": {"sensors": []}, "continuation_token": "t"}, "t"),
    ({"sensors": [], "continuationToken": 7}, "7"),
    ({"sensors": [], "continuation_token": ""}, None),
    ({"sensors": [], "continuation_token": None}, None),
    ({"sensors": []}, None),
    ([], None),
])
def test_continuation_token_top_level_or_inside_response(body, token):
    assert continuation_token(body) == token


def test_pages_are_followed_until_an_answer_has_no_token():
    client = scripted([
        {"sensors": [sensor(1), sensor(2)], "continuation_token": "a"},
        {"response": {"sensors": [sensor(3)], "continuation_token": "b"}},
        {"sensors": [sensor(4)], "continuation_token": ""},
    ])
    assert [item["sensor_id"] for item in client.list_sensors(hostname="h")] == ["id-1", "id-2", "id-3", "id-4"]
    assert [call[2] for call in client.http.calls] == [
        {"host": "h"}, {"host": "h", "continuation_token": "a"}, {"host": "h", "continuation_token": "b"}]


def test_a_host_listed_on_two_pages_is_kept_once():
    client = scripted([
        {"sensors": [sensor(1), sensor(2)], "continuation_token": "a"},
        {"sensors": [dict(sensor(2), sensorId="ID-2"), sensor(3)]},
    ])
    assert [item["sensor_id"] for item in client.list_sensors()] == ["id-1", "id-2", "id-3"]


def test_a_repeated_token_fails_instead_of_looping():
    client = scripted(lambda params: {"sensors": [sensor(1)], "continuation_token": "same"})
    with pytest.raises(ApiError) as info:
        client.list_sensors()
    message = str(info.value)
    assert message.startswith("GET sensors: page 2 of the host list returned a continuation_token already followed")
    assert "same" in message and "\n" not in message
    assert len(client.http.calls) == 2


def test_a_repeated_earlier_token_fails_too():
    tokens = iter(["a", "b", "a"])
    client = scripted(lambda params: {"sensors": [], "continuation_token": next(tokens)})
    with pytest.raises(ApiError, match="page 3 .* already followed"):
        client.list_sensors()
    assert len(client.http.calls) == 3


def test_a_list_that_never_ends_stops_at_the_page_cap():
    counter = iter(range(10 ** 6))
    client = scripted(lambda params: {"sensors": [sensor(next(counter))],
                                      "continuation_token": "t%d" % len(client.http.calls)}, max_pages=5)
    with pytest.raises(ApiError) as info:
        client.list_sensors_raw()
    assert "more than 5 pages (5 hosts so far)" in str(info.value)
    assert str(info.value).startswith("GET sensors: ")
    assert len(client.http.calls) == 5


def test_the_default_page_cap_is_1000():
    counter = iter(range(10 ** 6))
    client = scripted(lambda params: {"sensors": [sensor(next(counter))],
                                      "continuation_token": "t%d" % len(client.http.calls)})
    with pytest.raises(ApiError, match="more than 1000 pages"):
        client.list_sensors()
    assert len(client.http.calls) == DEFAULT_MAX_PAGES == 1000


def test_max_events_and_filters_on_every_page_of_a_scripted_server():
    client = scripted([{"sensors": [sensor(1)], "continuation_token": "a"}, {"sensors": [sensor(2)]}], page_size=50)
    client.list_sensors(ip="10.0.0.1")
    assert [call[2] for call in client.http.calls] == [
        {"ip": "10.0.0.1", "max_events": 50}, {"ip": "10.0.0.1", "max_events": 50, "continuation_token": "a"}]


@pytest.mark.parametrize("value", [0, -1, 10001, "x", True, 2.5, ""])
def test_page_size_out_of_range_names_the_option(value):
    with pytest.raises(ConfigurationError, match=r"^page_size must be 1\.\.10000"):
        check_page_size(value)


@pytest.mark.parametrize("value,expected", [(None, None), (1, 1), (10000, 10000), ("250", 250)])
def test_page_size_accepted(value, expected):
    assert check_page_size(value) == expected


def test_kata_client_checks_page_size_and_max_pages_before_any_request(pki_paths):
    common = dict(kata_host="127.0.0.1", external_system_id="x", client_cert=pki_paths["client"],
                  client_key=pki_paths["client_key"])
    with pytest.raises(ConfigurationError, match="page_size"):
        KataClient(**kata_settings(dict(common, page_size=0)))
    with pytest.raises(ConfigurationError, match="max_pages"):
        KataClient(max_pages=0, **common)
    client = KataClient(max_pages=3, **kata_settings(dict(common, page_size=100)))
    assert (client.page_size, client.max_pages) == (100, 3)
    client.close()
