# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_run_process: reading task views of unknown shape, comparing, creating, waiting (stubbed client).

The helpers and TaskResource live in module_utils/kata_tasks.py; the resource runs through
target_runner.run_single as the module runs it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import uuid

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils import kata_tasks as kt
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_sensors import resolver
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import run_single
from ansible_collections.kaspersky.edr.plugins.modules import kata_run_process as mod
# any ansible-core (ansible.module_utils.testing is 2.19+)
from ansible_collections.kaspersky.edr.tests.inprocess import patch_module_args

TASK_ID = "3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b"
SENSOR = "e6aa2842-0000-0000-0000-000000000001"
WANTED = kt.build_settings("cmd.exe", "/c whoami", "C:\\Temp", True)


class Failed(Exception):
    pass


class Exited(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = dict(task_id=TASK_ID, sensor_id=SENSOR, sensor_hostname=None, sensor_ip=None,
                           executable="cmd.exe", arguments="/c whoami", working_directory="C:\\Temp",
                           start_now=True, state="present", wait=False, wait_timeout=300, wait_interval=5.0)
        self.params.update(params)
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


class FakeClient:
    """Records calls; ``views`` is the sequence of answers of get_task (last one repeats)."""

    def __init__(self, views=(None,), create_error=None, delete_error=None):
        self.views = list(views)
        self.calls = []
        self.create_error = create_error
        self.delete_error = delete_error

    def resolve_sensor(self, sensor_id=None, hostname=None, ip=None):
        self.calls.append(("resolve", sensor_id, hostname, ip))
        return {"sensor_id": sensor_id or SENSOR}

    def get_task(self, task_id, settings=True):
        self.calls.append(("get", task_id))
        return self.views.pop(0) if len(self.views) > 1 else self.views[0]

    def create_task(self, task_id, sensor_id, task, task_type="run_process"):
        self.calls.append(("create", task_id, sensor_id, task))
        if self.create_error:
            raise self.create_error

    def delete_task(self, task_id):
        self.calls.append(("delete", task_id))
        if self.delete_error:
            raise self.delete_error

    def task_url(self, task_id):
        return "https://kata/tasks/" + task_id

    def writes(self):
        return [call for call in self.calls if call[0] in ("create", "delete")]


def view(settings=None, state="completed", sensor=SENSOR, wrap=None, key="task"):
    body = {"taskId": TASK_ID, "state": state, "creationTime": "2026-01-01T00:00:00Z"}
    if sensor:
        body["sensorId"] = sensor
    if settings is not None:
        if key:
            body[key] = settings
        else:
            body.update(settings)
    return {wrap: body} if wrap else body


# ---- pure helpers -----------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (TASK_ID, TASK_ID),
    (TASK_ID.upper(), TASK_ID),
    (" %s " % TASK_ID, TASK_ID),
    ("{%s}" % TASK_ID, None),
    (TASK_ID.replace("-", ""), None),
    ("not-a-uuid", None),
    ("", None),
])
def test_normalize_task_id(value, expected):
    assert kt.normalize_task_id(value) == expected


def test_build_settings_is_the_documented_body():
    assert kt.build_settings("a.exe") == {"schedule": {"startNow": True}, "execCommand": "a.exe"}
    assert kt.build_settings("a.exe", "", None, False) == {"schedule": {"startNow": False}, "execCommand": "a.exe"}
    assert WANTED == {"schedule": {"startNow": True}, "execCommand": "cmd.exe", "cmdLineParameters": "/c whoami",
                      "workingDirectory": "C:\\Temp"}


@pytest.mark.parametrize("answer", [
    view(WANTED),
    view(WANTED, wrap="response"),
    view(WANTED, key="settings"),
    view(WANTED, key=None),
    {"response": {"task": [WANTED], "status": "completed"}},
    view(dict(WANTED, schedule={"startNow": "true"}, extraField=1)),
])
def test_same_settings_in_every_shape(answer):
    assert kt.compare_settings(answer, WANTED, SENSOR) == ([], [])


def test_differences_name_the_options():
    existing = view(kt.build_settings("cmd.exe", "/c ipconfig", None, False), sensor=SENSOR.upper())
    differences, unknown = kt.compare_settings(existing, WANTED, SENSOR)
    assert unknown == []
    assert [d[0] for d in differences] == ["arguments", "working_directory", "start_now"]
    assert differences[0] == ("arguments", "/c ipconfig", "/c whoami")
    message = kt.describe_differences(TASK_ID, differences)
    assert TASK_ID in message and "cannot be edited" in message
    for option in ("arguments", "working_directory", "start_now"):
        assert option in message


def test_other_sensor_is_a_difference_but_case_is_not():
    existing = view(WANTED, sensor="E6AA2842-0000-0000-0000-000000000009")
    assert kt.compare_settings(existing, WANTED, SENSOR)[0] == [
        ("sensor", "E6AA2842-0000-0000-0000-000000000009", SENSOR)]
    assert kt.compare_settings(view(WANTED, sensor=SENSOR.upper()), WANTED, SENSOR)[0] == []
    # no sensor in the answer: nothing to compare
    assert kt.compare_settings(view(WANTED, sensor=None), WANTED, SENSOR)[0] == []


def test_missing_optional_fields_equal_empty_ones():
    wanted = kt.build_settings("cmd.exe")
    existing = view({"execCommand": "cmd.exe", "cmdLineParameters": None, "workingDirectory": ""})
    assert kt.compare_settings(existing, wanted) == ([], [])


def test_a_view_without_settings_cannot_be_compared():
    differences, unknown = kt.compare_settings(view(None), WANTED, SENSOR)
    assert differences == []
    assert unknown == ["executable", "arguments", "working_directory", "start_now"]


@pytest.mark.parametrize("answer, state", [
    ({"state": "completed"}, "completed"),
    ({"response": {"status": "Pending"}}, "Pending"),
    ({"taskState": 3}, "3"),
    ({"status": {"state": "running"}}, "running"),
    ({"state": {"name": "finished"}}, "finished"),
    ({"creationTime": "x"}, "unknown"),
    ([], "unknown"),
])
def test_task_state(answer, state):
    assert kt.task_state(answer) == state


@pytest.mark.parametrize("state, pending", [
    ("pending", True), ("In progress", True), ("IN_PROGRESS", True), ("queued", True), ("running", True),
    ("unknown", True), ("completed", False), ("finished", False), ("failed", False), ("error", False),
])
def test_is_pending(state, pending):
    assert kt.is_pending(state) is pending


# ---- TaskResource with a stubbed client ---------------------------------------------------
def present(module, client):
    resource = kt.TaskResource(client, module.params, generated_task_id=None)
    return run_single(module, resource, resolver(client, "sensor_id", module.params["sensor_id"]),
                      dict(task_id=resource.task_id))


def absent(module, client):
    resource = kt.TaskResource(client, module.params)
    return run_single(module, resource, resource.task_target, dict(task_id=resource.task_id))


def test_create_when_missing():
    client = FakeClient(views=[None, view(WANTED)])
    result = present(FakeModule(), client)
    assert result["changed"] is True and result["task_id"] == TASK_ID and result["state"] == "completed"
    assert client.writes() == [("create", TASK_ID, SENSOR, WANTED)]
    assert result["diff"] == {"before": {}, "after": {"task_id": TASK_ID, "sensor_id": SENSOR, "task": WANTED}}


def test_random_id_when_omitted_and_no_lookup():
    client = FakeClient(views=[view(WANTED)])
    result = present(FakeModule(task_id=None), client)
    assert uuid.UUID(result["task_id"]).version == 4
    assert [call[0] for call in client.calls] == ["resolve", "create", "get"]


def test_check_mode_never_writes():
    client = FakeClient(views=[None])
    result = present(FakeModule(check_mode=True, wait=True), client)
    assert result["changed"] is True and result["state"] == "absent" and result["task"] == {}
    assert client.writes() == []
    client = FakeClient(views=[view(WANTED)])
    assert absent(FakeModule(check_mode=True, state="absent"), client)["changed"] is True
    assert client.writes() == []


def test_existing_same_is_no_change_and_different_fails_without_writing():
    client = FakeClient(views=[view(WANTED)])
    assert present(FakeModule(), client)["changed"] is False
    client = FakeClient(views=[view(WANTED)])
    with pytest.raises(Failed) as failed:
        present(FakeModule(arguments="/c ipconfig"), client)
    assert "arguments" in failed.value.args[0]["msg"]
    assert failed.value.args[0]["changed"] is False
    assert client.writes() == []


def test_unknown_settings_warn_and_keep_the_task():
    client = FakeClient(views=[view(None)])
    module = FakeModule()
    result = present(module, client)
    assert result["changed"] is False
    assert "could not be compared" in module.warnings[0]


def test_dropped_create_is_read_back_not_resent():
    lost = ApiError("connection reset", status=None, method="POST", path="tasks/x")
    client = FakeClient(views=[None, view(WANTED), view(WANTED)], create_error=lost)
    module = FakeModule()
    result = present(module, client)
    assert result["changed"] is True
    assert len(client.writes()) == 1
    assert "was not sent again" in module.warnings[0]


@pytest.mark.parametrize("error, views", [
    (ApiError("connection reset", status=None), [None, None]),  # not there: the create really failed
    (ApiError("bad request", status=400), [None, view(WANTED)]),  # a clear refusal is never second-guessed
])
def test_failed_create_is_reported(error, views):
    client = FakeClient(views=views, create_error=error)
    with pytest.raises(Failed) as failed:
        present(FakeModule(), client)
    assert str(error) in failed.value.args[0]["msg"] and failed.value.args[0]["changed"] is False
    assert len(client.writes()) == 1


def test_absent():
    client = FakeClient(views=[view(WANTED)])
    result = absent(FakeModule(state="absent"), client)
    assert result["changed"] is True and client.writes() == [("delete", TASK_ID)]
    assert result["diff"]["before"]["task"] == WANTED and result["diff"]["after"] == {}
    client = FakeClient(views=[None])
    assert absent(FakeModule(state="absent"), client)["changed"] is False
    assert client.writes() == []
    gone = ApiError("not found", status=404)
    client = FakeClient(views=[view(WANTED)], delete_error=gone)
    assert absent(FakeModule(state="absent"), client)["changed"] is False


class Clock:
    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_wait_polls_until_finished(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(kt.time, "time", clock.time)
    monkeypatch.setattr(kt.time, "sleep", clock.sleep)
    client = FakeClient(views=[None, view(WANTED, "pending"), view(WANTED, "In progress"), view(WANTED, "completed")])
    result = present(FakeModule(wait=True, wait_interval=2.0), client)
    assert result["state"] == "completed" and result["waited"] == 4.0
    assert [call[0] for call in client.calls] == ["resolve", "get", "create", "get", "get", "get"]


def test_wait_timeout_fails_clearly(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(kt.time, "time", clock.time)
    monkeypatch.setattr(kt.time, "sleep", clock.sleep)
    client = FakeClient(views=[None, view(WANTED, "pending")])
    with pytest.raises(Failed) as failed:
        present(FakeModule(wait=True, wait_timeout=10, wait_interval=3.0), client)
    info = failed.value.args[0]
    assert "still pending after wait_timeout=10 seconds" in info["msg"]
    assert info["changed"] is True and info["task_id"] == TASK_ID and info["waited"] == 10.0
    assert clock.now == 1010.0  # the last sleep is cut to the timeout


def test_wait_on_a_task_that_disappears(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(kt.time, "time", clock.time)
    monkeypatch.setattr(kt.time, "sleep", clock.sleep)
    client = FakeClient(views=[view(WANTED, "pending"), None])
    with pytest.raises(Failed) as failed:
        present(FakeModule(wait=True), client)
    assert "disappeared" in failed.value.args[0]["msg"]
    assert failed.value.args[0]["changed"] is False


# ---- main(): option validation before any request ---------------------------------------
def run_main(args, capsys):
    base = {"kata_host": "kata.example", "external_system_id": "x", "client_cert": "/nonexistent.pem"}
    base.update(args)
    with patch_module_args(base):
        with pytest.raises(SystemExit):
            mod.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("args, message", [
    ({"sensor_id": SENSOR, "executable": "cmd.exe", "task_id": "nope"}, "task_id must be a UUID"),
    ({"sensor_id": SENSOR, "executable": "cmd.exe", "wait_timeout": 86401}, "wait_timeout must be 1..86400"),
    ({"sensor_id": SENSOR, "executable": "cmd.exe", "wait_interval": -1}, "wait_interval must be greater than 0"),
    ({"sensor_id": SENSOR, "executable": ""}, "executable must not be empty"),
    ({"sensor_hostname": " ", "executable": "cmd.exe"}, "sensor_hostname must not be empty"),
    ({"executable": "cmd.exe"}, "any of the following are missing: sensor_id, sensor_hostname, sensor_ip"),
    ({"state": "absent"}, "task_id"),
])
def test_validation(args, message, capsys, monkeypatch):
    monkeypatch.setattr(mod.module_glue, "kata_client", lambda module: pytest.fail("no client may be built"))
    result = run_main(args, capsys)
    assert result["failed"] is True
    assert message in result["msg"]
