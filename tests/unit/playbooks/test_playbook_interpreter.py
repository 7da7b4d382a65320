# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""localhost plays use the controller's own Python, not a discovered interpreter.

On controllers with pyenv shims or virtualenvs, interpreter discovery for localhost can pick a
``python3.x`` shim that does not exist (every task then fails with "Module result deserialization
failed") or a Python without the collection's requirements. ``ansible_playbook_python`` is the
Python running ansible-playbook, which has them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOKS = os.path.join(REPO_ROOT, "playbooks")
INTERPRETER = "{{ ansible_playbook_python }}"


def playbooks():
    return sorted(name for name in os.listdir(PLAYBOOKS) if name.endswith(".yml"))


def localhost_plays(plays):
    return [play for play in plays if "hosts" in play and play["hosts"] in ("localhost", "127.0.0.1")]


@pytest.mark.parametrize("name", playbooks())
def test_playbook_runs_localhost_with_the_controller_python(name):
    with open(os.path.join(PLAYBOOKS, name)) as handle:
        plays = yaml.safe_load(handle)
    assert localhost_plays(plays), "%s has no localhost play" % name
    for play in localhost_plays(plays):
        assert (play.get("vars") or {}).get("ansible_python_interpreter") == INTERPRETER, (name, play["name"])


def test_role_readme_example_uses_the_controller_python():
    with open(os.path.join(REPO_ROOT, "roles", "run_process_tasks", "README.md")) as handle:
        text = handle.read()
    examples = re.findall(r"```yaml\n(.*?)```", text, re.S)
    plays = [play for example in examples for play in localhost_plays(yaml.safe_load(example) or [])]
    assert plays
    for play in plays:
        assert play["vars"]["ansible_python_interpreter"] == INTERPRETER, play["name"]


def test_molecule_localhost_uses_the_controller_python():
    path = os.path.join(REPO_ROOT, "roles", "run_process_tasks", "molecule", "default", "molecule.yml")
    with open(path) as handle:
        molecule = yaml.safe_load(handle)
    host_vars = molecule["provisioner"]["inventory"]["host_vars"]["localhost"]
    assert host_vars["ansible_python_interpreter"] == INTERPRETER
