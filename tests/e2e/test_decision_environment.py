# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/decision-environment.yml: ansible-builder v3 turns it into a build context with the collection,
ansible-rulebook and Java 17 (no container runtime needed: ``ansible-builder create``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import sys

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
DEFINITION = os.path.join(REPO_ROOT, "meta", "decision-environment.yml")


def run(command, timeout=300):
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, "%s\nSTDOUT:\n%s\nSTDERR:\n%s" % (" ".join(command), proc.stdout, proc.stderr)
    return proc


def test_definition_holds_the_engine_java_and_the_requirements():
    with open(DEFINITION) as handle:
        definition = yaml.safe_load(handle)
    assert definition["version"] == 3
    deps = definition["dependencies"]
    assert any(line.startswith("ansible-rulebook") for line in deps["python"])
    with open(os.path.join(REPO_ROOT, "requirements.txt")) as handle:
        needed = [line.split("#")[0].strip() for line in handle if line.split("#")[0].strip()]
    assert set(needed) <= set(deps["python"]), "the modules' requirements"
    assert any("java-17-openjdk" in line for line in deps["system"])
    assert deps["ansible_core"]["package_pip"] and deps["ansible_runner"]["package_pip"]


@pytest.mark.toolchain
def test_ansible_builder_creates_a_decision_environment_context(tmp_path):
    builder = os.path.join(BIN, "ansible-builder")
    assert os.access(builder, os.X_OK), "ansible-builder is not installed in %s" % BIN
    # The repository's layout: meta/decision-environment.yml and build/ee/<artifact>.
    (tmp_path / "meta").mkdir()
    shutil.copy(DEFINITION, str(tmp_path / "meta"))
    build = tmp_path / "build" / "ee"
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(build), REPO_ROOT])
    artifact = [name for name in os.listdir(str(build)) if name.endswith(".tar.gz")][0]
    context = tmp_path / "context"
    run([builder, "create", "-f", str(tmp_path / "meta" / "decision-environment.yml"), "-c", str(context),
         "--output-filename", "Containerfile"])
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install --offline /tmp/kaspersky-edr/kaspersky-edr-*.tar.gz" in containerfile
    assert "ansible-rulebook --version" in containerfile and "JAVA_HOME" in containerfile
    assert (context / "_build" / "collections" / artifact).is_file()
    requirements = (context / "_build" / "requirements.txt").read_text()
    assert "ansible-rulebook" in requirements and "requests>=2.28" in requirements
    assert "java-17-openjdk-headless" in (context / "_build" / "bindep.txt").read_text()
