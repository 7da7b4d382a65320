# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``make demo``: start the embedded fake servers and run the real playbooks against them.

No Kaspersky product is needed. Every step is an ordinary ``ansible-playbook`` run of a
playbook in ``playbooks/``; its output is shown as is. The fakes stop when the demo ends.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse

from .fakes import pki
from .fakes.central_node import DEFAULT_EXTERNAL_SYSTEM_ID, FakeCentralNode
from .fakes.ksc_server import DEFAULT_PASSWORD, DEFAULT_USER, FakeKscServer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_DIR = os.path.join(REPO_ROOT, ".demo")
UI_RULE_HASH = "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"
EVENT_SOURCE = os.path.join(REPO_ROOT, "extensions", "eda", "plugins", "event_source", "kata_alerts.py")
ALERT_MD5 = "e99a18c428cb38d5f260853678922e03"


def kata_alert(host, ip):
    """One KATA alert as the Central Node sends it over syslog (RFC 3164 header, CEF file_web)."""
    return ("<118>Dec  4 18:00:00 kata-cn CEF:0|AO Kaspersky Lab|Kaspersky Anti Targeted Attack Platform|5.0.0-100|"
            "file_web|File from web detected|High|dvchost=kata-cn eventId=demo-1 shost=%s src=%s "
            "fName=invoice.exe fileHash=%s" % (host, ip, ALERT_MD5))


async def _through_the_source(line):
    """Send ``line`` over TCP to the kaspersky.edr.kata_alerts source (run here, as the engine runs it); its event."""
    spec = importlib.util.spec_from_file_location("kaspersky_edr_kata_alerts", EVENT_SOURCE)
    source = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue = asyncio.Queue()
    task = asyncio.ensure_future(source.main(queue, {"host": "127.0.0.1", "port": port, "protocol": "tcp"}))
    try:
        for _attempt in range(200):
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        writer.write(line.encode("utf-8") + b"\n")
        await writer.drain()
        writer.close()
        return await asyncio.wait_for(queue.get(), 10)
    finally:
        task.cancel()


def banner(text):
    line = "=" * 78
    print("\n%s\n== %s\n%s" % (line, text, line))
    sys.stdout.flush()


def start_ksc(paths):
    """The fake KSC and the KSC_* variables that point the modules at it."""
    ksc = FakeKscServer(paths).start()
    return ksc, {"KSC_HOST": "127.0.0.1", "KSC_PORT": str(ksc.port), "KSC_USERNAME": DEFAULT_USER,
                 "KSC_PASSWORD": DEFAULT_PASSWORD, "KSC_CA_PATH": paths["ca"]}


class Demo:
    def __init__(self):
        if os.path.isdir(DEMO_DIR):
            shutil.rmtree(DEMO_DIR)
        os.makedirs(DEMO_DIR)
        self.paths = pki.generate(os.path.join(DEMO_DIR, "pki"))
        self.central_node = FakeCentralNode(self.paths, sensors=5, task_completion_seconds=2).start()
        self.ksc, ksc_env = start_ksc(self.paths)
        self.collections = tempfile.mkdtemp(prefix="kaspersky-edr-demo-")
        namespace = os.path.join(self.collections, "ansible_collections", "kaspersky")
        os.makedirs(namespace)
        os.symlink(REPO_ROOT, os.path.join(namespace, "edr"))
        self.env = dict(os.environ)
        self.env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections,
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_FORCE_COLOR": os.environ.get("ANSIBLE_FORCE_COLOR", "0"),
            "KATA_HOST": "127.0.0.1",
            "KATA_PORT": str(self.central_node.port),
            "KATA_EXTERNAL_SYSTEM_ID": DEFAULT_EXTERNAL_SYSTEM_ID,
            "KATA_CLIENT_CERT": self.paths["client"],
            "KATA_CLIENT_KEY": self.paths["client_key"],
            "KATA_CA_PATH": self.paths["ca"],
        })
        self.env.update(ksc_env)
        self.failures = []

    def close(self):
        self.central_node.stop()
        self.ksc.stop()
        shutil.rmtree(self.collections, ignore_errors=True)

    def playbook(self, title, playbook, *args, **extra_vars):
        path = os.path.join(REPO_ROOT, "playbooks", playbook)
        if not os.path.exists(path):
            raise SystemExit("demo: %s is missing from playbooks/" % playbook)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", path]
        command += list(args)
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        banner(title)
        shown = ["ansible-playbook", "-i", "localhost,", os.path.relpath(path, REPO_ROOT)] + list(args)
        if extra_vars:
            shown += ["-e", "'%s'" % json.dumps(extra_vars)]
        print("$ " + " ".join(shown))
        sys.stdout.flush()
        proc = subprocess.run(command, env=self.env, cwd=REPO_ROOT, check=False)
        if proc.returncode != 0:
            self.failures.append(title)

    def show_file(self, title, path):
        banner(title)
        print("$ cat " + os.path.relpath(path, REPO_ROOT))
        try:
            with open(path) as handle:
                print(handle.read())
        except (IOError, OSError) as exc:
            print("demo: %s" % exc)
            self.failures.append(title)

    def alert_to_containment(self, sensor):
        """One KATA alert through the event source into playbooks/alert_response.yml, as the rulebook runs it.

        The demo environment has no ansible-rulebook (tests/requirements-demo.txt), so the source runs here and its
        event goes to the playbook as kata_alert_response.yml passes it; only the playbook's report is shown.
        """
        banner("A KATA alert over syslog becomes a containment (kata_alerts source -> alert_response.yml)")
        line = kata_alert(sensor["host"], sensor["ip"])
        print("syslog> " + line)
        try:
            event = asyncio.run(_through_the_source(line))
        except Exception as exc:  # pylint: disable=broad-except
            print("demo: the event source did not deliver the alert: %r" % exc)
            self.failures.append("alert to containment")
            return
        extra_vars = {"kata_event": urllib.parse.quote(json.dumps(event)),
                      "isolation_guard_state": os.path.join(DEMO_DIR, "isolation_guard.json")}
        playbook = os.path.join(REPO_ROOT, "playbooks", "alert_response.yml")
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                               playbook, "-e", json.dumps(extra_vars)],
                              env=dict(self.env, ANSIBLE_NOCOLOR="1"), cwd=REPO_ROOT, capture_output=True, text=True,
                              check=False)
        report = proc.stdout.split('"msg": [', 1)[-1].split("]", 1)[0] if proc.returncode == 0 else ""
        for entry in report.strip().splitlines():
            print("response> " + entry.strip().rstrip(",").strip('"'))
        if proc.returncode != 0 or not report.strip():
            print(proc.stdout[-3000:] + proc.stderr[-3000:])
            self.failures.append("alert to containment")

    def plant_ui_rule(self, sensor):
        banner("A colleague blocks a file by hand in the web UI of %s" % sensor["host"])
        self.central_node.set_prevention(sensor["sensorId"], [
            {"file": {"sha256": UI_RULE_HASH, "name": "blocked by hand in the web UI"}}])
        print(json.dumps({"sensor": sensor["host"], "prevention": self.central_node.get_prevention(
            sensor["sensorId"])}, indent=2))

    def run(self):
        sensors = self.central_node.sensors
        first, second, third = sensors[0], sensors[1], sensors[2]
        banner("Fake Central Node at %s (mutual TLS, CA %s)" % (self.central_node.url, self.paths["ca"]))
        self.playbook("List the Endpoint Agent hosts", "list_sensors.yml", with_settings=False)

        self.playbook("Isolate a host by name for 4 hours", "isolate_host.yml",
                      sensor_hostname=first["host"], isolation_hours=4)
        self.playbook("Run it again: nothing changes", "isolate_host.yml",
                      sensor_hostname=first["host"], isolation_hours=4)
        self.playbook("Release the host", "release_host.yml", sensor_hostname=first["host"])
        self.alert_to_containment(sensors[3])

        self.plant_ui_rule(second)
        self.playbook("Merge mode: block one more hash, the web UI rule stays", "block_hashes.yml", "--diff",
                      sensor_hostname=second["host"],
                      hashes=["44d88612fea8a8f36de82e1278abb02f"])
        report_dir = os.path.join(REPO_ROOT, ".demo", "prevention-report")
        self.playbook("GitOps drift report (check mode, diff): kata_prevention_policy, one run for the whole file",
                      "prevention_gitops.yml", "--check", "--diff", prevention_gitops_report_dir=report_dir)
        self.show_file("The drift report for CI (Markdown; a JUnit XML file beside it)",
                       os.path.join(report_dir, "prevention-summary.md"))
        self.playbook("GitOps enforcement (exclusive mode): every target ends with exactly the listed hashes",
                      "prevention_gitops.yml", "--diff", prevention_gitops_report_dir=report_dir)
        self.playbook("Show the hosts with their settings now", "list_sensors.yml")

        self.playbook("Run a response script on a host by IP (task ID derived from the incident)",
                      "run_response_script.yml", sensor_ip=third["ip"], incident_id="INC-4711",
                      response_wait=True, response_wait_interval=1)
        self.playbook("Run it again: the task is found, the script does not start twice",
                      "run_response_script.yml", sensor_ip=third["ip"], incident_id="INC-4711")
        banner("Fake KSC at %s (KSCBasic login as %s)" % (self.ksc.url, DEFAULT_USER))
        self.playbook("KSC: EDR responses for KES through Kaspersky Security Center", "ksc_response.yml")
        self.playbook("KSC: run it again, every response is already queued", "ksc_response.yml")
        outcome = "FAILED steps: " + ", ".join(self.failures) if self.failures else "all steps succeeded"
        banner("Demo finished: %s" % outcome)
        return 1 if self.failures else 0


def main():
    demo = Demo()
    try:
        return demo.run()
    finally:
        demo.close()


if __name__ == "__main__":
    sys.exit(main())
