# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two playbooks add different hashes to the same host at the same time.

The API replaces the whole list on every POST, so without write verification the later writer
silently drops the earlier one's hash. With it (the default) the first writer reads its list back,
sees its hash gone, merges it again onto the list as it is now and writes that: both hashes end up
blocked, next to the rule made in the web UI.

The race is forced, not hoped for: the fake holds requests (before it logs them) so they happen in
this order, every time:

1. writer C reads the list ``[UI]``;
2. writer D reads the same ``[UI]`` (writer C's write is held until this read is answered);
3. writer C writes ``[UI, C]``;
4. writer D writes ``[UI, D]``, dropping C (held until C's write is answered);
5. writer C's read-back (held until D's write is answered) sees ``[UI, D]`` and writes ``[UI, D, C]``.

The test then proves from the request log that the runs overlapped (D's read between C's read and
C's write, D's write between C's write and C's read-back) and asserts the exact final list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys
import threading
import time

import yaml

from tests.conftest import REPO_ROOT

A = "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"
C = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
D = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
UI_RULE = {"file": {"sha256": A, "name": "Blocked by hand in the web UI"}}
GATE_TIMEOUT = 60  # a gate that waits longer lets the request through; the log checks then fail


def start(ansible_env, kata_env, tmp_path, name, sensor_id, digest):
    playbook = tmp_path / ("%s.yml" % name)
    playbook.write_text(yaml.safe_dump([{
        "name": name, "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "block", "kaspersky.edr.kata_prevention": {"sensor_id": sensor_id, "hashes": [digest]}}],
    }]))
    results = tmp_path / ("%s.jsonl" % name)
    env = dict(ansible_env, **kata_env)
    env["EDR_TEST_RESULTS"] = str(results)
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
               str(playbook)]
    proc = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    return proc, results


def outcome(proc, results):
    output = proc.communicate(timeout=300)[0]
    entries = [json.loads(line) for line in results.read_text().splitlines() if line.strip()] \
        if results.exists() else []
    assert entries, output
    return proc.returncode, entries[-1]["result"], output


class Interleaving:
    """Holds requests to the host's prevention settings so that the two writers race as described above.

    Wraps the fake's ``take_fault``, which the server calls for every API request before logging it, so
    a held request enters the log only once released, and the log shows the order the server acted in.
    """

    def __init__(self, fake, sensor_id):
        self.fake = fake
        self.path = re.compile(r"/settings\?(?=.*sensor_id=%s)(?=.*settings_type=prevention)" % re.escape(sensor_id))
        self.lock = threading.Lock()
        self.arrived = {"GET": 0, "POST": 0}
        self.original = fake.take_fault

    def answered(self, method, number):
        """Whether the number-th (1-based) logged method request to the settings has its answer."""
        entries = [entry for entry in self.fake.log(method) if self.path.search(entry["raw_path"])]
        return len(entries) >= number and entries[number - 1]["status"] is not None

    def wait(self, method, number):
        deadline = time.time() + GATE_TIMEOUT
        while time.time() < deadline and not self.answered(method, number):
            time.sleep(0.01)

    def take_fault(self, method, raw_path):
        if self.path.search(raw_path) and method in self.arrived:
            with self.lock:
                self.arrived[method] += 1
                number = self.arrived[method]
            if method == "POST" and number == 1:
                self.wait("GET", 2)        # C's write waits for D's read
            elif method == "POST" and number == 2:
                self.wait("POST", 1)       # D's write comes after C's write
            elif method == "GET" and number == 3:
                self.wait("POST", 2)       # C's read-back comes after D's write
        return self.original(method, raw_path)

    def __enter__(self):
        self.fake.take_fault = self.take_fault
        return self

    def __exit__(self, *exc_info):
        del self.fake.take_fault


def settings_log(fake, sensor_id):
    path = re.compile(r"/settings\?(?=.*sensor_id=%s)(?=.*settings_type=prevention)" % re.escape(sensor_id))
    return [entry for entry in fake.log() if path.search(entry["raw_path"])]


def hashes_of(entry):
    return [obj["file"]["sha256"] for obj in entry["json"]["settings"]["objects"]]


def test_two_writers_at_once_lose_nothing(ansible_env, kata_env, central_node, tmp_path):
    sid = central_node.sensors[0]["sensorId"]
    central_node.set_prevention(sid, [UI_RULE])
    central_node.clear_log()
    with Interleaving(central_node, sid):
        first = start(ansible_env, kata_env, tmp_path, "writer_c", sid, C)
        deadline = time.time() + 120
        while not settings_log(central_node, sid) and time.time() < deadline:
            time.sleep(0.02)  # writer C reads first: D starts once C's read is in the log
        second = start(ansible_env, kata_env, tmp_path, "writer_d", sid, D)
        (rc_c, result_c, output_c), (rc_d, result_d, output_d) = outcome(*first), outcome(*second)

    # Both runs succeed: neither "Concurrent change detected" nor any other failure is accepted.
    assert rc_c == 0 and result_c["changed"] is True and result_c["verified"] is True, output_c
    assert rc_d == 0 and result_d["changed"] is True and result_d["verified"] is True, output_d
    # The exact final list: the web UI rule as it was, D's hash, and C's hash merged again after D's write.
    final = central_node.get_prevention(sid)
    assert final == [UI_RULE, {"file": {"sha256": D}}, {"file": {"sha256": C}}], final
    assert result_c["remerged"] == 1, output_c
    assert result_c["hashes"] == [A, D, C], result_c

    # The overlap, from the log: who sent what, in the order the server handled it.
    log = settings_log(central_node, sid)
    posts = [entry for entry in log if entry["method"] == "POST"]
    assert [hashes_of(entry) for entry in posts] == [[A, C], [A, D], [A, D, C]], log
    conn_c, conn_d = posts[0]["conn"], posts[1]["conn"]
    assert conn_c != conn_d and posts[2]["conn"] == conn_c, log
    order = [(entry["method"], "C" if entry["conn"] == conn_c else "D" if entry["conn"] == conn_d else "?")
             for entry in log]
    read_c, read_d = order.index(("GET", "C")), order.index(("GET", "D"))
    write_c, write_d = order.index(("POST", "C")), order.index(("POST", "D"))
    read_back_c = order.index(("GET", "C"), write_c)
    assert read_c < read_d < write_c, "D's read is not between C's read and C's write: %r" % order
    assert write_c < write_d < read_back_c, "D's write is not between C's write and C's read-back: %r" % order
    assert all(entry["status"] == 200 for entry in log), log
