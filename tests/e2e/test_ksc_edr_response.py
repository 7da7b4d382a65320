# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kaspersky.edr.ksc_edr_response end to end: ansible-playbook against the fake KSC over HTTPS."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import zipfile

import pytest

from ansible_collections.kaspersky.edr.tests.fakes.ksc_server import DEFAULT_PASSWORD, DEFAULT_USER

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = "kaspersky.edr.ksc_edr_response"
MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
PATH = "C:\\Users\\Public\\Downloads\\eicar.com"


@pytest.fixture
def ioc_zip(tmp_path):
    path = tmp_path / "ioc.zip"
    with zipfile.ZipFile(str(path), "w") as archive:
        archive.writestr("demo.ioc", "<ioc><short_description>test</short_description></ioc>")
    return str(path)


def failed(run, name):
    return [entry["status"] for entry in run.results if entry["task"] == name] == ["failed"]


def all_task_types(ioc_zip):
    """(task name, module args, expected params in the body, target DN) for the 9 task types."""
    return [
        ("getFile", {"target_hostname": "WS-001", "task": "getFile",
                     "params": {"md5hash": "", "sha256hash": SHA256, "path": PATH}},
         {"md5hash": "", "sha256hash": SHA256, "path": PATH}, "WS-001"),
        ("deleteFile", {"target_hostname": "ws-002.corp.example", "task": "deleteFile",
                        "params": {"path": PATH, "sha256hash": "", "md5hash": MD5, "searchInSubfolders": True}},
         {"md5hash": MD5, "sha256hash": "", "path": PATH, "searchInSubfolders": True}, "WS-002"),
        ("quarantineFile", {"target_hostname": "WS-001", "task": "quarantineFile",
                            "params": {"md5hash": MD5, "sha256hash": SHA256, "path": ""}},
         {"md5hash": MD5, "sha256hash": SHA256, "path": ""}, "WS-001"),
        ("iocScan", {"target_hostname": "WS-003", "task": "iocScan", "ioc_file": ioc_zip,
                     "params": {"isolateHost": False, "scanCriticalAreas": True, "quarantineObject": True}},
         {"ioc": "IOC", "isolateHost": False, "scanCriticalAreas": True, "quarantineObject": True}, "WS-003"),
        ("startProcess", {"target_hostname": "WS-001", "task": "startProcess",
                          "params": {"executablePath": "C:\\Windows\\System32\\netstat.exe", "arguments": "-ano"}},
         {"executablePath": "C:\\Windows\\System32\\netstat.exe", "arguments": "-ano"}, "WS-001"),
        ("terminateProcess", {"target_hostname": "WS-002", "task": "terminateProcess",
                              "params": {"md5hash": MD5, "sha256hash": "", "path": PATH, "caseSensitive": False}},
         {"md5hash": MD5, "sha256hash": "", "path": PATH, "caseSensitive": False}, "WS-002"),
        ("isolateHost", {"target_host": "5f3c0a9e-1b2d-4c6e-8f70-000000000003", "task": "isolateHost",
                         "params": {"action": 1}, "incident_area": "SOAR", "severity": 3},
         {"action": 1}, "WS-003"),
        ("preventExecution", {"target_hostname": "WS-001", "task": "preventExecution",
                              "params": {"hash": MD5, "path": PATH, "caseSensitive": True}},
         {"hash": MD5, "path": PATH, "caseSensitive": True}, "WS-001"),
        ("onDemandScan", {"target_hostname": "WS-002", "task": "onDemandScan",
                          "params": [{"enabled": True, "path": "", "recursive": False, "type": 14},
                                     {"enabled": True, "path": "C:\\Users", "recursive": True, "type": 22}]},
         [{"enabled": True, "path": "", "recursive": False, "type": 14},
          {"enabled": True, "path": "C:\\Users", "recursive": True, "type": 22}], "WS-002"),
    ]


def tasks_of(cases):
    return [{"name": name, MODULE: args, "register": "r_" + name} for name, args, dummy_params, dummy_dn in cases]


def test_each_task_type_creates_one_incident_and_a_rerun_changes_nothing(ksc, ksc_env, run_playbook, ioc_zip):
    cases = all_task_types(ioc_zip)
    with open(ioc_zip, "rb") as handle:
        ioc_b64 = base64.b64encode(handle.read()).decode("ascii")
    run = run_playbook(tasks=tasks_of(cases), env=ksc_env)
    assert run.rc == 0, run

    adds = ksc.calls("HostGroup.AddIncident")
    updates = ksc.calls("HostGroup.UpdateIncident")
    assert len(adds) == len(updates) == 9
    assert len(ksc.incidents) == 9
    calls = [entry["path"].rsplit("/", 1)[-1] for entry in ksc.calls()]
    for name, args, params, dn in cases:
        result = run.result(name)
        assert result["changed"] is True and result["pending"] is False
        incident = ksc.incident(result["incident_id"])
        host = ksc.host_by_dn(dn)
        area = args.get("incident_area", "Ansible")
        expected_params = dict(params, ioc=ioc_b64) if name == "iocScan" else params
        assert json.loads(incident["KLINCDT_BODY"]) == {
            "targetHost": host["KLHST_WKS_HOSTNAME"], "task": name, "params": expected_params,
            "responseEventIncident": True, "responseEventIncidentArea": area}
        assert result["body"] == json.loads(incident["KLINCDT_BODY"])
        assert incident["KLHST_WKS_HOSTNAME"] == host["KLHST_WKS_HOSTNAME"]
        assert incident["KLINCDT_SEVERITY"] == args.get("severity", 2)
        assert incident["KLINCDT_IS_HANDLED"] is False
        assert result["task_name_hint"] == "[Response][%s] %s - ..." % (area, name)
        assert result["target_host"] == host["KLHST_WKS_HOSTNAME"]
    # As the vendor sample: each AddIncident is followed by UpdateIncident(nId, IS_HANDLED false).
    for add, update in zip(adds, updates):
        pdata = add["json"]["pData"]
        assert set(pdata) == {"KLINCDT_SEVERITY", "KLINCDT_ADDED", "KLINCDT_BODY", "KLHST_WKS_HOSTNAME"}
        assert pdata["KLINCDT_ADDED"]["type"] == "datetime" and pdata["KLINCDT_ADDED"]["value"].endswith("Z")
        incident_id = next(i["KLINCDT_ID"] for i in ksc.incidents if i["KLINCDT_BODY"] == pdata["KLINCDT_BODY"])
        assert update["json"] == {"nId": incident_id, "pData": {"KLINCDT_IS_HANDLED": False,
                                                                "KLHST_WKS_HOSTNAME": pdata["KLHST_WKS_HOSTNAME"]}}
    ordered = [name for name in calls if name in ("HostGroup.AddIncident", "HostGroup.UpdateIncident")]
    assert ordered == ["HostGroup.AddIncident", "HostGroup.UpdateIncident"] * 9
    assert ksc.open_accessors() == []
    assert len(ksc.handshakes()) == 9  # one keep-alive connection per module run

    first_ids = dict((name, run.result(name)["incident_id"]) for name in (case[0] for case in cases))
    ksc.clear_log()
    rerun = run_playbook(tasks=tasks_of(cases), env=ksc_env)
    assert rerun.rc == 0, rerun
    for name in (case[0] for case in cases):
        result = rerun.result(name)
        assert result["changed"] is False and result["pending"] is True
        assert result["incident_id"] == first_ids[name]
        assert result["marked_not_handled"] is True
    assert ksc.calls("HostGroup.AddIncident") == []
    # The pending incident is marked not handled again (idempotent; repairs a run that died between the two
    # calls), which is not a change.
    assert sorted(update["json"]["nId"] for update in ksc.calls("HostGroup.UpdateIncident")) == \
        sorted(first_ids.values())
    assert all(update["json"]["pData"]["KLINCDT_IS_HANDLED"] is False
               for update in ksc.calls("HostGroup.UpdateIncident"))
    assert len(ksc.incidents) == 9


def test_check_mode_creates_nothing_and_shows_the_body(ksc, ksc_env, run_playbook):
    run = run_playbook(tasks=[{"name": "quarantine", MODULE: {
        "target_hostname": "WS-001", "task": "quarantineFile",
        "params": {"md5hash": "", "sha256hash": SHA256, "path": PATH}}}], env=ksc_env, check=True, diff=True)
    assert run.rc == 0, run
    result = run.result("quarantine")
    assert result["changed"] is True
    assert result["incident_id"] is None
    assert result["body"]["task"] == "quarantineFile"
    assert json.loads(result["diff"]["after"]) == result["body"]
    assert ksc.calls("HostGroup.AddIncident") == [] and ksc.calls("HostGroup.UpdateIncident") == []
    assert ksc.calls("HostGroup.FindIncidents")  # it did look for a pending one
    assert ksc.incidents == []


INVALID = [
    ("getFile missing path", {"task": "getFile", "params": {"md5hash": "", "sha256hash": SHA256}}, "params.path"),
    ("deleteFile short md5", {"task": "deleteFile", "params": {"md5hash": MD5[:31], "sha256hash": "", "path": PATH}},
     "params.md5hash"),
    ("quarantineFile md5 as sha256", {"task": "quarantineFile",
                                      "params": {"md5hash": "", "sha256hash": MD5, "path": PATH}}, "params.sha256hash"),
    ("iocScan missing isolateHost", {"task": "iocScan", "params": {
        "ioc": base64.b64encode(b"PK\x05\x06" + b"\x00" * 18).decode(), "scanCriticalAreas": True,
        "quarantineObject": False}}, "params.isolateHost"),
    ("iocScan ioc not a zip", {"task": "iocScan", "params": {
        "ioc": base64.b64encode(b"not a zip").decode(), "isolateHost": False, "scanCriticalAreas": True,
        "quarantineObject": False}}, "params.ioc"),
    ("startProcess missing executablePath", {"task": "startProcess", "params": {"arguments": "-x"}},
     "params.executablePath"),
    ("terminateProcess bad flag", {"task": "terminateProcess", "params": {
        "md5hash": MD5, "sha256hash": "", "path": "", "caseSensitive": "maybe"}}, "params.caseSensitive"),
    ("isolateHost action 2", {"task": "isolateHost", "params": {"action": 2}}, "params.action"),
    ("preventExecution sha256 as hash", {"task": "preventExecution", "params": {
        "hash": SHA256, "path": PATH, "caseSensitive": False}}, "params.hash"),
    ("onDemandScan bad type", {"task": "onDemandScan", "params": [
        {"enabled": True, "path": "", "recursive": False, "type": 19}]}, "params[0].type"),
    ("getFile unknown key", {"task": "getFile", "params": {
        "md5hash": "", "sha256hash": SHA256, "path": PATH, "Path": "x"}}, "params.Path"),
    ("ioc_file for getFile", {"task": "getFile", "ioc_file": "/nonexistent/ioc.zip", "params": {
        "md5hash": "", "sha256hash": SHA256, "path": PATH}}, "ioc_file"),
    ("incident_area with brackets", {"task": "isolateHost", "params": {"action": 0}, "incident_area": "[SOAR]"},
     "incident_area"),
]


def test_invalid_params_fail_before_any_request(ksc, ksc_env, run_playbook):
    tasks = [{"name": name, MODULE: dict(args, target_hostname="WS-001"), "ignore_errors": True}
             for name, args, dummy_key in INVALID]
    run = run_playbook(tasks=tasks, env=ksc_env)
    assert run.rc == 0, run
    for name, args, key in INVALID:
        result = run.result(name)
        assert failed(run, name), (name, result)
        assert key in result["msg"], (name, result["msg"])
        assert args["task"] in result["msg"] or key == "incident_area", (name, result["msg"])
    assert ksc.log() == []
    assert ksc.handshakes() == []


def test_bad_password_is_one_clear_line_and_never_shown(ksc, ksc_env, run_playbook):
    secret = "Wr0ng-S3cret-%d" % os.getpid()
    env = dict(ksc_env, KSC_PASSWORD=secret)
    task = {"target_hostname": "WS-001", "task": "isolateHost", "params": {"action": 1}}
    run = run_playbook(tasks=[{"name": "isolate", MODULE: task}], env=env, args=("-vvv",))
    assert run.rc != 0
    result = run.result("isolate")
    assert failed(run, "isolate")
    assert "authentication failed for user %s on host 127.0.0.1:%d" % (DEFAULT_USER, ksc.port) in result["msg"]
    assert "\n" not in result["msg"]
    output = run.stdout + run.stderr
    assert "Traceback" not in output
    assert secret not in output
    assert base64.b64encode(secret.encode()).decode() not in output
    assert secret not in json.dumps(run.results)
    assert [entry["path"] for entry in ksc.log()] == ["/api/v1.0/login"]
    assert ksc.logins[-1]["ok"] is False and ksc.logins[-1]["user"] == DEFAULT_USER


def test_pending_handled_force_and_ambiguous_names(ksc, ksc_env, run_playbook):
    ws1 = ksc.host_by_dn("WS-001")["KLHST_WKS_HOSTNAME"]
    ws2 = ksc.host_by_dn("WS-002")["KLHST_WKS_HOSTNAME"]
    # Queued earlier by another system (KUMA), not handled yet; hashes in another case.
    kuma = ksc.add_incident(ws1, {"targetHost": ws1, "task": "preventExecution",
                                  "params": {"hash": MD5.upper(), "path": PATH, "caseSensitive": False},
                                  "responseEventIncident": True, "responseEventIncidentArea": "KUMA"})
    ksc.add_incident(ws2, {"targetHost": ws2, "task": "preventExecution",
                           "params": {"hash": MD5, "path": PATH, "caseSensitive": False},
                           "responseEventIncident": True, "responseEventIncidentArea": "Ansible"}, handled=True)
    prevent = {"task": "preventExecution", "params": {"hash": MD5, "path": PATH, "caseSensitive": False}}
    tasks = [
        {"name": "pending", MODULE: dict(prevent, target_hostname="WS-001")},
        {"name": "handled", MODULE: dict(prevent, target_hostname="WS-002")},
        {"name": "forced", MODULE: dict(prevent, target_hostname="WS-001", force=True)},
        {"name": "ambiguous", MODULE: dict(prevent, target_hostname="KIOSK-01"), "ignore_errors": True},
        {"name": "unknown", MODULE: dict(prevent, target_hostname="ws-00"), "ignore_errors": True},
        {"name": "quoted", MODULE: dict(prevent, target_hostname='Lab "QA" *')},
    ]
    run = run_playbook(tasks=tasks, env=ksc_env)
    assert run.rc == 0, run
    pending = run.result("pending")
    assert pending["changed"] is False and pending["incident_id"] == kuma
    assert pending["task_name_hint"] == "[Response][KUMA] preventExecution - ..."
    assert run.result("handled")["changed"] is True
    forced = run.result("forced")
    assert forced["changed"] is True and forced["incident_id"] not in (kuma, None)
    ambiguous = run.result("ambiguous")
    assert failed(run, "ambiguous")
    for index in (4, 5):
        assert ksc.host_by_dn("KIOSK-01", index - 4)["KLHST_WKS_HOSTNAME"] in ambiguous["msg"]
    assert "2 hosts match target_hostname=KIOSK-01" in ambiguous["msg"]
    unknown = run.result("unknown")
    assert failed(run, "unknown") and "No host matches target_hostname=ws-00" in unknown["msg"]
    assert "WS-001" in unknown["msg"]  # similar hosts are suggested
    quoted = run.result("quoted")
    assert quoted["target_host"] == ksc.host_by_dn('Lab "QA" *')["KLHST_WKS_HOSTNAME"]
    # 3 created: handled (WS-002), forced (WS-001), quoted; 2 planted before.
    assert len(ksc.incidents) == 5
    assert len(ksc.calls("HostGroup.AddIncident")) == 3
    assert ksc.open_accessors() == []


def test_demo_playbook_queues_every_task_type(ksc, ksc_env, run_playbook):
    playbook = os.path.join(REPO_ROOT, "playbooks", "ksc_response.yml")
    run = run_playbook(playbook=playbook, env=ksc_env)
    assert run.rc == 0, run
    tasks = sorted(body["task"] for body in ksc.response_bodies())
    assert tasks == sorted(["getFile", "quarantineFile", "deleteFile", "terminateProcess", "preventExecution",
                            "iocScan", "onDemandScan", "startProcess", "isolateHost"])
    target = ksc.host_by_dn("WS-001")["KLHST_WKS_HOSTNAME"]
    assert all(body["targetHost"] == target for body in ksc.response_bodies())
    assert DEFAULT_PASSWORD not in run.stdout
