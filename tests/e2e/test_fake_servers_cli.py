# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fake Central Node and the fake KSC started from their command lines (``python -m``), as
``make demo`` and the docs start them; moved from tests/unit/fakes, which test the fakes in-process.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import subprocess
import sys
import time

import requests

from ansible_collections.kaspersky.edr.tests.fakes.central_node import LINUX_OS

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def auth(user, password):
    """The KSCBasic login header (as tests/unit/fakes/test_ksc_server.py builds it)."""
    b64 = [base64.b64encode(text.encode("utf-8")).decode("ascii") for text in (user, password)]
    return 'KSCBasic user="%s", pass="%s", domain="", internal="0"' % tuple(b64)


def test_the_command_line_prints_the_url_and_certificate_paths(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.central_node", "--pki-dir", str(tmp_path),
                             "--sensors", "2"], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or lines[-1].rstrip() != "}":
            line = proc.stdout.readline()
            assert line, "the fake exited early"
            lines.append(line)
        info = json.loads("".join(lines))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert info["url"].startswith("https://127.0.0.1:") and info["external_system_id"]
    for key in ("ca_path", "client_cert", "client_key"):
        assert os.path.isfile(info[key]), key
    assert len(info["sensors"]) == 2


def test_command_line_switches(tmp_path):
    info_file = tmp_path / "info.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.central_node", "--pki-dir", str(tmp_path / "pki"), "--sensors", "5",
         "--page-size", "2", "--refuse-all-get", "405", "--linux", "2", "--os-key", "osName",
         "--isolation-delete", "state-disabled", "--info-file", str(info_file)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        info = None
        while info is None and time.time() < deadline:
            if info_file.exists():
                try:
                    info = json.loads(info_file.read_text())
                except ValueError:
                    pass
            time.sleep(0.1)
        assert info is not None, proc.stderr.read() if proc.poll() is not None else "no info file"
        assert [sensor.get("osName") for sensor in info["sensors"]][-2:] == [LINUX_OS, LINUX_OS]
        session = requests.Session()
        session.cert = (info["client_cert"], info["client_key"])
        base = "%s/kata/response_api/v1/%s/" % (info["url"], info["external_system_id"])
        first = session.get(base + "sensors", verify=info["ca_path"], timeout=10).json()
        assert len(first["sensors"]) == 2 and first["continuation_token"]
        refused = session.get(base + "settings", params={"sensor_id": "all", "settings_type": "prevention"},
                              verify=info["ca_path"], timeout=10)
        assert refused.status_code == 405
        state = session.get(info["url"] + "/_fake/state", verify=info["ca_path"], timeout=10).json()
        assert state["isolation_delete_marker"] == {"state": "disabled"}
        session.close()
    finally:
        proc.terminate()
        proc.wait(10)
        if os.path.exists(str(info_file)):
            os.remove(str(info_file))


def test_runs_from_the_command_line(tmp_path):
    info_file = tmp_path / "info.json"
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.ksc_server", "--pki-dir", str(tmp_path / "pki"),
                             "--info-file", str(info_file)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while True:
            line = proc.stdout.readline()
            assert line, "the fake exited early"
            lines.append(line)
            if line.startswith("}"):
                break
        info = json.loads("".join(lines))
        assert json.loads(info_file.read_text()) == info
        response = requests.post("https://127.0.0.1:%d/api/v1.0/login" % info["ksc_port"], data="{}",
                                 headers={"Authorization": auth(info["ksc_username"], info["ksc_password"])},
                                 verify=info["ca_path"], timeout=10)
        assert response.status_code == 200
        assert "WS-001" in [host["KLHST_WKS_DN"] for host in info["hosts"]]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
