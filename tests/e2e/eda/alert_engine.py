# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kata_alert_response.yml in the real ``ansible-rulebook``, from the collection installed from its tarball.

* ``install_collection()`` builds the artifact (``ansible-galaxy collection build``) and installs it into a
  fresh collections path; the engine then finds the ``kaspersky.edr.kata_alerts`` source, the rulebook and the
  ``kaspersky.edr.alert_response`` playbook there only (``ANSIBLE_COLLECTIONS_PATH``).
* ``AlertEngine`` starts ``ansible-rulebook -r <installed rulebook> --vars v.yml -i inventory`` with the
  audit websocket of tests/e2e/eda/engine.py, waits until the source listens, sends syslog from another
  process (tests/e2e/eda/syslog_sender.py) and stops the engine.
Used by tests/e2e/test_kata_alert_rulebook.py and tests/perf/bench_alerts.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time

import yaml

from tests.e2e.eda.engine import BIN, AuditServer, java_home, rulebook_command

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENDOR = "AO Kaspersky Lab"
PRODUCT = "Kaspersky Anti Targeted Attack Platform"


def install_collection(workdir):
    """Build the collection's artifact and install it under ``workdir``; the collections path."""
    build, root = os.path.join(workdir, "build"), os.path.join(workdir, "collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_HOME=os.path.join(workdir, "home"))
    galaxy = os.path.join(BIN, "ansible-galaxy")
    for command in ([galaxy, "collection", "build", "--force", "--output-path", build, REPO_ROOT],):
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
    artifact = [name for name in os.listdir(build) if name.endswith(".tar.gz")][0]
    subprocess.run([galaxy, "collection", "install", "--offline", "-p", root, os.path.join(build, artifact)],
                   env=env, check=True, capture_output=True, timeout=300)
    return root


def cef_alert(host=None, ip=None, severity="High", hashes=(), alert_id="1", name="File from web detected"):
    """One KATA alert as the Central Node sends it: an RFC 3164 header and a CEF file_web message."""
    keys = [("dvchost", "kata-cn.corp.example"), ("eventId", alert_id), ("rt", "Dec 04 2026 18:00:00")]
    if ip:
        keys.append(("src", ip))
    if host:
        keys.append(("shost", host))
    keys += [("fName", "invoice.exe"), ("fileType", "PE32 executable")]
    for digest in hashes:
        keys.append(("KasperskyLabKATAfileSHA256" if len(digest) == 64 else "fileHash", digest))
    return "<118>Dec  4 18:00:00 kata-cn CEF:0|%s|%s|5.0.0-100|file_web|%s|%s|%s" % (
        VENDOR, PRODUCT, name, severity, " ".join("%s=%s" % pair for pair in keys))


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(protocol, port):
    if protocol == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as exc:
                return exc.errno == errno.EADDRINUSE
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class AlertEngine:
    """One ``ansible-rulebook`` process running the installed kata_alert_response.yml."""

    def __init__(self, workdir, collections, env, rulebook_vars, protocol="tcp"):
        self.workdir = workdir
        self.protocol = protocol
        self.port = free_port(socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM)
        self.vars = dict(rulebook_vars, kata_alerts_host="127.0.0.1", kata_alerts_port=self.port,
                         kata_alerts_protocol=protocol)
        self.rulebook = os.path.join(collections, "ansible_collections", "kaspersky", "edr", "extensions", "eda",
                                     "rulebooks", "kata_alert_response.yml")
        self.env = dict(env)
        self.env.update({"ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
                         "JAVA_HOME": java_home(), "PATH": BIN + os.pathsep + env.get("PATH", "")})
        self.audit = None
        self.proc = None
        self.out = None

    def start(self, timeout=120):
        command = rulebook_command()
        vars_file = os.path.join(self.workdir, "v.yml")
        with open(vars_file, "w") as handle:
            yaml.safe_dump(self.vars, handle)
        inventory = os.path.join(self.workdir, "inventory.yml")
        with open(inventory, "w") as handle:
            handle.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
        self.audit = AuditServer()
        self.out = open(os.path.join(self.workdir, "engine.log"), "w+")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [command, "-r", self.rulebook, "--vars", vars_file, "-i", inventory, "--websocket-url", self.audit.url],
            env=self.env, cwd=self.workdir, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not listening(self.protocol, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the source never listened on port %d:\n%s" % (self.port, self.output()))
            time.sleep(0.2)
        return self

    def send(self, messages, gap=0.0, tls=None, stamp=None):
        """Send ``messages`` from another process; ``tls`` is (cert, key, ca) for protocol tls."""
        path = os.path.join(self.workdir, "messages-%d.json" % time.monotonic_ns())
        with open(path, "w") as handle:
            json.dump(messages, handle)
        command = [sys.executable, "-m", "tests.e2e.eda.syslog_sender", "--protocol", self.protocol,
                   "--port", str(self.port), "--gap", str(gap), path]
        if tls:
            command += ["--cert", tls[0], "--key", tls[1], "--ca", tls[2]]
        if stamp:
            command += ["--stamp", stamp]
        subprocess.run(command, cwd=REPO_ROOT, check=True, timeout=600)

    def actions(self):
        return self.audit.actions() if self.audit else []

    def output(self):
        if self.out is None:
            return ""
        self.out.flush()
        with open(self.out.name) as handle:
            return handle.read()[-12000:]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.audit is not None:
            self.audit.close()
        if self.out is not None:
            self.out.close()


def wait_for(predicate, timeout, engine=None, quiet=None, log=None):
    """Wait until ``predicate()``; then, with ``quiet`` seconds and a ``log`` callable, until the log is still."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline or (engine is not None and engine.proc.poll() is not None):
            raise AssertionError("timed out waiting%s" % (":\n" + engine.output() if engine else ""))
        time.sleep(0.2)
    if quiet and log:
        seen, still_since = len(log()), time.monotonic()
        while time.monotonic() - still_since < quiet and time.monotonic() < deadline:
            time.sleep(0.2)
            if len(log()) != seen:
                seen, still_since = len(log()), time.monotonic()
