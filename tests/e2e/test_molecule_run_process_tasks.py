# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``molecule test`` of the run_process_tasks role (scenario default: localhost, fake Central Node)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

ROLE_DIR = os.path.join(REPO_ROOT, "roles", "run_process_tasks")
BIN_DIR = os.path.dirname(sys.executable)


@pytest.mark.slow
@pytest.mark.toolchain
def test_molecule_default_scenario(tmp_path):
    molecule = os.path.join(BIN_DIR, "molecule")
    assert os.path.exists(molecule) or shutil.which("molecule"), \
        "molecule is not installed: pip install -r tests/requirements.txt"
    ephemeral = tmp_path / "ephemeral"
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("KATA_", "KSC_", "MOLECULE_", "ANSIBLE_")):
            del env[key]
    env.update({
        "PATH": BIN_DIR + os.pathsep + env.get("PATH", ""),
        "MOLECULE_EPHEMERAL_DIRECTORY": str(ephemeral),
        "ANSIBLE_HOME": str(tmp_path / "ansible_home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible_home" / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    proc = subprocess.run([molecule if os.path.exists(molecule) else "molecule", "test", "--scenario-name", "default"],
                          cwd=ROLE_DIR, env=env, capture_output=True, text=True, timeout=540, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-20000:]
    for action in ("create", "syntax", "converge", "idempotence", "verify", "destroy"):
        assert re.search(r"\b%s: Executed: Successful" % action, output), (action, output[-5000:])
    assert re.search(r"actions=7 +successful=7 .*failed=0", output), output[-5000:]
    # The idempotence run changed nothing, and destroy stopped the fake it started.
    assert not (ephemeral / "central_node.pid").exists()
