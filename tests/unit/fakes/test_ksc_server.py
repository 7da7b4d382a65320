# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fake KSC itself, spoken to with plain requests (no collection code), and its filter parser."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest
import requests

from ansible_collections.kaspersky.edr.tests.fakes.ksc_server import (
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    HOST_ATTRIBUTES,
    FilterError,
    parse_filter,
)


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def auth(user=DEFAULT_USER, password=DEFAULT_PASSWORD, domain="", internal="0"):
    return 'KSCBasic user="%s", pass="%s", domain="%s", internal="%s"' % (b64(user), b64(password), domain, internal)


class Session(requests.Session):
    """``verify`` per request: REQUESTS_CA_BUNDLE in the environment overrides a Session's verify."""

    def __init__(self, ca):
        super(Session, self).__init__()
        self.ca = ca

    def request(self, *args, **kwargs):
        kwargs.setdefault("verify", self.ca)
        return super(Session, self).request(*args, **kwargs)


@pytest.fixture
def session(ksc, pki_paths):
    """A requests session, logged in like KlAkOAPI does it."""
    http = Session(pki_paths["ca"])
    headers = {"Authorization": auth(), "X-KSC-VServer": "", "Content-Type": "application/json"}
    response = http.post(ksc.base_url + "login", headers=headers, data="{}")
    assert response.status_code == 200, response.text
    yield http
    http.close()


def call(http, ksc, method, params=None):
    return http.post(ksc.base_url + method, json=params or {})


def find_hosts(http, ksc, wstr_filter, fields=("KLHST_WKS_DN",)):
    response = call(http, ksc, "HostGroup.FindHosts", {"wstrFilter": wstr_filter, "vecFieldsToReturn": list(fields),
                                                       "vecFieldsToOrder": [], "pParams": {}, "lMaxLifeTime": 60})
    assert response.status_code == 200, response.text
    accessor = response.json()["strAccessor"]
    chunk = call(http, ksc, "ChunkAccessor.GetItemsChunk", {"strAccessor": accessor, "nStart": 0, "nCount": 50}).json()
    call(http, ksc, "ChunkAccessor.Release", {"strAccessor": accessor})
    return [item["value"] for item in chunk["pChunk"]["KLCSP_ITERATOR_ARRAY"]]


def test_login_is_checked_and_answers_401(ksc, pki_paths):
    for header in (auth(password="bad"), auth(internal="1"), "Basic " + b64("a:b"), auth(user="nobody"), ""):
        response = requests.post(ksc.base_url + "login", headers={"Authorization": header}, data="{}",
                                 verify=pki_paths["ca"])
        assert response.status_code == 401
        assert "PxgError" in response.json()
    assert all(not entry["ok"] for entry in ksc.logins)


def test_calls_need_a_session_on_the_same_connection(ksc, session, pki_paths):
    assert call(session, ksc, "ChunkAccessor.GetItemsCount", {"strAccessor": "x"}).status_code == 500
    other = Session(pki_paths["ca"])
    params = {"wstrFilter": "", "vecFieldsToReturn": [], "lMaxLifeTime": 60}
    response = call(other, ksc, "HostGroup.FindHosts", params)
    assert response.status_code == 401
    other.close()


def test_result_sets_belong_to_their_session(ksc, session, pki_paths):
    params = {"wstrFilter": "", "vecFieldsToReturn": ["KLHST_WKS_DN"], "lMaxLifeTime": 60}
    response = call(session, ksc, "HostGroup.FindHosts", params)
    accessor = response.json()["strAccessor"]
    other = Session(pki_paths["ca"])
    other.post(ksc.base_url + "login", headers={"Authorization": auth()}, data="{}")
    response = call(other, ksc, "ChunkAccessor.GetItemsCount", {"strAccessor": accessor})
    assert "not found" in response.json()["PxgError"]["message"]
    other.close()
    count = call(session, ksc, "ChunkAccessor.GetItemsCount", {"strAccessor": accessor}).json()
    # Without KLGRP_FIND_FROM_CUR_VS_ONLY the primary server also lists the virtual servers' hosts.
    assert count == {"PxgRetVal": {"type": "long", "value": 8}}
    assert ksc.open_accessors() == [accessor]
    assert call(session, ksc, "ChunkAccessor.Release", {"strAccessor": accessor}).json() == {}
    assert ksc.open_accessors() == []
    assert call(session, ksc, "ChunkAccessor.Release", {"strAccessor": accessor}).status_code == 500


def test_hosts_come_back_with_typed_values(ksc, session):
    hosts = find_hosts(session, ksc, '(KLHST_WKS_DN="WS-001")',
                       fields=("KLHST_WKS_HOSTNAME", "KLHST_WKS_LID", "KLHST_WKS_LAST_VISIBLE", "KLHST_WKS_GROUPID"))
    assert hosts == [{"KLHST_WKS_HOSTNAME": ksc.host_by_dn("WS-001")["KLHST_WKS_HOSTNAME"],
                      "KLHST_WKS_LID": {"type": "long", "value": 1001},
                      "KLHST_WKS_LAST_VISIBLE": {"type": "datetime", "value": "2026-01-15T09:30:00Z"},
                      "KLHST_WKS_GROUPID": 2}]


@pytest.mark.parametrize("method,params,needle", [
    ("HostGroup.FindHosts", {"wstrFilter": "(KLHST_WKS_DN=", "vecFieldsToReturn": [], "lMaxLifeTime": 1},
     "invalid filter"),
    ("HostGroup.FindHosts", {"wstrFilter": "", "vecFieldsToReturn": ["NOPE"], "lMaxLifeTime": 1}, "'NOPE' not found"),
    ("HostGroup.FindHosts", {"wstrFilter": "", "vecFieldsToReturn": [], "lMaxLifeTime": "60"}, "must be of type int"),
    ("HostGroup.FindHosts", {"vecFieldsToReturn": [], "lMaxLifeTime": 1}, "'wstrFilter' is missing"),
    ("HostGroup.FindIncidents", {"strFilter": "(KLHST_WKS_DN=\"x\")", "pFieldsToReturn": [], "lMaxLifeTime": 1},
     "cannot be used"),
    ("HostGroup.AddIncident", {"pData": {"KLINCDT_SEVERITY": 2, "KLINCDT_ADDED": "2026-01-15T09:30:00Z",
                                         "KLINCDT_BODY": "{}", "KLHST_WKS_HOSTNAME": "x"}}, "paramDateTime"),
    ("HostGroup.AddIncident", {"pData": {"KLINCDT_SEVERITY": 2, "KLINCDT_BODY": "{}"}}, "KLINCDT_ADDED is missing"),
    ("HostGroup.AddIncident", {"pData": {"KLINCDT_SEVERITY": 2, "KLINCDT_BODY": "{}", "KLHST_WKS_HOSTNAME": "x",
                                         "KLINCDT_ADDED": {"type": "datetime", "value": "2026-01-15T09:30:00Z"}}},
     "host 'x' not found"),
    ("HostGroup.UpdateIncident", {"nId": 5, "pData": {}}, "incident 5 not found"),
    ("ChunkAccessor.GetItemsChunk", {"strAccessor": "nope", "nStart": 0, "nCount": 1}, "not found"),
    ("Nope.Nothing", {}, "not found"),
])
def test_bad_input_is_a_pxg_error(ksc, session, method, params, needle):
    response = call(session, ksc, method, params)
    assert response.status_code == 500
    error = response.json()["PxgError"]
    assert needle in error["message"]
    assert set(error) >= {"code", "module", "file", "line", "message"}
    assert ksc.incidents == []


def test_error_status_is_switchable(ksc, session):
    ksc.error_status = 200
    response = call(session, ksc, "Nope.Nothing")
    assert response.status_code == 200 and "PxgError" in response.json()


def test_add_and_update_incident_like_the_vendor_sample(ksc, session):
    host = ksc.host_by_dn("WS-002")["KLHST_WKS_HOSTNAME"]
    body = json.dumps({"targetHost": host, "task": "isolateHost", "params": {"action": 1},
                       "responseEventIncident": True, "responseEventIncidentArea": "Kuma"})
    response = call(session, ksc, "HostGroup.AddIncident", {"pData": {
        "KLINCDT_SEVERITY": 2, "KLINCDT_ADDED": {"type": "datetime", "value": "2026-01-15T09:30:00Z"},
        "KLINCDT_BODY": body, "KLHST_WKS_HOSTNAME": host}})
    incident_id = response.json()["PxgRetVal"]
    assert call(session, ksc, "HostGroup.UpdateIncident", {"nId": incident_id, "pData": {
        "KLINCDT_IS_HANDLED": False, "KLHST_WKS_HOSTNAME": host}}).json() == {}
    response = call(session, ksc, "HostGroup.FindIncidents", {
        "strFilter": "KLINCDT_IS_HANDLED=0", "pFieldsToReturn": ["KLINCDT_ID", "KLINCDT_BODY", "KLINCDT_ADDED"],
        "pFieldsToOrder": [{"Name": "KLINCDT_ID", "Asc": False}], "lMaxLifeTime": 60})
    assert response.json()["PxgRetVal"] == 1
    chunk = call(session, ksc, "ChunkAccessor.GetItemsChunk", {
        "strAccessor": response.json()["strAccessor"], "nStart": 0, "nCount": 10}).json()
    assert chunk["pChunk"]["KLCSP_ITERATOR_ARRAY"] == [{"type": "params", "value": {
        "KLINCDT_ID": incident_id, "KLINCDT_BODY": body,
        "KLINCDT_ADDED": {"type": "datetime", "value": "2026-01-15T09:30:00Z"}}}]
    assert ksc.response_bodies()[0]["task"] == "isolateHost"


RECORDS = [
    {"KLHST_WKS_DN": 'Lab "QA" *', "KLHST_WKS_GROUPID": 7},
    {"KLHST_WKS_DN": 'Lab "QA" 2', "KLHST_WKS_GROUPID": 7},
    {"KLHST_WKS_DN": "WS-001", "KLHST_WKS_GROUPID": 2},
    {"KLHST_WKS_DN": "ws_a", "KLHST_WKS_GROUPID": 3},
]


@pytest.mark.parametrize("text,expected", [
    ("", [0, 1, 2, 3]),
    ('(KLHST_WKS_DN="ws-001")', [2]),
    ('KLHST_WKS_DN = "WS-001"', [2]),
    ('(KLHST_WKS_DN="Lab ""QA"" *")', [0, 1]),
    ('(KLHST_WKS_DN="Lab ""QA"" [*]")', [0]),
    ('(KLHST_WKS_DN="Lab ""QA"" ?")', [0, 1]),
    ('(KLHST_WKS_DN="Lab ""QA"" [^*]")', [1]),
    ('(KLHST_WKS_DN="ws[_]a")', [3]),
    ('(KLHST_WKS_DN="ws_a")', [3]),
    ('(&(KLHST_WKS_GROUPID=7)(!(KLHST_WKS_DN="Lab*2")))', [0]),
    ('(|(KLHST_WKS_GROUPID>6)(KLHST_WKS_GROUPID<3))', [0, 1, 2]),
    ("(KLHST_WKS_GROUPID<>7)", [2, 3]),
])
def test_filter_syntax(text, expected):
    predicate = parse_filter(text, HOST_ATTRIBUTES)
    assert [index for index, record in enumerate(RECORDS) if predicate(record)] == expected


@pytest.mark.parametrize("text", [
    '(KLHST_WKS_DN="WS-001"',
    '(KLHST_WKS_DN="Lab "QA"")',
    "(KLHST_WKS_DN=WS-001)",
    '(KLHST_WKS_GROUPID="7")',
    '(KLHST_WKS_DN<>"WS*")',
    '(NOPE="x")',
    "(&)",
    '(KLHST_WKS_DN="a") trailing',
])
def test_filter_syntax_errors(text):
    with pytest.raises(FilterError):
        parse_filter(text, HOST_ATTRIBUTES)
