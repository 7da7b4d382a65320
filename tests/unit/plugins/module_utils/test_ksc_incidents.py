# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-task params validation of ksc_edr_response (module_utils/ksc_incidents.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import json
import zipfile

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_incident_body import (
    TASKS,
    ParamsError,
    build_body,
    comparable_params,
    parse_body,
    read_ioc_file,
    same_response,
    serialize_body,
    task_name_hint,
    validate_params,
)

MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"


def zip_b64(name="a.ioc", content=b"<ioc/>"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


VALID = {
    "getFile": {"md5hash": "", "sha256hash": SHA256, "path": "C:\\x.exe"},
    "deleteFile": {"md5hash": MD5, "sha256hash": "", "path": "", "searchInSubfolders": False},
    "quarantineFile": {"md5hash": MD5.upper(), "sha256hash": SHA256, "path": "C:\\x.exe"},
    "iocScan": {"ioc": zip_b64(), "isolateHost": True, "scanCriticalAreas": False, "quarantineObject": True},
    "startProcess": {"executablePath": "C:\\Windows\\System32\\cmd.exe"},
    "terminateProcess": {"md5hash": "", "sha256hash": "", "path": "C:\\x.exe", "caseSensitive": True},
    "isolateHost": {"action": 0},
    "preventExecution": {"hash": MD5, "path": "", "caseSensitive": False},
    "onDemandScan": [{"enabled": True, "path": "", "recursive": False, "type": scan_type}
                     for scan_type in (14, 15, 16, 17, 18, 23, 24, 25)]
    + [{"enabled": False, "path": "C:\\Users D:\\Data", "recursive": True, "type": 22}],
}


def test_every_documented_task_has_a_valid_example():
    assert sorted(VALID) == sorted(TASKS)
    assert len(TASKS) == 9


@pytest.mark.parametrize("task", sorted(VALID))
def test_valid_params_pass_unchanged(task):
    assert validate_params(task, VALID[task]) == VALID[task]


def error(task, params, **kwargs):
    with pytest.raises(ParamsError) as info:
        validate_params(task, params, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("task,key", [
    ("getFile", "md5hash"), ("getFile", "sha256hash"), ("getFile", "path"),
    ("deleteFile", "path"), ("quarantineFile", "md5hash"),
    ("iocScan", "ioc"), ("iocScan", "isolateHost"), ("iocScan", "scanCriticalAreas"), ("iocScan", "quarantineObject"),
    ("startProcess", "executablePath"),
    ("terminateProcess", "caseSensitive"), ("terminateProcess", "sha256hash"),
    ("isolateHost", "action"),
    ("preventExecution", "hash"), ("preventExecution", "path"), ("preventExecution", "caseSensitive"),
])
def test_missing_required_key_is_named(task, key):
    params = dict(VALID[task])
    del params[key]
    message = error(task, params)
    assert "params.%s is required for task %s" % (key, task) in message
    assert "required:" in message


@pytest.mark.parametrize("key", ["enabled", "path", "recursive", "type"])
def test_missing_scan_area_key_is_named(key):
    area = {"enabled": True, "path": "", "recursive": False, "type": 14}
    del area[key]
    message = error("onDemandScan", [VALID["onDemandScan"][0], area])
    assert "params[1].%s is required for task onDemandScan" % key in message


@pytest.mark.parametrize("task", ["deleteFile", "startProcess"])
def test_optional_keys_may_be_left_out(task):
    params = {"deleteFile": {"md5hash": MD5, "sha256hash": "", "path": ""},
              "startProcess": {"executablePath": "a.exe", "arguments": "", "workingFolder": "C:\\"}}[task]
    assert validate_params(task, params) == params


@pytest.mark.parametrize("task,key,value,needle", [
    ("getFile", "md5hash", MD5[:31], "32 hex digits"),
    ("getFile", "md5hash", MD5 + "0", "32 hex digits"),
    ("getFile", "md5hash", "g" * 32, "32 hex digits"),
    ("getFile", "md5hash", SHA256, "32 hex digits"),
    ("getFile", "md5hash", MD5[:31] + "\n", "32 hex digits"),  # a line break is not a hex digit
    ("preventExecution", "hash", MD5[:31] + "\n", "32 hex digits"),
    ("deleteFile", "sha256hash", MD5, "64 hex digits"),
    ("quarantineFile", "sha256hash", SHA256[:-1] + "x", "64 hex digits"),
    ("terminateProcess", "md5hash", 12345, "must be a string"),
    ("preventExecution", "hash", "", "an MD5 hash"),
    ("preventExecution", "hash", SHA256, "32 hex digits"),
    ("isolateHost", "action", 2, "must be 0 (turn network isolation off) or 1"),
    ("isolateHost", "action", -1, "must be 0"),
    ("isolateHost", "action", True, "must be 0"),
    ("isolateHost", "action", "on", "must be 0"),
    ("terminateProcess", "caseSensitive", "maybe", "must be a boolean"),
    ("deleteFile", "searchInSubfolders", 2, "must be a boolean"),
    ("iocScan", "isolateHost", None, "is required"),
    ("iocScan", "ioc", "not base64!", "not valid base64"),
    ("iocScan", "ioc", base64.b64encode(b"plain text").decode(), "not a ZIP archive"),
    ("startProcess", "executablePath", "  ", "must not be empty"),
    ("startProcess", "arguments", ["-x"], "must be a string"),
])
def test_bad_values_are_named(task, key, value, needle):
    params = dict(VALID[task])
    params[key] = value
    message = error(task, params)
    assert "params.%s" % key in message and task in message
    assert needle in message


def test_unknown_keys_are_rejected_with_the_allowed_list():
    params = dict(VALID["getFile"], MD5hash=MD5)
    message = error("getFile", params)
    assert "params.MD5hash is not a parameter of task getFile" in message
    assert "md5hash, sha256hash, path" in message
    assert "params[0].Type is not a parameter" in error("onDemandScan", [dict(VALID["onDemandScan"][0], Type=14)])


def test_file_tasks_need_something_to_identify_the_file():
    for task in ("getFile", "deleteFile", "quarantineFile", "terminateProcess"):
        params = dict(VALID[task], md5hash="", sha256hash="", path="")
        assert "at least one of md5hash, sha256hash or path" in error(task, params)


@pytest.mark.parametrize("scan_type", [0, 13, 19, 20, 21, 26, "fourteen", True, 14.5])
def test_scan_type_outside_the_documented_list_fails(scan_type):
    message = error("onDemandScan", [{"enabled": True, "path": "", "recursive": False, "type": scan_type}])
    assert "params[0].type" in message
    assert "14 (SystemMemory)" in message and "25 (AllFixedDrives)" in message


def test_scan_area_shapes():
    assert "non-empty list of scan areas" in error("onDemandScan", {"enabled": True})
    assert "non-empty list" in error("onDemandScan", [])
    assert "params[0] for task onDemandScan must be a dict" in error("onDemandScan", ["C:\\"])
    message = error("onDemandScan", [{"enabled": True, "path": "", "recursive": True, "type": 22}])
    assert "params[0].path" in message and "22 (Folder)" in message


def test_params_must_be_a_dict_for_other_tasks():
    assert "params for task isolateHost must be a dict" in error("isolateHost", [{"action": 1}])
    assert "params.action is required for task isolateHost" in error("isolateHost", None)


def test_string_forms_are_normalized():
    """Values templated as strings ("1", "yes") become the documented types."""
    assert validate_params("isolateHost", {"action": "1"}) == {"action": 1}
    assert validate_params("terminateProcess", dict(VALID["terminateProcess"], caseSensitive="no"))["caseSensitive"] \
        is False
    areas = validate_params("onDemandScan", [{"enabled": "yes", "path": "", "recursive": "false", "type": "14"}])
    assert areas == [{"enabled": True, "path": "", "recursive": False, "type": 14}]
    assert validate_params("isolateHost", json.dumps({"action": 1})) == {"action": 1}


def test_keys_come_out_in_the_documented_order():
    params = validate_params("deleteFile", {"searchInSubfolders": True, "path": "p", "sha256hash": "", "md5hash": MD5})
    assert list(params) == ["md5hash", "sha256hash", "path", "searchInSubfolders"]


def test_ioc_file_goes_into_params_ioc(tmp_path):
    path = tmp_path / "ioc.zip"
    path.write_bytes(base64.b64decode(zip_b64()))
    ioc = read_ioc_file(str(path))
    assert base64.b64decode(ioc) == path.read_bytes()
    params = validate_params("iocScan", {"isolateHost": False, "scanCriticalAreas": True, "quarantineObject": False},
                             ioc=ioc)
    assert list(params) == ["ioc", "isolateHost", "scanCriticalAreas", "quarantineObject"]
    assert params["ioc"] == ioc
    assert "either ioc_file or params.ioc" in error("iocScan", VALID["iocScan"], ioc=ioc)


def test_ioc_file_must_be_a_readable_zip(tmp_path):
    text = tmp_path / "ioc.txt"
    text.write_text("indicator")
    with pytest.raises(ParamsError, match="is not a ZIP archive"):
        read_ioc_file(str(text))
    with pytest.raises(ParamsError, match="cannot be read"):
        read_ioc_file(str(tmp_path / "missing.zip"))


def test_unknown_task_is_rejected():
    with pytest.raises(ParamsError, match="task must be one of getFile"):
        validate_params("wipeDisk", {})


def test_body_is_exactly_the_documented_shape_and_serialized_like_the_vendor_sample():
    body = build_body("host-id", "isolateHost", {"action": 1}, "Ansible")
    assert list(body) == ["targetHost", "task", "params", "responseEventIncident", "responseEventIncidentArea"]
    text = serialize_body(body)
    assert text == json.dumps({"targetHost": "host-id", "task": "isolateHost", "params": {"action": 1},
                               "responseEventIncident": True, "responseEventIncidentArea": "Ansible"})
    assert parse_body(text) == body
    assert task_name_hint("Ansible", "isolateHost") == "[Response][Ansible] isolateHost - ..."


def test_matching_a_pending_incident():
    params = {"hash": MD5, "path": "p", "caseSensitive": False}
    body = build_body("HOST-ID", "preventExecution", dict(params, hash=MD5.upper()), "KUMA")
    assert same_response(body, "host-id", "preventExecution", params)
    assert not same_response(body, "other", "preventExecution", params)
    assert not same_response(body, "host-id", "getFile", params)
    assert not same_response(body, "host-id", "preventExecution", dict(params, caseSensitive=True))
    assert not same_response(None, "host-id", "preventExecution", params)
    assert parse_body("not json") is None
    assert parse_body(json.dumps({"task": "x"})) is None  # not an EDR response incident
    assert comparable_params([{"path": "A"}]) == [{"path": "A"}]  # paths keep their case
