# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KSC OpenAPI client (module_utils/ksc.py, ksc_protocol.py) against the fake KSC over real HTTPS."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import ksc_settings
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc import (
    HostNotFound,
    KscAuthError,
    KscClient,
    hostname_filter,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_protocol import (
    KscError,
    filter_string,
    param_datetime,
    unwrap_value,
)
from ansible_collections.kaspersky.edr.tests.fakes.ksc_server import DEFAULT_PASSWORD, DEFAULT_USER, make_host
from ansible_collections.kaspersky.edr.tests.ksc_fixtures import param_binary, param_long, param_params


# ---- pure helpers ---------------------------------------------------------------------------
def test_typed_values():
    assert param_long(5) == {"type": "long", "value": 5}
    with pytest.raises(TypeError):
        param_long(True)
    moment = datetime.datetime(2026, 1, 15, 9, 30, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=3)))
    assert param_datetime(moment) == {"type": "datetime", "value": "2026-01-15T06:30:05Z"}
    assert param_datetime("2026-01-15T06:30:05Z")["value"] == "2026-01-15T06:30:05Z"
    with pytest.raises(ValueError):
        param_datetime("15.01.2026")
    assert param_binary(b"\x00\x01") == {"type": "binary", "value": "AAE="}
    assert param_params({"a": 1}) == {"type": "params", "value": {"a": 1}}
    wire = {"a": {"type": "long", "value": 7}, "b": [{"type": "params", "value": {"c": {"type": "binary", "value": "AAE="}}}],
            "d": {"type": "datetime", "value": "2026-01-15T06:30:05Z"}, "e": {"plain": "dict"}}
    assert unwrap_value(wire) == {"a": 7, "b": [{"c": b"\x00\x01"}], "d": "2026-01-15T06:30:05Z", "e": {"plain": "dict"}}


@pytest.mark.parametrize("value,expected", [
    ("WS-001", '"WS-001"'),
    ('Lab "QA"', '"Lab ""QA"""'),
    ("a*b?c[d]", '"a[*]b[?]c[[]d]"'),
    ("50%_off", '"50[%][_]off"'),
])
def test_filter_strings_are_escaped(value, expected):
    assert filter_string(value) == expected


def test_hostname_filter_covers_display_dns_and_fqdn():
    assert hostname_filter("WS-1") == '(|(KLHST_WKS_DN="WS-1")(KLHST_WKS_DNSNAME="WS-1"))'
    assert hostname_filter("ws-1.corp.example") == (
        '(|(KLHST_WKS_DN="ws-1.corp.example")(KLHST_WKS_DNSNAME="ws-1.corp.example")'
        '(&(KLHST_WKS_DNSNAME="ws-1")(KLHST_WKS_DNSDOMAIN="corp.example")))')


def test_configuration_is_checked_before_anything_is_sent():
    with pytest.raises(ConfigurationError, match="ksc_host"):
        KscClient(**ksc_settings(dict(ksc_host="https://ksc.example.com", ksc_username="u", ksc_password="p")))
    with pytest.raises(ConfigurationError, match="ksc_password"):
        KscClient(**ksc_settings(dict(ksc_host="ksc.example.com", ksc_username="u", ksc_password="")))
    with pytest.raises(ConfigurationError, match="ksc_port"):
        KscClient(**ksc_settings(dict(ksc_host="ksc.example.com", ksc_username="u", ksc_password="p",
                                      ksc_port=70000)))


# ---- login ----------------------------------------------------------------------------------
def test_login_sends_kscbasic_and_vserver_like_klakoapi(ksc, ksc_client, monkeypatch):
    client = ksc_client()
    sent = []
    original = client.http.transport.send

    def spy(method, url, body=None, headers=None):
        sent.append((method, url, dict(headers or {}), body))
        return original(method, url, body, headers)

    monkeypatch.setattr(client.http.transport, "send", spy)
    client.login()
    method, url, headers, data = sent[0]
    assert (method, url) == ("POST", "https://127.0.0.1:%d/api/v1.0/login" % ksc.port)
    assert headers["Authorization"] == 'KSCBasic user="%s", pass="%s", domain="", internal="0"' % (
        base64.b64encode(DEFAULT_USER.encode()).decode(), base64.b64encode(DEFAULT_PASSWORD.encode()).decode())
    assert headers["X-KSC-VServer"] == ""
    assert json.loads(data) == {}
    assert ksc.logins[-1]["ok"] is True
    # Later calls carry no credentials: the session is the connection.
    client.call("HostGroup.FindHosts", {"wstrFilter": "", "vecFieldsToReturn": ["KLHST_WKS_DN"],
                                        "lMaxLifeTime": 60})
    assert "Authorization" not in sent[-1][2]


def test_domain_internal_user_and_virtual_server(ksc, ksc_client):
    client = ksc_client(ksc_username="jdoe", ksc_password="Domain-Passw0rd!", ksc_domain="corp")
    client.login()
    assert ksc.logins[-1] == dict(ksc.logins[-1], user="jdoe", domain="corp", internal=False, ok=True)
    internal = ksc_client(ksc_username="edr-internal", ksc_password="Internal-Passw0rd!", ksc_internal_user=True)
    internal.login()
    assert ksc.logins[-1]["internal"] is True and ksc.logins[-1]["ok"] is True
    branch = ksc_client(ksc_vserver="Branch-VS")
    assert branch.resolve_host(hostname="VS-WS-001")["KLHST_WKS_DN"] == "VS-WS-001"
    with pytest.raises(HostNotFound, match="virtual server Branch-VS"):
        branch.resolve_host(hostname="WS-001")
    main = ksc_client()
    with pytest.raises(HostNotFound):
        main.resolve_host(hostname="VS-WS-001")  # KLGRP_FIND_FROM_CUR_VS_ONLY


@pytest.mark.parametrize("overrides", [
    {"ksc_password": "wrong"},
    {"ksc_username": "nobody"},
    {"ksc_internal_user": True},
    {"ksc_username": "jdoe", "ksc_password": "Domain-Passw0rd!", "ksc_domain": "OTHER"},
    {"ksc_vserver": "No-Such-VS"},
])
def test_bad_credentials_give_one_clear_line_without_the_password(ksc, ksc_client, overrides):
    client = ksc_client(**overrides)
    with pytest.raises(KscAuthError) as info:
        client.login()
    message = str(info.value)
    user = overrides.get("ksc_username", DEFAULT_USER)
    assert message.startswith("KSC login: authentication failed for user %s on host 127.0.0.1:%d" % (user, ksc.port))
    assert "\n" not in message
    password = overrides.get("ksc_password", DEFAULT_PASSWORD)
    assert password not in message and base64.b64encode(password.encode()).decode() not in message
    assert info.value.status == 401
    assert [entry["path"] for entry in ksc.log()] == ["/api/v1.0/login"]


def test_first_call_logs_in_by_itself(ksc, ksc_client):
    client = ksc_client()
    client.resolve_host(hostname="WS-001")
    assert ksc.calls()[0]["path"] == "/api/v1.0/login"
    assert len(ksc.calls("login")) == 1
    assert len(ksc.handshakes()) == 1


# ---- calls and errors -----------------------------------------------------------------------
def test_call_returns_retval_and_out_params(ksc, ksc_client):
    client = ksc_client()
    retval, out = client.call("HostGroup.FindHosts", {"wstrFilter": '(KLHST_WKS_DN="WS-00*")',
                                                      "vecFieldsToReturn": ["KLHST_WKS_DN"], "lMaxLifeTime": 60})
    assert retval == 3 and isinstance(out["strAccessor"], str) and "PxgRetVal" not in out
    client.release(out["strAccessor"])


@pytest.mark.parametrize("status", [500, 200, 400])
def test_pxg_error_becomes_a_clear_error_whatever_the_http_status(ksc, ksc_client, status):
    ksc.error_status = status
    client = ksc_client()
    with pytest.raises(KscError) as info:
        client.call("HostGroup.FindHosts", {"wstrFilter": "(KLHST_WKS_NOPE=1)", "vecFieldsToReturn": [],
                                            "lMaxLifeTime": 60})
    message = str(info.value)
    assert message.startswith("POST HostGroup.FindHosts: HTTP %d" % status)
    assert "KSC error 1950 (KLSTD)" in message and "KLHST_WKS_NOPE" in message
    assert info.value.pxg["code"] == 1950
    assert info.value.to_dict()["pxg_error"]["code"] == 1950


def test_unknown_method_and_bad_parameters(ksc, ksc_client):
    client = ksc_client()
    with pytest.raises(KscError, match="Method 'HostGroup.Nope' not found"):
        client.call("HostGroup.Nope")
    with pytest.raises(KscError, match="unexpected parameter"):
        client.call("HostGroup.FindIncidents", {"wstrFilter": "", "pFieldsToReturn": [], "lMaxLifeTime": 1})
    with pytest.raises(KscError, match="host 'no-such-host' not found"):
        client.add_incident("no-such-host", "{}", 2)


def test_a_lost_session_is_renewed_once(ksc, ksc_client):
    """The session lives on the TCP connection: a new connection answers 401 until login."""
    client = ksc_client()
    client.login()
    ksc.sessions.clear()  # e.g. the server restarted or closed the idle keep-alive connection
    host = client.resolve_host(hostname="WS-002")
    assert host["KLHST_WKS_DN"] == "WS-002"
    assert len(ksc.calls("login")) == 2


def test_a_dropped_connection_is_retried_on_a_new_logged_in_connection(ksc, ksc_client):
    client = ksc_client()
    client.login()
    ksc.add_fault(method="POST", path=r"/HostGroup\.FindHosts$", action="drop_before", times=1)
    assert client.resolve_host(hostname="WS-003")["KLHST_WKS_DN"] == "WS-003"
    assert len(ksc.handshakes()) == 2
    assert len(ksc.calls("login")) == 2
    assert ksc.open_accessors() == []


def test_add_incident_is_never_repeated_blindly(ksc, ksc_client):
    client = ksc_client()
    host = ksc.host_by_dn("WS-001")["KLHST_WKS_HOSTNAME"]
    client.login()
    ksc.add_fault(method="POST", path=r"/HostGroup\.AddIncident$", status=502, times=1)
    with pytest.raises(ApiError, match="HTTP 502"):
        client.add_incident(host, "{}", 2)
    assert len(ksc.calls("HostGroup.AddIncident")) == 1
    ksc.add_fault(method="POST", path=r"/HostGroup\.AddIncident$", action="drop_after", times=1)
    with pytest.raises(ApiError) as info:
        client.add_incident(host, "{}", 2)
    assert info.value.status is None
    assert len(ksc.calls("HostGroup.AddIncident")) == 2
    assert len(ksc.incidents) == 1  # processed once before the connection dropped, never repeated


def test_add_incident_is_repeated_when_the_server_says_it_did_not_process_it(ksc, ksc_client):
    client = ksc_client()
    host = ksc.host_by_dn("WS-001")["KLHST_WKS_HOSTNAME"]
    ksc.add_fault(method="POST", path=r"/HostGroup\.AddIncident$", status=503, retry_after=0, times=1)
    incident_id = client.add_incident(host, "{}", 2)
    assert len(ksc.calls("HostGroup.AddIncident")) == 2
    assert [incident["KLINCDT_ID"] for incident in ksc.incidents] == [incident_id]


def test_read_calls_are_retried_on_gateway_errors(ksc, ksc_client):
    client = ksc_client()
    ksc.add_fault(method="POST", path=r"/ChunkAccessor\.GetItemsChunk$", status=504, times=1)
    assert client.resolve_host(hostname="WS-001")["KLHST_WKS_DN"] == "WS-001"
    assert len(ksc.calls("ChunkAccessor.GetItemsChunk")) == 2


def test_garbled_answer_is_reported(ksc, ksc_client):
    client = ksc_client(retries=0)
    client.login()
    ksc.add_fault(method="POST", path=r"/HostGroup\.FindHosts$", action="garbage", times=1)
    with pytest.raises(ApiError, match="not JSON"):
        client.resolve_host(hostname="WS-001")


# ---- result sets ----------------------------------------------------------------------------
def test_result_sets_are_read_in_chunks_and_released(ksc, ksc_client):
    ksc.reset(hosts=[make_host(index, "PC-%04d" % index, "pc-%04d" % index, "corp.example")
                     for index in range(1, 251)])
    client = ksc_client()
    total, hosts = client.find_hosts('(KLHST_WKS_DN="PC-*")')
    assert total == 250 and len(hosts) == 250
    assert [host["KLHST_WKS_DN"] for host in hosts[:2]] == ["PC-0001", "PC-0002"]
    chunks = ksc.calls("ChunkAccessor.GetItemsChunk")
    assert [entry["json"]["nStart"] for entry in chunks] == [0, 100, 200]
    assert len(ksc.calls("ChunkAccessor.Release")) == 1
    assert ksc.open_accessors() == []
    total, hosts = client.find_hosts('(KLHST_WKS_DN="PC-*")', limit=5)
    assert total == 250 and len(hosts) == 5
    assert ksc.open_accessors() == []


def test_result_set_is_released_when_reading_fails(ksc, ksc_client):
    client = ksc_client(retries=0)
    ksc.add_fault(method="POST", path=r"/ChunkAccessor\.GetItemsChunk$", status=500, times=1)
    with pytest.raises(ApiError):
        client.find_hosts("")
    assert len(ksc.calls("ChunkAccessor.Release")) == 1
    assert ksc.open_accessors() == []


def test_host_resolution(ksc, ksc_client):
    client = ksc_client()
    ws1 = ksc.host_by_dn("WS-001")
    assert client.resolve_host(host_id=ws1["KLHST_WKS_HOSTNAME"].upper())["KLHST_WKS_DN"] == "WS-001"
    assert client.resolve_host(hostname="ws-001")["KLHST_WKS_HOSTNAME"] == ws1["KLHST_WKS_HOSTNAME"]
    assert client.resolve_host(hostname="WS-001.CORP.EXAMPLE")["KLHST_WKS_DN"] == "WS-001"
    # Quotes and wildcards in names are literal: 'Lab "QA" *' is not a pattern for 'Lab "QA" 2'.
    assert client.resolve_host(hostname='Lab "QA" *')["KLHST_WKS_DNSNAME"] == "lab-qa-1"
    assert client.resolve_host(hostname='Lab "QA" 2')["KLHST_WKS_DNSNAME"] == "lab-qa-2"
    with pytest.raises(HostNotFound, match="No host matches target_hostname=Lab"):
        client.resolve_host(hostname='Lab "QA" ?')
    with pytest.raises(HostNotFound) as info:
        client.resolve_host(hostname="kiosk-01")
    assert "2 hosts match target_hostname=kiosk-01" in str(info.value)
    assert "branch1.corp.example" in str(info.value) and "branch2.corp.example" in str(info.value)
    with pytest.raises(HostNotFound, match="No host with target_host=nope"):
        client.resolve_host(host_id="nope")
    assert ksc.open_accessors() == []


def test_pending_incidents_and_update(ksc, ksc_client):
    client = ksc_client()
    host = ksc.host_by_dn("WS-001")["KLHST_WKS_HOSTNAME"]
    other = ksc.host_by_dn("WS-002")["KLHST_WKS_HOSTNAME"]
    pending = ksc.add_incident(host, {"task": "x"})
    ksc.add_incident(host, {"task": "y"}, handled=True)
    ksc.add_incident(other, {"task": "z"})
    found = client.pending_incidents(host)
    assert [incident["KLINCDT_ID"] for incident in found] == [pending]
    assert found[0]["KLINCDT_IS_HANDLED"] is False
    assert found[0]["KLINCDT_ADDED"].endswith("Z")  # datetime unwrapped to its string
    client.update_incident(pending, {"KLINCDT_IS_HANDLED": True, "KLHST_WKS_HOSTNAME": host})
    assert client.pending_incidents(host) == []
    with pytest.raises(KscError, match="incident 999999 not found"):
        client.update_incident(999999, {"KLINCDT_IS_HANDLED": False})
