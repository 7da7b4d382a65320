# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared HTTP layer against the real fake Central Node (real TLS, real sockets)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import warnings

import pytest
import urllib3

from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import (
    check_request_timeout,
    check_retries,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import HttpClient, parse_retry_after
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.tests.client_factory import client_factory
from ansible_collections.kaspersky.edr.tests.fakes.central_node import DEFAULT_EXTERNAL_SYSTEM_ID
from ansible_collections.kaspersky.edr.tests.fakes.pki import CLIENT_KEY_PASSPHRASE

SENSORS = "sensors"


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_client(central_node, pki_paths, sleeps):
    with client_factory(functools.partial(HttpClient, central_node.base_url), ca_path=pki_paths["ca"],
                        client_cert=pki_paths["client"], client_key=pki_paths["client_key"], timeout=5, retries=3,
                        sleep=sleeps.append) as make:
        yield make


def test_get_with_mutual_tls(make_client, central_node):
    response = make_client().request("GET", SENSORS)
    assert len(response.json()["sensors"]) == 3
    assert central_node.handshakes()[0]["peer"] == "ansible-external-system"


def test_keep_alive_one_handshake_for_many_requests(make_client, central_node):
    client = make_client()
    for _index in range(5):
        client.request("GET", SENSORS)
    assert len(central_node.log("GET")) == 5
    assert len(central_node.handshakes()) == 1
    assert len({entry["conn"] for entry in central_node.log()}) == 1


def test_key_inside_certificate_file(make_client, pki_paths):
    assert make_client(client_cert=pki_paths["client_combined"], client_key=None).request("GET", SENSORS).ok


def test_encrypted_key_with_passphrase(make_client, pki_paths):
    client = make_client(client_key=pki_paths["client_key_encrypted"], client_key_passphrase=CLIENT_KEY_PASSPHRASE)
    assert client.request("GET", SENSORS).ok


def test_encrypted_key_wrong_passphrase_fails_before_any_request(make_client, pki_paths, central_node):
    with pytest.raises(ConfigurationError) as info:
        make_client(client_key=pki_paths["client_key_encrypted"], client_key_passphrase="wrong")
    assert "client_key_passphrase" in str(info.value)
    assert "wrong" not in str(info.value)
    assert central_node.log() == [] and central_node.connections == []


def test_encrypted_key_without_passphrase_does_not_prompt(make_client, pki_paths):
    with pytest.raises(ConfigurationError) as info:
        make_client(client_key=pki_paths["client_key_encrypted"])
    assert "client_key_passphrase" in str(info.value)


def test_ca_path_wins_over_requests_ca_bundle(make_client, monkeypatch, pki_paths):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki_paths["other_ca"])
    monkeypatch.setenv("CURL_CA_BUNDLE", pki_paths["other_ca"])
    assert make_client().request("GET", SENSORS).ok


def test_retries_503_twice_then_succeeds(make_client, central_node, sleeps):
    central_node.add_fault(method="GET", path="sensors", status=503, times=2)
    assert make_client().request("GET", SENSORS).ok
    assert [entry["status"] for entry in central_node.log()] == [503, 503, 200]
    assert sleeps == [0.5, 1.0]


def test_gives_up_after_retries_with_last_error(make_client, central_node, sleeps):
    central_node.add_fault(method="GET", path="sensors", status=502, times=None,
                           body={"message": "upstream down"})
    with pytest.raises(ApiError) as info:
        make_client(retries=2).request("GET", SENSORS)
    assert len(central_node.log()) == 3
    assert info.value.status == 502
    assert "HTTP 502" in str(info.value) and "upstream down" in str(info.value)
    assert "after 3 attempts" in str(info.value)


def test_retry_after_is_honoured_and_bounded(make_client, central_node, sleeps):
    central_node.add_fault(method="GET", path="sensors", status=429, retry_after=1, times=1)
    central_node.add_fault(method="GET", path="sensors", status=429, retry_after=3600, times=1)
    assert make_client().request("GET", SENSORS).ok
    assert sleeps == [1.0, 60.0]


def test_connection_dropped_before_response_is_retried_for_get(make_client, central_node):
    central_node.add_fault(method="GET", path="sensors", action="drop_before", times=1)
    assert make_client().request("GET", SENSORS).ok
    assert len(central_node.handshakes()) == 2


def test_non_idempotent_post_not_retried_on_502(make_client, central_node):
    central_node.add_fault(method="POST", status=502, times=1)
    with pytest.raises(ApiError):
        make_client().request("POST", "tasks/x", json_body={}, idempotent=False)
    assert len(central_node.log("POST")) == 1


def test_non_idempotent_post_retried_on_503(make_client, central_node):
    central_node.add_fault(method="POST", path="settings", status=503, times=1)
    client = make_client()
    client.request("POST", "settings", params={"sensor_id": central_node.sensors[0]["sensorId"],
                                               "settings_type": "prevention"},
                   json_body={"settings": {"objects": []}}, idempotent=False)
    assert [entry["status"] for entry in central_node.log("POST")] == [503, 200]


def test_non_idempotent_post_not_retried_after_drop_after_send(make_client, central_node):
    central_node.add_fault(method="POST", action="drop_after", times=1)
    with pytest.raises(ApiError) as info:
        make_client().request("POST", "settings", params={"sensor_id": "all", "settings_type": "prevention"},
                              json_body={"settings": {"objects": []}}, idempotent=False)
    assert len(central_node.log("POST")) == 1
    assert "Connection to" in str(info.value)


def test_api_error_message_names_status_message_method_and_path(make_client, central_node):
    with pytest.raises(ApiError) as info:
        make_client().request("GET", "settings", params={"sensor_id": "nope", "settings_type": "prevention"})
    text = str(info.value)
    assert text.startswith("GET settings?sensor_id=nope&settings_type=prevention: HTTP 404")
    assert "Specified host not found" in text
    assert DEFAULT_EXTERNAL_SYSTEM_ID not in text


def test_wrong_client_certificate_is_named(make_client, pki_paths):
    client = make_client(client_cert=pki_paths["other_client"], client_key=pki_paths["other_client_key"])
    with pytest.raises(ApiError) as info:
        client.request("GET", SENSORS)
    assert "rejected the client certificate" in str(info.value)


def test_untrusted_server_certificate_is_named(make_client, pki_paths):
    with pytest.raises(ApiError) as info:
        make_client(ca_path=pki_paths["other_ca"]).request("GET", SENSORS)
    assert "could not be verified" in str(info.value) and "ca_path" in str(info.value)


def test_validate_certs_false_warns(make_client, pki_paths):
    warnings = []
    client = make_client(validate_certs=False, ca_path=None, warn=warnings.append)
    assert client.request("GET", SENSORS).ok
    assert warnings and "not verified" in warnings[0]


def test_timeout_is_named(make_client, central_node):
    central_node.add_fault(method="GET", path="sensors", delay=2, times=None)
    with pytest.raises(ApiError) as info:
        make_client(timeout=0.5, retries=0).request("GET", SENSORS)
    assert "request_timeout" in str(info.value)


def test_connection_refused_is_named(pki_paths, sleeps):
    client = HttpClient("https://127.0.0.1:9/", ca_path=pki_paths["ca"], client_cert=pki_paths["client"],
                        client_key=pki_paths["client_key"], retries=1, sleep=sleeps.append)
    with pytest.raises(ApiError) as info:
        client.request("GET", SENSORS)
    assert "connection refused" in str(info.value)
    assert len(sleeps) == 1


@pytest.mark.parametrize("option,value,expected", [
    ("ca_path", "/nonexistent/ca.pem", "ca_path"),
    ("client_cert", "/nonexistent/client.pem", "client_cert"),
])
def test_bad_configuration_fails_before_requests(make_client, option, value, expected):
    with pytest.raises(ConfigurationError) as info:
        make_client(**{option: value})
    assert expected in str(info.value)


# request_timeout and retries are checked with the other connection options (connection_options), before the
# client that gets them is built.
@pytest.mark.parametrize("check,value,expected", [
    (check_request_timeout, 0, "request_timeout"),
    (check_retries, -1, "retries"),
])
def test_bad_timeout_or_retries_fail_before_a_client_is_built(check, value, expected):
    with pytest.raises(ConfigurationError) as info:
        check(value)
    assert expected in str(info.value)


def test_validate_certs_false_leaves_the_process_warning_filters_alone(make_client, central_node, pki_paths):
    """The InsecureRequestWarning is left out for the client's own pool only (the module warns once, readably):
    the inventory and action plugins run in the controller process, where other code keeps its warnings."""
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert make_client(validate_certs=False, ca_path=None, warn=lambda text: None).request("GET", SENSORS).ok
    assert [item for item in caught if issubclass(item.category, urllib3.exceptions.InsecureRequestWarning)] == []
    assert warnings.filters == filters
    # Any other unverified urllib3 pool of the process still warns.
    other = urllib3.HTTPSConnectionPool("127.0.0.1", central_node.port, cert_reqs="CERT_NONE",
                                        cert_file=pki_paths["client"], key_file=pki_paths["client_key"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        other.request("GET", "/kata/response_api/v1/%s/sensors" % DEFAULT_EXTERNAL_SYSTEM_ID)
    other.close()
    assert [item for item in caught if issubclass(item.category, urllib3.exceptions.InsecureRequestWarning)]


@pytest.mark.parametrize("header,expected", [
    ("1", 1.0), ("0", 0.0), ("2.5", 2.5), (None, None), ("", None), ("soon", None),
    ("Thu, 01 Jan 1970 00:00:10 GMT", 5.0),
])
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, now=5.0) == expected
