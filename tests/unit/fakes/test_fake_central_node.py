# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fake Central Node itself: mutual TLS and the documented errors.

Its command line is tested in tests/e2e/test_fake_servers_cli.py (a subprocess).

Talks to it with plain ``requests``/``ssl``, not with the collection's client, so a bug in the
client cannot hide a bug in the fake the client is tested against.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl

import pytest
import requests

from ansible_collections.kaspersky.edr.tests.fakes.central_node import BASE_PREFIX, DEFAULT_EXTERNAL_SYSTEM_ID

MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA = "2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728"


@pytest.fixture
def api(central_node, pki_paths):
    session = requests.Session()
    base = central_node.base_url

    def call(method, path, external_id=None, **kwargs):
        url = base + path if external_id is None else base.replace(DEFAULT_EXTERNAL_SYSTEM_ID, external_id) + path
        return session.request(method, url, cert=(pki_paths["client"], pki_paths["client_key"]),
                               verify=pki_paths["ca"], timeout=10, **kwargs)

    yield call
    session.close()


def settings(sensor_id, kind="prevention"):
    return {"sensor_id": sensor_id, "settings_type": kind}


def test_a_handshake_without_a_client_certificate_fails(central_node, pki_paths):
    context = ssl.create_default_context(cafile=pki_paths["ca"])
    with socket.create_connection(("127.0.0.1", central_node.port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                # TLS 1.3 reports the missing certificate on the first read.
                tls.sendall(("GET %s%s/sensors HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                             % (BASE_PREFIX, DEFAULT_EXTERNAL_SYSTEM_ID)).encode())
                if not tls.recv(1024):
                    raise ConnectionError("closed without an answer")
    assert central_node.log() == []


def test_unknown_external_system_is_401_and_unknown_sensor_404(api, central_node):
    answer = api("GET", "sensors", external_id="not-registered")
    assert answer.status_code == 401 and "unknown external system" in answer.json()["message"]
    answer = api("GET", "settings", params=settings("0badc0de-0000-0000-0000-000000000000"))
    assert answer.status_code == 404 and "Specified host not found" in answer.json()["message"]


def test_sensor_filters_and_case_sensitive_host(api, central_node):
    second = central_node.sensors[1]
    assert api("GET", "sensors", params={"host": second["host"]}).json()["sensors"] == [second]
    assert api("GET", "sensors", params={"host": second["host"].lower()}).json()["sensors"] == []
    assert api("GET", "sensors", params={"ip": second["ip"]}).json()["sensors"] == [second]
    assert api("GET", "sensors", params={"sensor_id": second["sensorId"].swapcase()}).json()["sensors"] == [second]
    assert api("GET", "sensors", params={"os": "x"}).status_code == 400


@pytest.mark.parametrize("body, fragment", [
    ({"settings": {"autoTurnoffTimeoutInSec": 24}}, "between 3600 and 35996400"),
    ({"settings": {"autoTurnoffTimeoutInSec": 35996401}}, "between 3600 and 35996400"),
    ({"settings": {"autoTurnoffTimeoutInSec": 3600, "excludedRules": [
        {"direction": "both", "localPortRange": {"fromPort": 80, "toPort": 80}}]}}, "bidirectional traffic"),
    ({"settings": {"autoTurnoffTimeoutInSec": 3600, "excludedRules": [{"remoteIpv4Address": "::1"}]}},
     "not an IPv4 address"),
])
def test_bad_isolation_bodies_are_400(api, central_node, body, fragment):
    sid = central_node.sensors[0]["sensorId"]
    answer = api("POST", "settings", params=settings(sid, "network_isolation"), json=body)
    assert answer.status_code == 400 and fragment in answer.json()["message"]
    assert central_node.get_isolation(sid) is None


@pytest.mark.parametrize("objects", [
    [{"file": {"md5": MD5[:-1]}}], [{"file": {"sha256": "z" * 64}}], [{"file": {"md5": MD5, "sha256": SHA}}],
])
def test_malformed_hashes_are_400(api, central_node, objects):
    sid = central_node.sensors[0]["sensorId"]
    answer = api("POST", "settings", params=settings(sid), json={"settings": {"objects": objects}})
    assert answer.status_code == 400 and "Incorrect parameters" in answer.json()["message"]


def test_a_prevention_post_replaces_the_whole_list_and_delete_clears_it(api, central_node):
    sid = central_node.sensors[0]["sensorId"]
    central_node.set_prevention(sid, [{"file": {"sha256": SHA, "name": "from the UI"}}])
    assert api("POST", "settings", params=settings(sid), json={"settings": {"objects": [
        {"file": {"md5": MD5}}]}}).status_code == 200
    assert api("GET", "settings", params=settings(sid)).json() == {"settings": {"objects": [{"file": {"md5": MD5}}]}}
    assert api("DELETE", "settings", params=settings(sid)).status_code == 200
    assert central_node.get_prevention(sid) == []


def test_conflicts_name_the_hosts_and_only_the_first_file(api, central_node):
    first, second = central_node.sensors[0], central_node.sensors[1]
    central_node.set_prevention(first["sensorId"], [{"file": {"md5": MD5}}, {"file": {"sha256": SHA}}])
    central_node.set_prevention(second["sensorId"], [{"file": {"md5": MD5}}])
    answer = api("POST", "settings", params=settings("all"), json={"settings": {"objects": [
        {"file": {"md5": MD5}}, {"file": {"sha256": SHA}}]}})
    message = answer.json()["message"]
    assert answer.status_code == 400
    assert message.startswith("Prevention rule for file %s already exists and is applied to: " % MD5)
    assert first["host"] in message and second["host"] in message
    assert SHA not in message  # only the first conflicting file, as the real server does
    central_node.set_prevention("all", [{"file": {"sha256": SHA}}])
    answer = api("POST", "settings", params=settings(central_node.sensors[2]["sensorId"]),
                 json={"settings": {"objects": [{"file": {"sha256": SHA}}]}})
    assert answer.status_code == 400 and answer.json()["message"].endswith("is applied to: all hosts")
