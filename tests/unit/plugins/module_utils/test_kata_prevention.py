# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of plugins/module_utils/kata_prevention.py and of the kata_prevention module's logic
(with a stub client in place of the Central Node)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils import kata_prevention_model as kp
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError, Closing
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import read_settings
from ansible_collections.kaspersky.edr.plugins.modules import kata_prevention as module_under_test
# tests/inprocess.py needs ansible.module_utils.testing (ansible-core 2.19+): without it this import fails the
# suite, as it should (every tested ansible-core has it or is handled there).
from ansible_collections.kaspersky.edr.tests import inprocess

MD5_A = "44d88612fea8a8f36de82e1278abb02f"
MD5_B = "0123456789abcdef0123456789abcdef"
SHA_A = "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"
SHA_B = "2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728"
SHA_C = "c" * 64


def ui_rule(value=SHA_A, name="Blocked in the web UI", **extra):
    file_info = {"sha256": value, "name": name}
    file_info.update(extra)
    return {"file": file_info}


# ---- hash validation and normalization ---------------------------------------------------------
def test_normalize_strings_dicts_case_and_duplicates():
    result = kp.normalize_hashes([SHA_A.upper(), SHA_A, {"md5": MD5_A.upper()}, {"sha256": SHA_B},
                                  " %s " % MD5_A, {"SHA256": SHA_B.upper()}])
    assert result == [{"kind": "sha256", "value": SHA_A}, {"kind": "md5", "value": MD5_A},
                      {"kind": "sha256", "value": SHA_B}]


def test_normalize_empty_and_none():
    assert kp.normalize_hashes([]) == []
    assert kp.normalize_hashes(None) == []


@pytest.mark.parametrize("entry, fragment", [
    ("abc", "neither an MD5"),
    ("g" * 32, "neither an MD5"),
    ("a" * 40, "neither an MD5"),              # SHA1 is not supported by the API
    ({"md5": SHA_A}, "hashes[0].md5: %r is not a valid MD5 hash (32 hexadecimal digits expected, got 64" % SHA_A),
    ({"sha256": MD5_A}, "not a valid SHA256 hash"),
    ({"md5": MD5_A, "sha256": SHA_A}, "exactly one key, md5 or sha256; got md5, sha256"),
    ({"sha1": "a" * 40}, "exactly one key"),
    ({}, "got no key"),
    ({"md5": 12345}, "not a string"),
    (12345678901234567890123456789012, "is a number"),
    (None, "is not a hash"),
    (True, "is not a hash"),
    (["a"], "is not a hash"),
])
def test_normalize_rejects(entry, fragment):
    with pytest.raises(kp.HashError) as info:
        kp.normalize_hashes([entry])
    assert fragment in str(info.value)
    assert str(info.value).startswith("hashes[0]")


def test_normalize_names_the_index():
    with pytest.raises(kp.HashError, match=r"^hashes\[2\]"):
        kp.normalize_hashes([MD5_A, SHA_A, "nope"])


def test_normalize_rejects_a_non_list():
    with pytest.raises(kp.HashError, match="must be a list"):
        kp.normalize_hashes("abc")


# ---- reading objects -----------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    {"settings": {"objects": [ui_rule()]}},
    {"response": {"settings": {"objects": [ui_rule()]}}},
    {"settings": [{"objects": [ui_rule()]}]},
])
def test_read_objects_in_every_shape(body):
    assert kp.read_objects(read_settings(body)) == [ui_rule()]


@pytest.mark.parametrize("settings", [{}, None, {"objects": None}, {"objects": []}])
def test_read_objects_empty(settings):
    assert kp.read_objects(settings) == []


def test_read_objects_refuses_garbage():
    with pytest.raises(kp.PreventionShapeError):
        kp.read_objects({"objects": "x"})


def test_object_hashes_tolerates_shapes():
    assert kp.object_hashes(ui_rule(SHA_A.upper())) == [SHA_A]
    assert kp.object_hashes({"file": {"md5": MD5_A, "sha256": SHA_A}}) == [SHA_A, MD5_A]
    assert kp.object_hashes({"sha256": SHA_B}) == [SHA_B]
    assert kp.object_hashes({"process": {"path": "x"}}) == []
    assert kp.object_hashes("junk") == []


# ---- planning ------------------------------------------------------------------------------------
def desired(*values):
    return kp.normalize_hashes(list(values))


def test_merge_keeps_every_other_rule_as_read():
    current = [ui_rule(unknown_field={"x": 1}), {"file": {"sha256": SHA_B}, "comment": "kept"}]
    snapshot = copy.deepcopy(current)
    plan = kp.plan_changes(current, desired(SHA_C, SHA_B.upper()))
    assert plan.changed
    assert plan.added == [SHA_C]
    assert plan.removed == []
    assert plan.after[:2] == snapshot          # written back exactly as read
    assert plan.after[2] == {"file": {"sha256": SHA_C}}
    assert plan.hashes == [SHA_A, SHA_B, SHA_C]
    assert plan.unchanged == [SHA_A, SHA_B]
    assert current == snapshot                 # input not mutated


def test_merge_converged_is_no_change_case_insensitively():
    current = [ui_rule(SHA_A.upper()), {"file": {"md5": MD5_A}}]
    plan = kp.plan_changes(current, desired(SHA_A, {"md5": MD5_A.upper()}))
    assert not plan.changed
    assert plan.after == current
    assert plan.added == [] and plan.removed == []


def test_merge_with_empty_input_changes_nothing():
    plan = kp.plan_changes([ui_rule()], [])
    assert not plan.changed


def test_absent_removes_only_listed_hashes():
    current = [ui_rule(), {"file": {"sha256": SHA_B}}, {"file": {"md5": MD5_A}}]
    plan = kp.plan_changes(current, desired(SHA_B.upper(), MD5_B), state="absent")
    assert plan.changed
    assert plan.removed == [SHA_B]
    assert plan.after == [current[0], current[2]]
    assert plan.unchanged == [SHA_A, MD5_A]


def test_absent_of_missing_hash_is_no_change():
    plan = kp.plan_changes([ui_rule()], desired(MD5_B), state="absent")
    assert not plan.changed
    assert plan.after == [ui_rule()]


def test_absent_of_last_hash_leaves_empty_list():
    plan = kp.plan_changes([ui_rule()], desired(SHA_A), state="absent")
    assert plan.changed and plan.after == [] and plan.removed == [SHA_A]


def test_exclusive_makes_the_list_exact_and_keeps_the_kept_object():
    named_c = ui_rule(SHA_C, name="C from the UI")
    current = [ui_rule(), {"file": {"sha256": SHA_B}}, named_c]
    plan = kp.plan_changes(current, desired(SHA_C), exclusive=True)
    assert plan.changed
    assert plan.after == [named_c]
    assert plan.removed == [SHA_A, SHA_B]
    assert plan.added == []
    again = kp.plan_changes(plan.after, desired(SHA_C), exclusive=True)
    assert not again.changed


def test_exclusive_empty_clears_everything():
    plan = kp.plan_changes([ui_rule(), {"file": {"md5": MD5_A}}], [], exclusive=True)
    assert plan.after == [] and plan.removed == [SHA_A, MD5_A]
    assert not kp.plan_changes([], [], exclusive=True).changed


def test_exclusive_adds_and_removes():
    plan = kp.plan_changes([ui_rule()], desired(MD5_A, SHA_B), exclusive=True)
    assert plan.added == [MD5_A, SHA_B]
    assert plan.removed == [SHA_A]
    assert plan.after == [{"file": {"md5": MD5_A}}, {"file": {"sha256": SHA_B}}]


def test_exclusive_removes_unknown_objects_and_reports_them():
    unknown = {"process": {"path": "C:\\x.exe"}}
    plan = kp.plan_changes([unknown, ui_rule()], desired(SHA_A), exclusive=True)
    assert plan.changed
    assert plan.unknown_removed == [unknown]
    assert plan.removed == []
    # merge and absent keep them
    assert kp.plan_changes([unknown], desired(SHA_A)).after[0] is unknown
    assert kp.plan_changes([unknown], desired(SHA_A), state="absent").after == [unknown]


def test_object_with_both_hashes_is_one_rule():
    both = {"file": {"md5": MD5_A, "sha256": SHA_A}}
    assert not kp.plan_changes([both], desired(MD5_A)).changed
    assert not kp.plan_changes([both], desired(SHA_A), exclusive=True).changed
    plan = kp.plan_changes([both], desired(MD5_A), state="absent")
    assert plan.after == [] and set(plan.removed) == {MD5_A, SHA_A}


def test_duplicate_objects_on_the_host_are_left_alone():
    current = [ui_rule(), ui_rule(SHA_A.upper(), name="again")]
    assert not kp.plan_changes(current, desired(SHA_A), exclusive=True).changed
    assert kp.plan_changes(current, desired(SHA_A), state="absent").after == []


# ---- conflicts -----------------------------------------------------------------------------------
def test_find_conflicts_names_every_host_and_hash():
    others = [("WS-001", [ui_rule()]), ("WS-002", [{"file": {"md5": MD5_A.upper()}}, ui_rule()]), ("WS-003", [])]
    conflicts = kp.find_conflicts([MD5_A, SHA_A, SHA_B], others)
    assert conflicts == {MD5_A: ["WS-002"], SHA_A: ["WS-001", "WS-002"]}
    assert list(conflicts) == [MD5_A, SHA_A]
    assert kp.find_conflicts([SHA_B], others) == {}


def test_conflict_messages():
    msg = kp.conflict_message("all hosts", True, {SHA_A: ["WS-001", "WS-002"]})
    assert "%s on WS-001, WS-002" % SHA_A in msg and "Nothing was changed" in msg
    msg = kp.conflict_message("WS-001 (sensor x)", False, {SHA_A: ["all hosts"]})
    assert "WS-001 (sensor x)" in msg and SHA_A in msg and "already blocked for all hosts" in msg


# ---- diff ----------------------------------------------------------------------------------------
def test_diff_lines_show_kind_hash_and_name():
    plan = kp.plan_changes([ui_rule()], desired(MD5_A))
    diff = kp.build_diff(plan, "WS-001")
    assert diff["before"] == "sha256 %s  # Blocked in the web UI\n" % SHA_A
    assert diff["after"] == diff["before"] + "md5 %s\n" % MD5_A
    assert diff["before_header"] == "prevention rules of WS-001"


def test_diff_hides_a_name_that_is_the_hash_itself():
    assert kp.describe_object({"file": {"sha256": SHA_A, "name": SHA_A}}) == "sha256 %s" % SHA_A
    assert kp.describe_object({"odd": 1}) == '? {"odd": 1}'


# ---- the module with a stub client -----------------------------------------------------------------
class StubClient(Closing):
    """Records calls; prevention lists keyed by lower-case sensor ID ('all' for all hosts)."""

    def __init__(self, lists=None, sensors=None, post_error=None):
        self.lists = dict((key.lower(), value) for key, value in (lists or {}).items())
        self.sensors = sensors or [
            {"sensor_id": "s-1", "hostname": "WS-001.corp.example", "ip": "10.20.0.2"},
            {"sensor_id": "S-2", "hostname": "WS-002.corp.example", "ip": "10.20.0.3"},
        ]
        self.calls = []
        self.post_error = post_error

    def resolve_sensor(self, sensor_id=None, hostname=None, ip=None):
        if sensor_id:
            return {"sensor_id": sensor_id, "hostname": None, "ip": None}
        self.calls.append(("GET", "sensors"))
        for sensor in self.sensors:
            if sensor["hostname"] == hostname or sensor["ip"] == ip:
                return dict(sensor)
        raise ApiError("no such host", status=404)

    def list_sensors(self):
        self.calls.append(("GET", "sensors"))
        return [dict(sensor) for sensor in self.sensors]

    def get_settings(self, sensor_id, settings_type):
        assert settings_type == "prevention"
        self.calls.append(("GET", sensor_id))
        objects = self.lists.get(sensor_id.lower())
        return {"objects": copy.deepcopy(objects)} if objects else {}

    def post_settings(self, sensor_id, settings_type, settings):
        self.calls.append(("POST", sensor_id, copy.deepcopy(settings)))
        if self.post_error:
            raise self.post_error
        self.lists[sensor_id.lower()] = copy.deepcopy(settings["objects"])

    def delete_settings(self, sensor_id, settings_type):
        self.calls.append(("DELETE", sensor_id))
        self.lists.pop(sensor_id.lower(), None)

    def close(self):
        pass

    def writes(self):
        return [call for call in self.calls if call[0] in ("POST", "DELETE")]


CONNECTION = {"kata_host": "cn.example", "external_system_id": "ext", "client_cert": "/nonexistent/client.pem"}


def run_module(monkeypatch, capsys, client, check_mode=False, diff=False, **args):
    """The module's JSON result, run in this process the way Ansible runs it (see tests/inprocess.py)."""
    monkeypatch.setattr(module_under_test.module_glue, "kata_client", lambda module: client)
    run = inprocess.run_module("kata_prevention", dict(CONNECTION, **args), check=check_mode, diff=diff)
    assert run.traceback is None, run.traceback
    return run.result


def test_module_merge_then_converged(monkeypatch, capsys):
    client = StubClient({"s-1": [ui_rule(), {"file": {"sha256": SHA_B}}]})
    result = run_module(monkeypatch, capsys, client, sensor_hostname="WS-001.corp.example", hashes=[SHA_C])
    assert result["changed"] is True
    assert result["added"] == [SHA_C] and result["hashes"] == [SHA_A, SHA_B, SHA_C]
    assert result["target"] == "WS-001.corp.example (sensor s-1)"
    assert client.calls[:3] == [("GET", "sensors"), ("GET", "s-1"), ("GET", "all")]
    assert client.calls[3][0:2] == ("POST", "s-1")
    assert client.calls[3][2]["objects"][0] == ui_rule()
    client.calls = []
    again = run_module(monkeypatch, capsys, client, sensor_hostname="WS-001.corp.example", hashes=[SHA_C.upper()])
    assert again["changed"] is False
    assert client.calls == [("GET", "sensors"), ("GET", "s-1")]


def test_module_check_mode_diff_and_no_write(monkeypatch, capsys):
    client = StubClient({"s-1": [ui_rule()]})
    result = run_module(monkeypatch, capsys, client, check_mode=True, diff=True, sensor_id="s-1", hashes=[],
                        exclusive=True)
    assert result["changed"] is True and result["removed"] == [SHA_A] and result["hashes"] == []
    assert result["diff"]["before"].startswith("sha256 " + SHA_A) and result["diff"]["after"] == ""
    assert client.writes() == []


def test_module_exclusive_empty_deletes(monkeypatch, capsys):
    client = StubClient({"s-1": [ui_rule()]})
    result = run_module(monkeypatch, capsys, client, sensor_id="s-1", hashes=[], exclusive=True)
    assert result["changed"] is True
    assert client.writes() == [("DELETE", "s-1")]


def test_module_all_hosts_conflict_fails_before_write(monkeypatch, capsys):
    client = StubClient({"S-2": [{"file": {"md5": MD5_A}}]})
    result = run_module(monkeypatch, capsys, client, all_hosts=True, hashes=[MD5_A, SHA_B])
    assert result["failed"] is True
    assert "WS-002.corp.example (sensor S-2)" in result["msg"] and MD5_A in result["msg"]
    assert SHA_B not in result["msg"]
    assert result["conflicts"] == {MD5_A: ["WS-002.corp.example (sensor S-2)"]}
    assert client.writes() == []
    assert client.calls == [("GET", "all"), ("GET", "sensors"), ("GET", "s-1"), ("GET", "S-2")]


def test_module_single_host_conflict_with_all(monkeypatch, capsys):
    client = StubClient({"all": [ui_rule()]})
    result = run_module(monkeypatch, capsys, client, sensor_id="s-1", hashes=[SHA_A])
    assert result["failed"] is True and "already blocked for all hosts" in result["msg"] and SHA_A in result["msg"]
    assert client.writes() == []


def test_module_conflict_warn_and_skip(monkeypatch, capsys):
    client = StubClient({"all": [ui_rule()]})
    result = run_module(monkeypatch, capsys, client, sensor_id="s-1", hashes=[SHA_A], conflict_check="warn",
                        check_mode=True)
    assert result["changed"] is True and result["conflicts"] == {SHA_A: ["all hosts"]}
    assert "already blocked for all hosts" in json.dumps(result["warnings"])  # 2.19 warnings are dicts
    client.calls = []
    result = run_module(monkeypatch, capsys, client, sensor_id="s-1", hashes=[SHA_A], conflict_check="skip",
                        check_mode=True)
    assert client.calls == [("GET", "s-1")] and result["conflicts"] == {}


def test_module_no_conflict_check_when_only_removing(monkeypatch, capsys):
    client = StubClient({"all": [ui_rule()], "s-1": [ui_rule(SHA_B)]})
    run_module(monkeypatch, capsys, client, sensor_id="s-1", hashes=[SHA_B], state="absent")
    assert client.calls == [("GET", "s-1"), ("DELETE", "s-1"), ("GET", "s-1")]  # the last one: write verification


def test_module_server_refusal_is_shown_verbatim(monkeypatch, capsys):
    error = ApiError("POST settings?sensor_id=s-1&settings_type=prevention: HTTP 400 Bad Request: "
                     "Prevention rule for file x already exists and is applied to: all hosts", status=400,
                     api_message="Prevention rule for file x already exists and is applied to: all hosts")
    client = StubClient(post_error=error)
    result = run_module(monkeypatch, capsys, client, sensor_id="s-1", hashes=[SHA_A])
    assert result["failed"] is True and result["changed"] is False
    assert "Prevention rule for file x already exists and is applied to: all hosts" in result["msg"]
    assert result["api_error"]["status"] == 400


@pytest.mark.parametrize("args, fragment", [
    (dict(hashes=[SHA_A]), "Set exactly one of"),
    (dict(sensor_id="s-1", all_hosts=True, hashes=[SHA_A]), "got sensor_id, all_hosts"),
    (dict(sensor_id="s-1", sensor_ip="10.0.0.1", hashes=[SHA_A]), "got sensor_id, sensor_ip"),
    (dict(sensor_id="ALL", hashes=[SHA_A]), "use all_hosts=true"),
    (dict(sensor_id="s-1", hashes=["xyz"]), "hashes[0]"),
    (dict(sensor_id="s-1", hashes=[SHA_A], state="absent", exclusive=True), "needs state=present"),
])
def test_module_validation_before_any_request(monkeypatch, capsys, args, fragment):
    client = StubClient()
    result = run_module(monkeypatch, capsys, client, **args)
    assert result["failed"] is True and fragment in result["msg"]
    assert client.calls == []


def test_module_warns_about_kept_hashes_on_the_other_side(monkeypatch, capsys):
    client = StubClient({"all": [ui_rule(SHA_B)], "s-1": [ui_rule(SHA_B)]})
    result = run_module(monkeypatch, capsys, client, sensor_id="s-1", hashes=[SHA_C], check_mode=True)
    assert result["changed"] is True and result["conflicts"] == {}
    assert "also blocked for all hosts: %s on all hosts" % SHA_B in json.dumps(result["warnings"])
