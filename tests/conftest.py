# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures: the throwaway PKI, the fake Central Node, and ansible-playbook runs.

The fake servers run in this process (in threads) so tests can seed their state and
read their request logs directly; ``ansible-playbook`` runs as a real subprocess and
talks to them over HTTPS with mutual TLS.

Shared test code is imported by its collection name (``ansible_collections.kaspersky.edr.tests...``):
under ``ansible-test units`` that is the only name it has, and under plain pytest
``tests/collection_path.py`` (loaded by pytest.ini) makes it importable before this file is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.kaspersky.edr.tests.client_factory import client_factory
from ansible_collections.kaspersky.edr.tests.fakes import pki
from ansible_collections.kaspersky.edr.tests.fakes.central_node import DEFAULT_EXTERNAL_SYSTEM_ID, FakeCentralNode

pytest_plugins = ["ansible_collections.kaspersky.edr.tests.ksc_fixtures",
                  "ansible_collections.kaspersky.edr.tests.fault_report"]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E_DIR = os.path.join(REPO_ROOT, "tests", "e2e")

# Markers here, not only in pytest.ini: ansible-test units runs pytest with its own configuration
# and --strict-markers.
MARKERS = (
    "slow: runs several playbooks",
    "toolchain: needs the test toolchain of make test (molecule, ansible-lint, ansible-rulebook, galaxy-importer, "
    "ansible-builder, docs build), installed on ansible-core 2.21; "
    "make test-matrix leaves these out on the other cores",
)


def pytest_configure(config):
    registered = config.getini("markers")
    for marker in MARKERS:
        if marker not in registered:
            config.addinivalue_line("markers", marker)


def _collections_root():
    """The directory holding the ``ansible_collections`` this run imports the collection from."""
    import ansible_collections.kaspersky.edr.tests as package  # pylint: disable=import-outside-toplevel

    path = os.path.dirname(os.path.abspath(package.__file__))  # <root>/ansible_collections/kaspersky/edr/tests
    for _level in range(4):
        path = os.path.dirname(path)
    return path


# KEDR_FAKE_PAGE_SIZE=2 runs every test against a fake Central Node that pages GET sensors by 2 (the default
# fake has 3 sensors), so every listing path must follow continuation_token. Unset: one page, as before.
FAKE_PAGE_SIZE = int(os.environ.get("KEDR_FAKE_PAGE_SIZE") or 0) or None


@pytest.fixture(scope="session")
def pki_paths(tmp_path_factory):
    return pki.generate(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="session")
def collections_root():
    """ANSIBLE_COLLECTIONS_PATH for the ansible-playbook runs: where this run imports the collection from."""
    return _collections_root()


@pytest.fixture(scope="session")
def central_node_server(pki_paths):
    fake = FakeCentralNode(pki_paths, task_completion_seconds=1.0, page_size=FAKE_PAGE_SIZE)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def central_node(central_node_server):
    """The fake Central Node with fresh state (3 sensors) and an empty log for each test."""
    central_node_server.shape = "plain"
    central_node_server.latency = 0
    central_node_server.reset(3)  # also restores the switches, page_size to FAKE_PAGE_SIZE
    return central_node_server


@pytest.fixture
def kata_env(central_node, pki_paths):
    """Connection settings as environment variables (the modules' env fallbacks)."""
    return {
        "KATA_HOST": "127.0.0.1",
        "KATA_PORT": str(central_node.port),
        "KATA_EXTERNAL_SYSTEM_ID": DEFAULT_EXTERNAL_SYSTEM_ID,
        "KATA_CLIENT_CERT": pki_paths["client"],
        "KATA_CLIENT_KEY": pki_paths["client_key"],
        "KATA_CA_PATH": pki_paths["ca"],
    }


class PlaybookRun:
    def __init__(self, proc, results):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.results = results

    def entry(self, task_name=None, index=-1):
        entries = [entry for entry in self.results if task_name is None or entry["task"] == task_name]
        if not entries:
            raise AssertionError("no result for task %r; output:\n%s\n%s" % (task_name, self.stdout, self.stderr))
        return entries[index]

    def result(self, task_name=None, index=-1):
        """The result dict of a task by name (last one by default)."""
        return self.entry(task_name, index)["result"]

    def failed(self, task_name=None, index=-1):
        return self.entry(task_name, index)["status"] == "failed"

    def __repr__(self):
        return "PlaybookRun(rc=%s)\nSTDOUT:\n%s\nSTDERR:\n%s" % (self.rc, self.stdout, self.stderr)


@pytest.fixture
def ansible_env(collections_root, tmp_path):
    home = tmp_path / "ansible_home"
    home.mkdir()
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("KATA_") or key.startswith("KSC_"):
            del env[key]
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections_root,
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(E2E_DIR, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "record_results",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


@pytest.fixture
def run_playbook(ansible_env, kata_env, tmp_path):
    """Run ansible-playbook on localhost; returns a PlaybookRun with every task result.

    ``playbook`` is a file name under tests/e2e/playbooks, a path, or a list of plays.
    ``tasks`` builds a one-play playbook from a list of task dicts.
    """
    counter = [0]

    def run(playbook=None, tasks=None, extra_vars=None, check=False, diff=False, env=None, args=(),
            with_kata_env=True, timeout=300):
        counter[0] += 1
        if tasks is not None:
            playbook = [{"name": "test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
        if isinstance(playbook, list):
            path = tmp_path / ("playbook_%d.yml" % counter[0])
            path.write_text(yaml.safe_dump(playbook, sort_keys=False))
            playbook = str(path)
        elif not os.path.isabs(playbook) and not os.path.exists(playbook):
            playbook = os.path.join(E2E_DIR, "playbooks", playbook)
        results_file = tmp_path / ("results_%d.jsonl" % counter[0])
        run_env = dict(ansible_env)
        if with_kata_env:
            run_env.update(kata_env)
        run_env.update(env or {})
        run_env["EDR_TEST_RESULTS"] = str(results_file)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                   "-c", "local", playbook]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        command += list(args)
        proc = subprocess.run(command, env=run_env, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=timeout, check=False)
        results = []
        if results_file.exists():
            results = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
        return PlaybookRun(proc, results)

    return run


@pytest.fixture
def client_sleeps():
    """The backoff waits a client made (its ``sleep`` is ``client_sleeps.append``: no real waiting)."""
    return []


@pytest.fixture
def kata_client_factory(central_node, pki_paths, client_sleeps):
    """``make(**options)``: a KataClient for the fake Central Node, closed after the test."""
    from ansible_collections.kaspersky.edr.plugins.module_utils.kata import KataClient

    with client_factory(KataClient, kata_host="127.0.0.1", kata_port=central_node.port,
                        external_system_id=DEFAULT_EXTERNAL_SYSTEM_ID, client_cert=pki_paths["client"],
                        client_key=pki_paths["client_key"], ca_path=pki_paths["ca"], request_timeout=5, retries=3,
                        sleep=client_sleeps.append) as make:
        yield make
