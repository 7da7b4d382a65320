# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a rulebook of extensions/eda/rulebooks in the real ``ansible-rulebook`` engine.

* The rulebook file runs unchanged. Its ``ansible.eda.webhook`` source is served by
  tests/e2e/eda/webhook_stand_in.py, copied to ``<dir>/ansible.eda.webhook.py`` for
  ``ansible-rulebook -S <dir>``; it delivers the test's alerts.
* What the engine did comes from its own audit trail: ansible-rulebook sends every action
  (rule, action, matching event, status, playbook name, rc) to the websocket of ``-W``, as it
  does to the EDA server. A small websocket server here records them.
* Every ``run_playbook`` runs the collection's real playbook through ansible-runner; the
  record_playbook_vars callback (tests/e2e/callback_plugins) writes the playbook's file name
  and extra vars, and record_results every task result.

Missing tools (ansible-rulebook, ansible-galaxy, java) fail the test: they are test requirements.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RULEBOOKS = os.path.join(REPO_ROOT, "extensions", "eda", "rulebooks")
BIN = os.path.dirname(sys.executable)
DEFAULT_JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
# The last alert, which the test adds after its own: it must make a rule fire (kata_response.yml's
# catch-all rule does for this one); once its action is reported, every earlier one is done too
# (actions run one after another: --execution-strategy sequential).
END_OF_ALERTS = {"eda_test": "end of alerts"}


class ToolMissing(AssertionError):
    pass


def java_home():
    home = os.environ.get("JAVA_HOME") or DEFAULT_JAVA_HOME
    if not os.access(os.path.join(home, "bin", "java"), os.X_OK):
        raise ToolMissing("ansible-rulebook needs Java 17: no %s/bin/java (set JAVA_HOME)" % home)
    return home


def rulebook_command():
    for tool in ("ansible-rulebook", "ansible-galaxy"):
        if not os.access(os.path.join(BIN, tool), os.X_OK):
            raise ToolMissing("%s is not installed in %s (pip install -r tests/requirements.txt)" % (tool, BIN))
    return os.path.join(BIN, "ansible-rulebook")


class AuditServer:
    """A websocket server that records the JSON messages ansible-rulebook sends to ``-W``."""

    def __init__(self):
        # Imported here so the module loads where ansible-rulebook is not installed (make test-matrix
        # deselects these tests on older ansible-core); in the suite a missing package fails the test.
        from websockets.sync.server import serve  # pylint: disable=import-outside-toplevel

        self.messages = []
        self.lock = threading.Lock()
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handle(self, connection):
        for message in connection:
            with self.lock:
                self.messages.append(json.loads(message))

    @property
    def url(self):
        return "ws://127.0.0.1:%d/api/ws2" % self.port

    def actions(self):
        """The finished actions, in the order they were reported."""
        with self.lock:
            return [dict(message) for message in self.messages if message.get("type") == "Action"]

    def close(self):
        self.server.shutdown()
        self.thread.join(10)


def alert_index(action):
    """The X-Test-Alert header of the event that made the rule fire."""
    return int(action["matching_events"]["m"]["meta"]["headers"]["X-Test-Alert"])


class RulebookRun:
    def __init__(self, proc, stdout, stderr, actions, playbooks, results):
        self.rc = proc.returncode
        self.stdout = stdout
        self.stderr = stderr
        self.actions = actions
        self.playbooks = playbooks
        self.results = results

    def actions_for(self, index):
        """(rule, action, playbook or job template or None, status) for each action the alert at ``index`` started."""
        return [(action["rule"], action["action"], action.get("playbook_name") or action.get("job_template_name"),
                 action["status"]) for action in self.actions if alert_index(action) == index]

    def playbooks_for(self, index):
        """(playbook file, extra vars without ansible_eda) for each playbook run the alert started."""
        runs = []
        for run in self.playbooks:
            extra_vars = dict(run["extra_vars"])
            event = extra_vars.pop("ansible_eda")["event"]
            if int(event["meta"]["headers"]["X-Test-Alert"]) == index:
                runs.append((run["playbook"], extra_vars))
        return runs

    def __repr__(self):
        return "RulebookRun(rc=%s)\nACTIONS:\n%s\nPLAYBOOKS:\n%s\nSTDOUT:\n%s\nSTDERR:\n%s" % (
            self.rc, json.dumps(self.actions, indent=1)[:6000], json.dumps(self.playbooks, indent=1),
            self.stdout[-6000:], self.stderr[-6000:])


def run_rulebook(rulebook, alerts, workdir, env, token, timeout=240, end_of_alerts=None, controller_url=None,
                 controller_token=None):
    """Run ``rulebook`` (a file name in extensions/eda/rulebooks) with ``alerts`` delivered by the webhook.

    ``alerts`` is a list of ``(token, payload)``; ``env`` the environment of ansible-rulebook (and of
    the playbooks it runs); ``token`` the value of EDA_WEBHOOK_TOKEN; ``end_of_alerts`` the payload of
    the last alert (default END_OF_ALERTS); ``controller_url``/``controller_token`` the automation
    controller for run_job_template.
    """
    command = rulebook_command()
    home = java_home()
    sources = os.path.join(workdir, "sources")
    os.makedirs(sources)
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "webhook_stand_in.py"),
                os.path.join(sources, "ansible.eda.webhook.py"))
    alerts_file = os.path.join(workdir, "alerts.json")
    with open(alerts_file, "w") as handle:
        json.dump([{"token": alert_token, "payload": payload} for alert_token, payload in alerts]
                  + [{"token": token, "payload": end_of_alerts or END_OF_ALERTS}], handle)
    end_index = len(alerts)
    inventory = os.path.join(workdir, "inventory.yml")
    with open(inventory, "w") as handle:
        handle.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    stop_file = os.path.join(workdir, "stop")
    playbooks_file = os.path.join(workdir, "playbooks.jsonl")
    results_file = os.path.join(workdir, "results.jsonl")
    run_env = dict(env)
    run_env.update({
        "JAVA_HOME": home,
        "PATH": BIN + os.pathsep + run_env.get("PATH", ""),
        "EDA_WEBHOOK_TOKEN": token,
        "EDA_TEST_ALERTS": alerts_file,
        "EDA_TEST_STOP": stop_file,
        "EDR_TEST_PLAYBOOKS": playbooks_file,
        "EDR_TEST_RESULTS": results_file,
        "ANSIBLE_CALLBACKS_ENABLED": "record_results,record_playbook_vars",
    })
    controller_args = []
    if controller_url:
        controller_args = ["--controller-url", controller_url, "--controller-token", controller_token,
                           "--controller-ssl-verify", "no"]
        run_env["EDA_JOB_TEMPLATE_REFRESH_DELAY"] = "0.5"  # how often it polls the jobs (default 10 s)
    audit = AuditServer()
    try:
        with open(os.path.join(workdir, "stdout"), "w+") as out, open(os.path.join(workdir, "stderr"), "w+") as err:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [command, "--rulebook", os.path.join(RULEBOOKS, rulebook), "--inventory", inventory,
                 "--source-dir", sources, "--env-vars", "EDA_WEBHOOK_TOKEN", "--websocket-url", audit.url,
                 "--execution-strategy", "sequential", "--shutdown-delay", "5"] + controller_args,
                env=run_env, cwd=workdir, stdout=out, stderr=err)
            deadline = time.monotonic() + timeout
            try:
                while not any(alert_index(action) == end_index for action in audit.actions()):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                with open(stop_file, "w"):
                    pass
                proc.wait(max(5, deadline - time.monotonic()))
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        # The feedback websocket may still be sending when the process ends; give the server a moment.
        time.sleep(0.2)
        actions = [action for action in audit.actions() if alert_index(action) != end_index]
        reported_end = any(alert_index(action) == end_index for action in audit.actions())
    finally:
        audit.close()
    playbooks = read_jsonl(playbooks_file)
    results = read_jsonl(results_file)
    run = RulebookRun(proc, stdout, stderr, actions, playbooks, results)
    if not reported_end:
        raise AssertionError("the rulebook did not process the alerts (no action for the last alert):\n%r" % run)
    return run


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]
