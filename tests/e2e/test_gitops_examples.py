# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CI pipeline examples of docs/gitops.md, run for real against the fake Central Node.

The shell of the GitLab CI jobs and GitHub Actions steps is executed as the CI would
(bash -e -o pipefail), with the collection playbook called by FQCN: the merge-request drift
report must find the drift without writing, the apply job must enforce the lists, and a
second drift report must be clean.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys
from xml.etree import ElementTree

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(REPO_ROOT, "docs", "examples")
MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"


def load(name):
    with open(os.path.join(EXAMPLES, name)) as handle:
        return yaml.safe_load(handle)


def lists_file(tmp_path, central_node):
    path = tmp_path / "prevention_lists.yml"
    path.write_text(yaml.safe_dump({central_node.sensors[0]["host"]: [MD5, {"sha256": SHA256}],
                                    central_node.sensors[1]["host"]: []}))
    return str(path)


def bash(script, env, cwd):
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300, check=False)


def ci_env(ansible_env, kata_env, extra):
    env = dict(ansible_env, **kata_env)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_FORCE_COLOR"] = "1"
    env.update(extra)
    return env


def test_gitlab_pipeline_reports_drift_then_applies(ansible_env, kata_env, central_node, tmp_path):
    pipeline = load("gitlab-ci.yml")
    assert set(pipeline["stages"]) == {"validate", "drift", "apply"}
    assert pipeline["apply"]["resource_group"]
    assert pipeline["drift"]["allow_failure"] == {"exit_codes": 3}
    assert any("merge_request_event" in rule["if"] for rule in pipeline["drift"]["rules"])
    assert pipeline["apply"]["rules"][0]["if"].startswith("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH")
    work = tmp_path / "project"
    work.mkdir()
    env = ci_env(ansible_env, kata_env, {"PREVENTION_LISTS": lists_file(tmp_path, central_node),
                                         "INVENTORY": pipeline["variables"]["INVENTORY"],
                                         "CI_PROJECT_DIR": str(work)})
    central_node.set_prevention(central_node.sensors[1]["sensorId"], [{"file": {"md5": "0" * 32}}])

    validate = bash("\n".join(pipeline["validate"]["script"][1:]), env, str(work))  # [0] is yamllint
    assert validate.returncode == 0, validate.stdout + validate.stderr

    assert pipeline["drift"]["artifacts"]["reports"]["junit"] == "report/prevention-junit.xml"
    drift = bash("\n".join(pipeline["drift"]["script"]), env, str(work))
    assert drift.returncode == 3, drift.stdout + drift.stderr
    assert central_node.writes() == [], "the drift report must not write"
    report = (work / "report" / "prevention-summary.md").read_text()
    first, second = central_node.sensors[0]["host"], central_node.sensors[1]["host"]
    assert "| `%s` | drift | `%s`<br>`%s` |  | 0 |" % (first, MD5, SHA256) in report
    assert "| `%s` | drift |  | `%s` | 0 |" % (second, "0" * 32) in report
    junit = ElementTree.parse(str(work / "report" / "prevention-junit.xml")).getroot()
    assert sorted(case.get("name") for case in junit.iter("testcase")) == sorted([first, second])
    assert [failure.get("type") for failure in junit.iter("failure")] == ["drift", "drift"]

    apply = bash("\n".join(pipeline["apply"]["script"]), env, str(work))
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert sorted(obj["file"].get("md5") or obj["file"].get("sha256")
                  for obj in central_node.get_prevention(central_node.sensors[0]["sensorId"])) == sorted([MD5, SHA256])
    assert central_node.get_prevention(central_node.sensors[1]["sensorId"]) == []

    clean = bash("\n".join(pipeline["drift"]["script"]), env, str(work))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "2 targets: 2 in sync, 0 differ, 0 failed." in (work / "report" / "prevention-summary.md").read_text()

    broken = bash("\n".join(pipeline["drift"]["script"]), dict(env, PREVENTION_LISTS=str(tmp_path / "missing.yml")),
                  str(work))
    assert broken.returncode not in (0, 3), "an error must fail the job, not pass as drift"


def test_github_workflow_reports_drift_then_applies(ansible_env, kata_env, central_node, tmp_path):
    workflow = load("github-actions.yml")
    assert set(workflow["on"]) == {"pull_request", "push", "schedule"}
    steps = dict((step["name"], step) for step in workflow["jobs"]["prevention"]["steps"])
    drift_step = steps["Drift report (check mode, writes nothing)"]
    apply_step = steps["Apply the lists"]
    assert "push" not in drift_step["if"].replace("!= 'push'", "") and "refs/heads/main" in apply_step["if"]
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    lists = lists_file(tmp_path, central_node)
    os.rename(lists, str(workspace / "prevention_lists.yml"))
    summary = tmp_path / "summary.md"
    env = ci_env(ansible_env, kata_env, {"GITHUB_WORKSPACE": str(workspace), "GITHUB_STEP_SUMMARY": str(summary),
                                         "INVENTORY": workflow["env"]["INVENTORY"]})

    drift = bash(drift_step["run"], env, str(workspace))
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert "::warning::Drift found" in drift.stdout
    assert central_node.writes() == []
    assert "| `%s` | drift | `%s`<br>`%s` |" % (central_node.sensors[0]["host"], MD5, SHA256) in summary.read_text()

    apply = bash(apply_step["run"], env, str(workspace))
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert len(central_node.get_prevention(central_node.sensors[0]["sensorId"])) == 2

    summary.write_text("")
    clean = bash(drift_step["run"], env, str(workspace))
    assert clean.returncode == 0 and "::warning::" not in clean.stdout, clean.stdout
    assert "2 targets: 2 in sync, 0 differ, 0 failed." in summary.read_text()
