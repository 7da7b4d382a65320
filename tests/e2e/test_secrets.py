# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets never leak: the client key passphrase and the KSC password, with ansible-playbook -vvv.

Every module of the collection runs in one playbook (kata_sensor_info, kata_isolation,
kata_prevention, kata_run_process with an encrypted client key; ksc_edr_response with a
password), plus one task per product that fails after connecting (an API error message).
Four runs: the secrets as module options (from play vars, as a vault variable would be) or
from the environment (as the AWX credential types inject them), each once right and once
wrong. ``ANSIBLE_DEBUG`` is unset. The secrets (and the base64 form the KSC login header
uses) must not appear in stdout, stderr, the returned values, or anything the fake servers
logged: paths, query strings, bodies, and the request headers, which these tests record
too. The one expected place is the KSC login's ``Authorization`` header, which carries the
base64 password by protocol; it must be the only one.

tests/e2e/test_kata_sensor_info.py and tests/e2e/test_ksc_edr_response.py check a success
(sensor_info) and a wrong password (ksc_edr_response) on their own; this file covers every
module and both ways of passing the secrets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import contextlib
import json
import os

import pytest

from ansible.release import __version__ as CORE_VERSION
from ansible_collections.kaspersky.edr.tests.fakes.pki import CLIENT_KEY_PASSPHRASE
from ansible_collections.kaspersky.edr.tests.fakes.ksc_server import DEFAULT_PASSWORD

WRONG_PASSPHRASE = "Wr0ng-Key-Passphrase-%d" % os.getpid()
WRONG_PASSWORD = "Wr0ng-Ksc-Passw0rd-%d" % os.getpid()
TASK_ID = "5a1f2b3c-4d5e-4f60-8172-8394a5b6c7d8"
SHA = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
CORE = tuple(int(part) for part in CORE_VERSION.split(".")[:2])
# How a core shows a no_log option's value in the module arguments: 2.22 redacts by position in the spec.
MASK = "$REDACTED$" if CORE >= (2, 22) else "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
KATA_TASKS = ("kata_sensor_info", "kata_isolation", "kata_prevention", "kata_run_process", "kata api error")
KSC_TASKS = ("ksc_edr_response", "ksc api error")


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


@contextlib.contextmanager
def recording_headers(*fakes):
    """Make the fakes keep every request's headers in their log entries."""
    for fake in fakes:
        original = fake.record

        def record(request, fault=None, _original=original):
            entry = _original(request, fault)
            entry["headers"] = dict(request.headers.items())
            return entry

        fake.record = record
    try:
        yield
    finally:
        for fake in fakes:
            del fake.record


def playbook(central_node, vars_file):
    """Every module; with ``vars_file`` the secrets come from it (as from a vault file) as module options."""
    sid = central_node.sensors[0]["sensorId"]
    kata = {}
    ksc = {}
    if vars_file:
        kata = {"client_key_passphrase": "{{ key_passphrase }}"}
        ksc = {"ksc_password": "{{ ksc_password }}"}

    def task(name, module, **options):
        return {"name": name, "kaspersky.edr." + module: dict(options), "ignore_errors": True}

    task_list = [
        task("kata_sensor_info", "kata_sensor_info", include_settings=["prevention"], **kata),
        task("kata_isolation", "kata_isolation", sensor_id=sid, auto_turnoff_timeout_hours=2, **kata),
        task("kata_prevention", "kata_prevention", sensor_id=sid, hashes=[SHA], **kata),
        task("kata_run_process", "kata_run_process", sensor_id=sid, task_id=TASK_ID, executable="cmd.exe",
             arguments="/c ipconfig", **kata),
        task("kata api error", "kata_run_process", sensor_id="00000000-0000-0000-0000-000000000000",
             executable="cmd.exe", **kata),
        task("ksc_edr_response", "ksc_edr_response", target_hostname="WS-001", task="isolateHost",
             params={"action": 1}, **ksc),
        task("ksc api error", "ksc_edr_response", target_hostname="no-such-host", task="isolateHost",
             params={"action": 1}, **ksc),
    ]
    play = {"name": "secrets", "hosts": "localhost", "gather_facts": False, "tasks": task_list}
    if vars_file:
        # Not inline in the play: ansible-core prints the playbook lines around a failed task.
        play["vars_files"] = [vars_file]
    return [play]


def statuses(run):
    return dict((entry["task"], entry["status"]) for entry in run.results)


def core_injects_invocation_by_default():
    """ansible-core 2.21 stopped returning ``invocation`` (the module arguments) unless
    ``ANSIBLE_INJECT_INVOCATION`` asks for it; older cores always return it."""
    return CORE < (2, 21)


def check_invocations(run, with_options):
    """Every module result carries its arguments (``invocation``), with the secrets masked."""
    modules = [entry for entry in run.results if entry["task"] in KATA_TASKS + KSC_TASKS]
    assert modules and all("invocation" in entry["result"] for entry in modules), run.results
    if not with_options:
        return
    for entry in modules:
        args = entry["result"]["invocation"]["module_args"]
        option = "ksc_password" if entry["task"] in KSC_TASKS else "client_key_passphrase"
        assert args[option] == MASK, (entry["task"], option, args[option])
    if core_injects_invocation_by_default():
        assert MASK in run.stdout        # -vvv printed the module arguments, with the secrets masked


@pytest.mark.parametrize("invocation", ["default", "injected"])
@pytest.mark.parametrize("with_options", [True, False], ids=["module options", "environment"])
@pytest.mark.parametrize("right", [True, False], ids=["right secrets", "wrong secrets"])
def test_secrets_never_leak(central_node, ksc, ksc_env, pki_paths, ansible_env, run_playbook, tmp_path,
                            with_options, right, invocation):
    """``invocation``: the core's default, or ANSIBLE_INJECT_INVOCATION=true (2.21+; older cores return the
    module arguments either way and ignore the variable)."""
    ansible_env.pop("ANSIBLE_DEBUG", None)
    if invocation == "injected":
        ansible_env["ANSIBLE_INJECT_INVOCATION"] = "true"
    passphrase = CLIENT_KEY_PASSPHRASE if right else WRONG_PASSPHRASE
    password = DEFAULT_PASSWORD if right else WRONG_PASSWORD
    env = dict(ksc_env, KATA_CLIENT_KEY=pki_paths["client_key_encrypted"])
    del env["KSC_PASSWORD"]
    vars_file = None
    if with_options:
        vars_file = str(tmp_path / "secrets.yml")
        with open(vars_file, "w") as handle:
            json.dump({"key_passphrase": passphrase, "ksc_password": password}, handle)
    else:
        env.update(KATA_CLIENT_KEY_PASSPHRASE=passphrase, KSC_PASSWORD=password)
    with recording_headers(central_node, ksc):
        run = run_playbook(playbook=playbook(central_node, vars_file), env=env, args=["-vvv"])
        kata_log = json.dumps({"requests": central_node.log(), "connections": central_node.connections},
                              default=str)
        ksc_requests = ksc.log()
        ksc_log = json.dumps({"requests": ksc_requests, "connections": ksc.connections, "logins": ksc.logins},
                             default=str)

    # The runs did what they should, so the secrets were really used.
    assert run.rc == 0, run        # ignore_errors: every task ran
    status = statuses(run)
    if right:
        assert all(status[name] in ("ok", "changed") for name in KATA_TASKS[:4] + KSC_TASKS[:1]), status
        assert status["kata api error"] == "failed" and status["ksc api error"] == "failed", status
        assert central_node.get_isolation(central_node.sensors[0]["sensorId"])
        assert len(ksc.incidents) == 1
    else:
        assert all(status[name] == "failed" for name in KATA_TASKS + KSC_TASKS), status
        for name in KATA_TASKS:
            assert "client_key_passphrase" in run.result(name)["msg"], run.result(name)
        for name in KSC_TASKS:
            assert "authentication failed" in run.result(name)["msg"], run.result(name)
        assert central_node.log() == []           # the key could not be decrypted: nothing was sent
    for entry in run.results:
        if entry["status"] == "failed":
            assert "\n" not in entry["result"]["msg"], entry
    if invocation == "injected" or core_injects_invocation_by_default():
        check_invocations(run, with_options)
    else:   # what a user sees instead: no module arguments anywhere, the secrets checked below all the same
        assert not any("invocation" in entry["result"] for entry in run.results), run.results

    output = run.stdout + run.stderr
    returned = json.dumps(run.results)
    assert "Traceback" not in output
    for secret in (passphrase, password):
        for form in (secret, b64(secret)):
            assert form not in output, "secret in the output"
            assert form not in returned, "secret in the returned values"
            assert form not in kata_log, "secret in the fake Central Node's log"
    assert passphrase not in ksc_log and b64(passphrase) not in ksc_log
    assert password not in ksc_log
    # The KSC password travels only in the login's Authorization header (base64, as the protocol wants).
    carried = []
    for entry in ksc_requests:
        headers = dict(entry["headers"])
        authorization = headers.pop("Authorization", "")
        text = json.dumps(dict(entry, headers=headers), default=str)
        assert b64(password) not in text, entry
        if b64(password) in authorization:
            carried.append(entry["path"])
    assert carried and set(carried) == {"/api/v1.0/login"}, carried
