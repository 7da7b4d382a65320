# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release artifact: ansible-galaxy collection build, install into a clean path, run from there.

Galaxy's own upload checks (galaxy-importer, with ansible-doc and ansible-lint, ansible-test off:
it runs separately) must pass on the tarball without an error or a warning. The execution
environment definition (meta/execution-environment.yml) is checked with ansible-builder
(``create`` writes the build context without a container runtime, and ``introspect`` shows what
another EE would pull in for this collection). A missing tool fails: they are test requirements.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def galaxy_version():
    with open(os.path.join(REPO_ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)["version"]


def run(command, env=None, cwd=None, timeout=300):
    proc = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, "%s\nSTDOUT:\n%s\nSTDERR:\n%s" % (" ".join(command), proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    out = tmp_path_factory.mktemp("galaxy_build")
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out), REPO_ROOT])
    path = out / ("kaspersky-edr-%s.tar.gz" % galaxy_version())
    assert path.is_file(), os.listdir(str(out))
    return str(path)


@pytest.fixture(scope="module")
def installed(artifact, tmp_path_factory):
    root = tmp_path_factory.mktemp("installed_collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_HOME=str(root / "home"))
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", str(root), artifact],
        env=env)
    assert (root / "ansible_collections" / "kaspersky" / "edr" / "MANIFEST.json").is_file()
    return str(root)


def test_artifact_holds_the_collection_and_no_junk(artifact):
    with tarfile.open(artifact) as archive:
        names = archive.getnames()
        manifest = json.load(archive.extractfile("MANIFEST.json"))
    assert manifest["collection_info"]["namespace"] == "kaspersky"
    assert manifest["collection_info"]["name"] == "edr"
    for required in ("FILES.json", "README.md", "meta/runtime.yml", "meta/execution-environment.yml",
                     "plugins/modules/kata_sensor_info.py", "plugins/inventory/kata_sensors.py",
                     "plugins/module_utils/kata.py", "plugins/doc_fragments/kata.py", "playbooks/isolate_host.yml",
                     "extensions/eda/rulebooks/kata_response.yml", "docs/awx/credential_types/kata_central_node.yml",
                     "extensions/eda/plugins/event_source/kata_alerts.py", "meta/extensions.yml",
                     "requirements.txt", "meta/requirements.txt", "changelogs/changelog.yaml"):
        assert required in names, required
    junk = [name for name in names
            if name.split("/")[0] in (".venv", ".venv-demo", ".matrix", ".git", "build", ".demo", ".pytest_cache", ".ansible", ".cache", ".ci")
            or "__pycache__" in name.split("/") or name.endswith((".pyc", ".tar.gz", ".pem", ".key"))
            or name.startswith("tests/output")]
    assert junk == []


def test_playbook_runs_from_the_installed_collection(installed, run_playbook, ansible_env, kata_env, central_node):
    env = {"ANSIBLE_COLLECTIONS_PATH": installed}
    run_ = run_playbook(tasks=[{"name": "info", "kaspersky.edr.kata_sensor_info": {"hostname": "WS-002.corp.example"}}],
                        env=env)
    assert run_.rc == 0, run_
    assert [sensor["hostname"] for sensor in run_.result("info")["sensors"]] == ["WS-002.corp.example"]

    full_env = dict(ansible_env, **kata_env)
    full_env.update(env)
    # The module really comes from the installed copy, not from this checkout.
    doc = run([os.path.join(BIN, "ansible-doc"), "--json", "kaspersky.edr.kata_sensor_info"], env=full_env)
    filename = json.loads(doc.stdout)["kaspersky.edr.kata_sensor_info"]["doc"]["filename"]
    assert os.path.realpath(filename).startswith(os.path.realpath(installed)), filename
    # A collection playbook by FQCN (what the EDA rulebook runs), and the inventory plugin.
    book = run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "kaspersky.edr.list_sensors",
                "-e", "with_settings=false"], env=full_env, cwd=installed)
    assert "WS-003.corp.example" in book.stdout
    config = os.path.join(installed, "edr.kata_sensors.yml")
    with open(config, "w") as handle:
        handle.write("plugin: kaspersky.edr.kata_sensors\n")
    inventory = run([os.path.join(BIN, "ansible-inventory"), "-i", config, "--graph"], env=full_env, cwd=installed)
    assert "WS-001.corp.example" in inventory.stdout
    assert central_node.writes() == []


def requirement_lines(path):
    with open(path) as handle:
        return [line.split("#")[0].strip() for line in handle if line.split("#")[0].strip()]


def test_execution_environment_definition_matches_the_requirements():
    with open(os.path.join(REPO_ROOT, "meta", "execution-environment.yml")) as handle:
        definition = yaml.safe_load(handle)
    assert definition["version"] == 3
    deps = definition["dependencies"]
    # `ansible-builder build -f meta/...` reads meta/<file>; introspection of the installed collection
    # reads <collection root>/<file>: both must exist and say the same.
    assert deps["python"] == "requirements.txt" and "system" not in deps
    assert requirement_lines(os.path.join(REPO_ROOT, "meta", deps["python"])) == \
        requirement_lines(os.path.join(REPO_ROOT, deps["python"]))
    assert "requests>=2.28" in requirement_lines(os.path.join(REPO_ROOT, deps["python"]))
    assert "ansible-core" in deps["ansible_core"]["package_pip"] and deps["ansible_runner"]["package_pip"]


def tool(name):
    """A test requirement's command; missing is a failure, not a skip."""
    path = os.path.join(BIN, name)
    assert os.access(path, os.X_OK), "%s is not installed in %s (pip install -r tests/requirements.txt)" % (name, BIN)
    return path


@pytest.mark.toolchain
def test_galaxy_importer_accepts_the_artifact(artifact, tmp_path):
    """What Galaxy runs on upload, with ansible-test off; any ERROR or WARNING line fails."""
    importer_python = sys.executable
    tool("ansible-doc")
    tool("ansible-lint")
    config = tmp_path / "galaxy-importer.cfg"
    config.write_text("[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_DOC = True\n"
                      "RUN_ANSIBLE_LINT = True\nCHECK_CHANGELOG = True\nLOG_LEVEL_MAIN = INFO\n")
    env = dict(os.environ, GALAXY_IMPORTER_CONFIG=str(config), PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_HOME=str(tmp_path / "ansible_home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible_tmp"))
    env = dict((key, value) for key, value in env.items() if not key.startswith("GALAXY_IMPORTER_")
               or key == "GALAXY_IMPORTER_CONFIG")
    proc = subprocess.run([importer_python, "-m", "galaxy_importer.main", artifact], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    report = "galaxy-importer rc=%s\n%s" % (proc.returncode, output)
    assert proc.returncode == 0, report
    assert "Importer processing completed successfully" in output, report
    problems = [line for line in output.splitlines() if re.match(r"\s*(WARNING|ERROR|CRITICAL)\b", line)]
    assert problems == [], report
    # ansible-doc and ansible-lint really ran (the importer skips them, with a warning, when not on PATH).
    assert "Getting doc strings via ansible-doc" in output and "Linting collection via ansible-lint" in output, report
    with open(str(tmp_path / "importer_result.json")) as handle:
        result = json.load(handle)
    names = set((item["content_type"], item["name"]) for item in result["contents"])
    assert {("module", "kata_isolation"), ("role", "run_process_tasks"), ("inventory", "kata_sensors"),
            ("eda/plugins/event_source", "kata_alerts")} <= names, sorted(names)
    assert all(item["name"] for item in result["contents"])
    assert result["docs_blob"]["collection_readme"]["html"]


@pytest.mark.toolchain
def test_ansible_builder_creates_a_context_with_the_collection(artifact, tmp_path):
    builder = tool("ansible-builder")
    # The same layout as the repository: meta/execution-environment.yml and build/ee/<artifact>.
    (tmp_path / "meta").mkdir()
    for name in ("execution-environment.yml", "requirements.txt"):
        shutil.copy(os.path.join(REPO_ROOT, "meta", name), str(tmp_path / "meta"))
    (tmp_path / "build" / "ee").mkdir(parents=True)
    shutil.copy(artifact, str(tmp_path / "build" / "ee"))
    context = tmp_path / "context"
    run([builder, "create", "-f", str(tmp_path / "meta" / "execution-environment.yml"), "-c", str(context),
         "--output-filename", "Containerfile"])
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install --offline /tmp/kaspersky-edr/kaspersky-edr-*.tar.gz" in containerfile
    assert (context / "_build" / "collections" / os.path.basename(artifact)).is_file()
    assert "requests>=2.28" in (context / "_build" / "requirements.txt").read_text()


@pytest.mark.toolchain
def test_ansible_builder_introspection_finds_the_python_requirements(installed):
    builder = tool("ansible-builder")
    proc = run([builder, "introspect", "--sanitize", installed])
    assert "requests>=2.28" in proc.stdout and "kaspersky.edr" in proc.stdout, proc.stdout
