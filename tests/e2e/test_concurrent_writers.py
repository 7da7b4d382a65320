# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two playbooks add different hashes to the same host at the same time.

The API replaces the whole list on every POST, so without write verification the later writer
silently drops the earlier one's hash. With it (the default) either both hashes end up blocked,
next to the rule made in the web UI, or a run fails saying that a concurrent change was detected.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import yaml

from tests.conftest import REPO_ROOT

A = "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"
C = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
D = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
UI_RULE = {"file": {"sha256": A, "name": "Blocked by hand in the web UI"}}
CONCURRENT = "Concurrent change detected"


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


def test_two_writers_at_once_lose_nothing(ansible_env, kata_env, central_node, tmp_path):
    sid = central_node.sensors[0]["sensorId"]
    central_node.latency = 0.25  # every request takes a while, so the two runs overlap
    for round_number in range(2):
        central_node.set_prevention(sid, [UI_RULE])
        central_node.clear_log()
        first = start(ansible_env, kata_env, tmp_path, "writer_c_%d" % round_number, sid, C)
        second = start(ansible_env, kata_env, tmp_path, "writer_d_%d" % round_number, sid, D)
        outcomes = [outcome(*first), outcome(*second)]
        final = central_node.get_prevention(sid)
        assert final[0] == UI_RULE, final  # the web UI rule always survives, as read
        for (rc, result, output), digest in zip(outcomes, (C, D)):
            if rc == 0:
                assert result["changed"] is True and result["verified"] is True, output
                assert {"file": {"sha256": digest}} in final, (final, output)
            else:
                assert CONCURRENT in result["msg"], output
        hashes = [obj["file"]["sha256"] for obj in final]
        assert len(hashes) == len(set(hashes)), final  # never a duplicate
