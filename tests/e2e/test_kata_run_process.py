# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_run_process, the task_uuid filter and the run_process_tasks role against the fake Central Node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time
import uuid

from tests.conftest import REPO_ROOT

MODULE = "kaspersky.edr.kata_run_process"
NAMESPACE = uuid.UUID("a2b9f149-54f3-5646-b9a9-454813081a0f")
TASKS = r"/tasks/"


def is_uuid4(value):
    parsed = uuid.UUID(value)
    return parsed.version == 4 and str(parsed) == value


def status(run, task_name):
    """ok, failed or skipped: how the task ended (the result dict itself may not carry ``failed``)."""
    return [entry["status"] for entry in run.results if entry["task"] == task_name][-1]


def plant_task(central_node, task_id, sensor, settings, age=0.0):
    """A task as if created earlier through the API (or the web interface)."""
    central_node.tasks[task_id.lower()] = {"taskId": task_id, "sensorId": sensor["sensorId"],
                                           "created": time.time() - age, "settings": settings}


def test_without_task_id_every_run_creates_a_new_v4_task(central_node, run_playbook):
    sensor = central_node.sensors[0]
    args = {"sensor_hostname": sensor["host"], "executable": "C:\\response\\response_script.bat",
            "arguments": "C:\\response\\", "working_directory": "C:\\response\\"}
    run = run_playbook(tasks=[{"name": "first", MODULE: args, "register": "first"},
                              {"name": "second", MODULE: args}], diff=True)
    assert run.rc == 0, run
    first, second = run.result("first"), run.result("second")
    for result in (first, second):
        assert result["changed"] is True
        assert is_uuid4(result["task_id"]), result["task_id"]
        assert result["sensor_id"] == sensor["sensorId"]
        assert result["url"].endswith("/tasks/" + result["task_id"])
        assert result["task"]["taskId"] == result["task_id"]
        assert result["task"]["task"]["execCommand"] == args["executable"]
        assert result["diff"]["before"] == {}
        assert result["diff"]["after"]["task"]["cmdLineParameters"] == args["arguments"]
    assert first["task_id"] != second["task_id"]
    assert sorted(central_node.tasks) == sorted([first["task_id"], second["task_id"]])
    posts = central_node.log("POST", TASKS)
    assert len(posts) == 2
    # The documented request: sensor_id and task_type in the query, the settings under "task".
    assert posts[0]["query"] == {"sensor_id": sensor["sensorId"], "task_type": "run_process"}
    assert posts[0]["json"] == {"task": {"schedule": {"startNow": True}, "execCommand": args["executable"],
                                         "cmdLineParameters": args["arguments"],
                                         "workingDirectory": args["working_directory"]}}
    # No GET of a random new task ID before creating it: it cannot exist.
    gets_before_post = [entry for entry in central_node.log("GET", TASKS) if entry["time"] < posts[0]["time"]]
    assert gets_before_post == []
    assert len(central_node.log("GET", r"/sensors$")) == 2


def test_same_seed_twice_is_one_task(central_node, run_playbook):
    sensor = central_node.sensors[1]
    seed = "INC-4711/%s/ipconfig" % sensor["host"]
    task = {MODULE: {"sensor_ip": sensor["ip"], "executable": "cmd.exe", "arguments": "/c ipconfig /all",
                     "task_id": "{{ '%s' | kaspersky.edr.task_uuid }}" % seed, "start_now": False}}
    run = run_playbook(tasks=[dict(task, name="first"), dict(task, name="second"),
                              dict(task, name="third", check_mode=True)], diff=True)
    assert run.rc == 0, run
    expected = str(uuid.uuid5(NAMESPACE, seed))
    first, second, third = run.result("first"), run.result("second"), run.result("third")
    assert first["task_id"] == second["task_id"] == third["task_id"] == expected
    assert first["changed"] is True
    assert second["changed"] is False and third["changed"] is False
    assert second["diff"]["before"] == second["diff"]["after"]
    assert second["state"] == "pending"
    assert second["sensor_id"] == sensor["sensorId"]
    assert list(central_node.tasks) == [expected]
    assert len(central_node.writes()) == 1


def test_existing_task_with_different_settings_fails_before_any_write(central_node, run_playbook):
    sensor = central_node.sensors[1]  # upper-case sensor ID in the fake
    task_id = str(uuid.uuid4())
    plant_task(central_node, task_id, sensor, {"schedule": {"startNow": True}, "execCommand": "cmd.exe",
                                               "cmdLineParameters": "/c whoami"})
    base = {"sensor_id": sensor["sensorId"].lower(), "task_id": task_id.upper(), "executable": "cmd.exe"}
    run = run_playbook(tasks=[
        {"name": "same", MODULE: dict(base, arguments="/c whoami")},
        {"name": "different", MODULE: dict(base, arguments="/c ipconfig", working_directory="C:\\Temp",
                                           start_now=False), "ignore_errors": True},
        {"name": "other host", MODULE: dict(base, sensor_id=central_node.sensors[0]["sensorId"],
                                            arguments="/c whoami"), "ignore_errors": True},
        {"name": "no arguments", MODULE: base, "ignore_errors": True},
    ])
    assert run.rc == 0, run
    same = run.result("same")
    assert same["changed"] is False and same["task_id"] == task_id
    different = run.result("different")
    assert status(run, "different") == "failed" and different["changed"] is False
    assert "already exists with different settings" in different["msg"]
    for option in ("arguments", "working_directory", "start_now"):
        assert option in different["msg"], different["msg"]
    assert "executable" not in [item["option"] for item in different["differences"]]
    assert "cannot be edited" in different["msg"]
    other = run.result("other host")
    assert status(run, "other host") == "failed" and "sensor" in other["msg"]
    assert status(run, "no arguments") == "failed"
    assert "arguments" in run.result("no arguments")["msg"]
    assert central_node.writes() == []


def test_absent_deletes_and_repeating_is_no_change(central_node, run_playbook):
    sensor = central_node.sensors[2]
    task_id = str(uuid.uuid4())
    plant_task(central_node, task_id, sensor, {"schedule": {"startNow": True}, "execCommand": "cmd.exe"})
    absent = {MODULE: {"task_id": task_id, "state": "absent"}}
    run = run_playbook(tasks=[dict(absent, name="check", check_mode=True), dict(absent, name="delete"),
                              dict(absent, name="again")], diff=True)
    assert run.rc == 0, run
    check, delete, again = run.result("check"), run.result("delete"), run.result("again")
    assert check["changed"] is True and delete["changed"] is True
    assert delete["diff"]["before"]["task"]["execCommand"] == "cmd.exe"
    assert delete["diff"]["after"] == {}
    assert delete["state"] == "absent" and delete["task"] == {}
    assert again["changed"] is False and again["state"] == "absent"
    assert central_node.tasks == {}
    deletes = central_node.log("DELETE", TASKS)
    assert len(deletes) == 1 and deletes[0]["path"].endswith("/tasks/" + task_id)
    assert len(central_node.writes()) == 1


def test_wait_returns_when_the_task_is_finished(central_node, run_playbook):
    sensor = central_node.sensors[0]
    run = run_playbook(tasks=[{"name": "run", MODULE: {
        "sensor_id": sensor["sensorId"], "executable": "cmd.exe", "arguments": "/c hostname",
        "task_id": "{{ 'wait-test' | kaspersky.edr.task_uuid }}", "wait": True, "wait_interval": 0.2,
        "wait_timeout": 30}}])
    assert run.rc == 0, run
    result = run.result("run")
    assert result["changed"] is True
    assert result["state"] == "completed"
    assert result["task"]["exitCode"] == 0
    assert 0.5 <= result["waited"] < 10
    polls = central_node.log("GET", TASKS)
    assert len(polls) >= 3
    assert all(entry["query"] == {"settings": "true"} for entry in polls)
    assert len(central_node.log("POST", TASKS)) == 1


def test_wait_fails_clearly_at_wait_timeout(central_node, run_playbook):
    sensor = central_node.sensors[0]
    started = time.time()
    run = run_playbook(tasks=[{"name": "run", MODULE: {
        "sensor_id": sensor["sensorId"], "executable": "cmd.exe", "start_now": False, "wait": True,
        "wait_timeout": 2, "wait_interval": 0.5}}])
    elapsed = time.time() - started
    assert run.rc != 0, run
    result = run.result("run")
    assert status(run, "run") == "failed"
    assert "still pending after wait_timeout=2 seconds" in result["msg"]
    assert result["task_id"] in result["msg"]
    assert result["changed"] is True  # the task was created before waiting
    assert result["state"] == "pending"
    assert 2 <= result["waited"] < 4
    assert elapsed < 20
    assert list(central_node.tasks) == [result["task_id"]]


def test_check_mode_creates_nothing(central_node, run_playbook):
    sensor = central_node.sensors[0]
    args = {"sensor_hostname": sensor["host"], "executable": "cmd.exe", "wait": True}
    run = run_playbook(tasks=[{"name": "random", MODULE: args},
                              {"name": "seeded", MODULE: dict(args, task_id="{{ 'x' | kaspersky.edr.task_uuid }}")}],
                       check=True, diff=True)
    assert run.rc == 0, run
    for name in ("random", "seeded"):
        result = run.result(name)
        assert result["changed"] is True
        assert result["state"] == "absent" and result["task"] == {}
        assert result["diff"]["after"]["task"]["execCommand"] == "cmd.exe"
    assert is_uuid4(run.result("random")["task_id"])
    assert run.result("seeded")["task_id"] == str(uuid.uuid5(NAMESPACE, "x"))
    assert central_node.writes() == []
    assert central_node.tasks == {}
    # The seeded ID was looked up (read-only) to tell whether it exists.
    assert len(central_node.log("GET", TASKS)) == 1


def test_invalid_input_fails_before_any_request(central_node, run_playbook):
    sensor_id = central_node.sensors[0]["sensorId"]
    cases = {
        "bad uuid": ({"sensor_id": sensor_id, "executable": "cmd.exe", "task_id": "not-a-uuid"}, "task_id must be a UUID"),
        "no executable": ({"sensor_id": sensor_id}, "executable"),
        "empty executable": ({"sensor_id": sensor_id, "executable": " "}, "executable must not be empty"),
        "no host": ({"executable": "cmd.exe"}, "sensor_id, sensor_hostname, sensor_ip"),
        "two hosts": ({"sensor_id": sensor_id, "sensor_ip": "10.0.0.1", "executable": "cmd.exe"}, "mutually exclusive"),
        "absent without id": ({"state": "absent"}, "task_id"),
        "timeout": ({"sensor_id": sensor_id, "executable": "cmd.exe", "wait_timeout": 0}, "wait_timeout must be 1..86400"),
        "interval": ({"sensor_id": sensor_id, "executable": "cmd.exe", "wait_interval": 0}, "wait_interval must be"),
    }
    run = run_playbook(tasks=[{"name": name, MODULE: args, "ignore_errors": True} for name, (args, _message) in cases.items()])
    assert run.rc == 0, run
    for name, (_args, message) in cases.items():
        result = run.result(name)
        assert status(run, name) == "failed", name
        assert message in result["msg"], (name, result["msg"])
    assert central_node.log() == []


def test_wrapped_answers_and_a_dropped_create(central_node, run_playbook):
    """`response`-wrapped views are read; a create whose answer was lost is read back, not re-sent."""
    central_node.shape = "response"
    sensor = central_node.sensors[1]
    central_node.add_fault(method="POST", path=TASKS, action="drop_after", times=1)
    task = {MODULE: {"sensor_hostname": sensor["host"], "executable": "cmd.exe", "arguments": "/c ver",
                     "task_id": "{{ 'dropped' | kaspersky.edr.task_uuid }}", "wait": True, "wait_interval": 0.3}}
    run = run_playbook(tasks=[dict(task, name="first"), dict(task, name="second")])
    assert run.rc == 0, run
    first, second = run.result("first"), run.result("second")
    assert first["changed"] is True
    assert any("was not sent again" in warning for warning in first.get("warnings", [])), first
    assert first["state"] == "completed"
    assert "response" not in first["task"]
    assert second["changed"] is False
    assert len(central_node.log("POST", TASKS)) == 1
    assert list(central_node.tasks) == [str(uuid.uuid5(NAMESPACE, "dropped"))]


def test_api_error_names_status_and_message(central_node, run_playbook):
    run = run_playbook(tasks=[{"name": "run", MODULE: {"sensor_id": "00000000-0000-0000-0000-000000000000",
                                                       "executable": "cmd.exe"}}])
    assert run.rc != 0
    result = run.result("run")
    assert "404" in result["msg"] and "Specified host not found" in result["msg"]
    assert result["changed"] is False


def test_role_random_then_deterministic(central_node, run_playbook):
    sensors = central_node.sensors
    role_vars = {"run_process_tasks_list": [
        {"name": "by id", "sensor_id": sensors[0]["sensorId"], "executable": "cmd.exe", "arguments": "/c whoami"},
        {"sensor_hostname": sensors[1]["host"], "executable": "C:\\response\\response_script.bat",
         "arguments": "C:\\response\\", "working_directory": "C:\\response\\"},
        {"name": "seeded", "sensor_ip": sensors[2]["ip"], "executable": "cmd.exe", "seed": "INC-1/ws3"},
        {"name": "fixed", "sensor_ip": sensors[2]["ip"], "executable": "cmd.exe", "arguments": "/c ver",
         "task_id": "6F9619FF-8B86-4011-B42D-00CF4FC964FF"},
    ]}
    play = [{"name": "role", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "random", "ansible.builtin.include_role": {"name": "kaspersky.edr.run_process_tasks"},
         "vars": role_vars},
        {"name": "show random", "ansible.builtin.debug": {"var": "run_process_tasks_results"}},
        {"name": "deterministic", "ansible.builtin.include_role": {"name": "kaspersky.edr.run_process_tasks"},
         "vars": dict(role_vars, run_process_tasks_idempotent=True, run_process_tasks_seed_prefix="INC-1",
                      run_process_tasks_wait=True, run_process_tasks_wait_interval=0.3)},
        {"name": "show deterministic", "ansible.builtin.debug": {"var": "run_process_tasks_results"}},
        {"name": "again", "ansible.builtin.include_role": {"name": "kaspersky.edr.run_process_tasks"},
         "vars": dict(role_vars, run_process_tasks_idempotent=True, run_process_tasks_seed_prefix="INC-1")},
        {"name": "show again", "ansible.builtin.debug": {"var": "run_process_tasks_results"}},
    ]}]
    run = run_playbook(playbook=play)
    assert run.rc == 0, run
    random_results = run.result("show random")["run_process_tasks_results"]
    deterministic = run.result("show deterministic")["run_process_tasks_results"]
    again = run.result("show again")["run_process_tasks_results"]
    assert [r["name"] for r in random_results] == [
        "by id", "C:\\response\\response_script.bat on %s" % sensors[1]["host"], "seeded", "fixed"]
    assert [r["task_id_source"] for r in random_results] == ["random", "random", "seed", "task_id"]
    assert [r["changed"] for r in random_results] == [True, True, True, True]
    assert is_uuid4(random_results[0]["task_id"]) and is_uuid4(random_results[1]["task_id"])
    assert random_results[2]["task_id"] == str(uuid.uuid5(NAMESPACE, "INC-1/ws3"))
    assert random_results[3]["task_id"] == "6f9619ff-8b86-4011-b42d-00cf4fc964ff"
    assert [r["task_id_source"] for r in deterministic] == ["derived", "derived", "seed", "task_id"]
    # New derived IDs for the first two, the seeded and fixed ones already exist.
    assert [r["changed"] for r in deterministic] == [True, True, False, False]
    assert all(r["state"] == "completed" for r in deterministic), deterministic
    assert uuid.UUID(deterministic[0]["task_id"]).version == 5
    assert [r["task_id"] for r in again] == [r["task_id"] for r in deterministic]
    assert [r["changed"] for r in again] == [False, False, False, False]
    assert len(central_node.tasks) == 6
    # 4 random + 2 new derived tasks; the "again" pass wrote nothing (no POST, no DELETE).
    assert [entry["method"] for entry in central_node.writes()] == ["POST"] * 6
    for result in random_results + deterministic:
        assert central_node.tasks[result["task_id"]]["sensorId"] == result["sensor_id"]


def test_role_check_mode_and_bad_input(central_node, run_playbook):
    sensors = central_node.sensors
    role = {"name": "kaspersky.edr.run_process_tasks"}
    play = [{"name": "role", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "check", "ansible.builtin.include_role": role, "vars": {
            "run_process_tasks_idempotent": True, "run_process_tasks_wait": True,
            "run_process_tasks_list": [{"sensor_id": sensors[0]["sensorId"], "executable": "cmd.exe"}]}},
        {"name": "show check", "ansible.builtin.debug": {"var": "run_process_tasks_results"}},
    ]}]
    run = run_playbook(playbook=play, check=True)
    assert run.rc == 0, run
    results = run.result("show check")["run_process_tasks_results"]
    assert len(results) == 1 and results[0]["changed"] is True and results[0]["state"] == "absent"
    assert central_node.writes() == []

    central_node.clear_log()
    bad = [{"name": "role", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "bad", "ansible.builtin.include_role": role, "vars": {
            "run_process_tasks_list": [{"sensor_id": sensors[0]["sensorId"], "sensor_ip": sensors[0]["ip"],
                                        "executable": "cmd.exe"}]}}]}]
    run = run_playbook(playbook=bad)
    assert run.rc != 0
    assert "mutually exclusive" in run.stdout + run.stderr
    assert central_node.log() == []


def test_run_response_script_playbook(central_node, run_playbook, kata_env):
    playbook = os.path.join(REPO_ROOT, "playbooks", "run_response_script.yml")
    sensor = central_node.sensors[2]
    by_ip = {"sensor_ip": sensor["ip"], "incident_id": "INC-4711", "response_wait": True,
             "response_wait_interval": 0.3}
    first = run_playbook(playbook=playbook, extra_vars=by_ip)
    assert first.rc == 0, first
    assert "created; state completed" in first.stdout, first.stdout
    # The same incident again: the task is found, nothing is sent.
    central_node.clear_log()
    second = run_playbook(playbook=playbook, extra_vars=by_ip)
    assert second.rc == 0, second
    assert central_node.writes() == [] and central_node.log("GET", TASKS), central_node.log()
    assert "changed=0" in second.stdout and "already there, nothing sent" in second.stdout, second.stdout
    assert len(central_node.tasks) == 1
    task = list(central_node.tasks.values())[0]
    assert task["sensorId"] == sensor["sensorId"]
    assert task["settings"] == {"schedule": {"startNow": True}, "execCommand": "C:\\response\\response_script.bat",
                                "cmdLineParameters": "C:\\response\\", "workingDirectory": "C:\\response\\"}
    # Without an incident ID: a new random task on every run; connection from extra vars, not env.
    connection = {"kata_host": kata_env["KATA_HOST"], "kata_port": int(kata_env["KATA_PORT"]),
                  "external_system_id": kata_env["KATA_EXTERNAL_SYSTEM_ID"], "client_cert": kata_env["KATA_CLIENT_CERT"],
                  "client_key": kata_env["KATA_CLIENT_KEY"], "ca_path": kata_env["KATA_CA_PATH"]}
    third = run_playbook(playbook=playbook, with_kata_env=False, extra_vars=dict(
        connection, sensor_hostname=sensor["host"], executable="C:\\response\\collect.bat", arguments="/quick"))
    assert third.rc == 0, third
    assert "(random ID)" in third.stdout
    assert len(central_node.tasks) == 2
    assert len(central_node.log("POST", TASKS)) == 1   # the log was cleared before the second run, which sent none
    missing = run_playbook(playbook=playbook)
    assert missing.rc != 0 and "Pass exactly one of" in missing.stdout
