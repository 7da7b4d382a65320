# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/prevention_gitops.yml end to end: drift report, enforcement, JUnit and Markdown reports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from xml.etree import ElementTree

import yaml

from ansible_collections.kaspersky.edr.tests.prevention_data import A, B, C, M, H, UI_RULE, sha, md5

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GITOPS_PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "prevention_gitops.yml")


def write_lists(tmp_path, lists, name="lists.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(lists, sort_keys=False))
    return str(path)


def gitops(run_playbook, tmp_path, lists, check=False, diff=False, args=(), **extra):
    extra_vars = dict(prevention_gitops_file=lists, prevention_gitops_report_dir=str(tmp_path / "report"), **extra)
    return run_playbook(GITOPS_PLAYBOOK, extra_vars=extra_vars, check=check, diff=diff, args=args)


def debug_lines(run, task_name="Show the drift per target"):
    return run.result(task_name)["msg"]


def junit(tmp_path):
    """The JUnit report, parsed: ``(suite attributes, {case name: (failure type or None, text)})``."""
    root = ElementTree.parse(str(tmp_path / "report" / "prevention-junit.xml")).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    cases = {}
    for case in suites[0].findall("testcase"):
        assert set(case.attrib) == {"classname", "name"}
        failure = case.find("failure")
        cases[case.get("name")] = (failure.get("type"), failure.get("message")) if failure is not None else None
    assert int(suites[0].get("tests")) == len(cases)
    assert int(suites[0].get("failures")) == len([case for case in cases.values() if case])
    return suites[0].attrib, cases


def test_check_mode_reports_drift_then_enforces_and_converges(run_playbook, central_node, tmp_path):
    s1, s2, s3 = central_node.sensors
    central_node.set_prevention(s2["sensorId"], [UI_RULE, md5(M)])   # the web UI rule, and one from merge mode
    central_node.set_prevention(s3["sensorId"], [sha(H)])
    lists = write_lists(tmp_path, {"all": [{"sha256": B}], s2["host"]: [M, {"sha256": C.upper()}], s3["host"]: None})

    check = gitops(run_playbook, tmp_path, lists, check=True, diff=True)
    assert check.rc == 0, check
    assert central_node.writes() == []
    assert debug_lines(check) == [
        "all: would add [%s], would remove []" % B,
        "%s: would add [%s], would remove [%s]" % (s2["host"], C, A),
        "%s: would add [], would remove [%s]" % (s3["host"], H),
    ]
    assert "-sha256 %s  # Blocked by hand in the web UI" % A in check.stdout
    assert "+sha256 %s" % C in check.stdout
    suite, cases = junit(tmp_path)
    assert suite["failures"] == "3" and set(cases) == {"all", s2["host"], s3["host"]}
    assert all(case[0] == "drift" for case in cases.values())
    summary = (tmp_path / "report" / "prevention-summary.md").read_text()
    assert "## Prevention lists drift" in summary and "3 targets: 0 in sync, 3 differ, 0 failed." in summary
    assert "| `%s` | drift | `%s` | `%s` | 1 |" % (s2["host"], C, A) in summary

    central_node.clear_log()
    apply = gitops(run_playbook, tmp_path, lists, diff=True)
    assert apply.rc == 0, apply
    assert central_node.get_prevention("all") == [sha(B)]
    assert central_node.get_prevention(s2["sensorId"]) == [md5(M), sha(C)]
    assert central_node.get_prevention(s3["sensorId"]) == []
    assert central_node.get_prevention(s1["sensorId"]) == []
    assert debug_lines(apply)[1] == "%s: added [%s], removed [%s]" % (s2["host"], C, A)
    assert junit(tmp_path)[0]["failures"] == "0"  # enforced, not drift

    central_node.clear_log()
    again = gitops(run_playbook, tmp_path, lists, fail_on_drift=True)
    assert again.rc == 0, again
    assert central_node.writes() == []
    assert all(line.endswith(": in sync") for line in debug_lines(again))
    # Converged cost: one GET sensors and one GET settings per target.
    assert len(central_node.log("GET", r"/sensors$")) == 1
    assert len(central_node.log("GET", r"/settings$")) == 3 and len(central_node.log()) == 4


def test_fail_on_drift_fails_a_check_mode_run_and_still_writes_the_reports(run_playbook, central_node, tmp_path):
    host = central_node.sensors[0]["host"]
    lists = write_lists(tmp_path, {host: [M]})
    run = gitops(run_playbook, tmp_path, lists, check=True, fail_on_drift=True)
    assert run.rc != 0
    assert "Drift: %s differ from" % host in run.result("Fail when a target differs from the file (fail_on_drift)")[
        "msg"]
    assert central_node.writes() == []
    assert junit(tmp_path)[1] == {host: ("drift", "%s differs: would add 1, would remove 0" % host)}


def test_moves_a_hash_between_a_host_and_all_hosts(run_playbook, central_node, tmp_path):
    s1, s2, dummy = central_node.sensors
    central_node.set_prevention(s1["sensorId"], [sha(H)])
    central_node.set_prevention("all", [sha(B)])
    # H goes from WS-001 to all hosts; B goes from all hosts to WS-002.
    lists = write_lists(tmp_path, {"all": [H], s1["host"]: [], s2["host"]: [B]})
    check = gitops(run_playbook, tmp_path, lists, check=True)
    assert check.rc == 0, check
    assert central_node.writes() == []
    apply = gitops(run_playbook, tmp_path, lists)
    assert apply.rc == 0, apply
    assert central_node.get_prevention("all") == [sha(H)]
    assert central_node.get_prevention(s1["sensorId"]) == []
    assert central_node.get_prevention(s2["sensorId"]) == [sha(B)]


def test_refuses_a_file_with_a_hash_on_both_sides_and_reports_it(run_playbook, central_node, tmp_path):
    host = central_node.sensors[0]["host"]
    lists = write_lists(tmp_path, {"all": [{"md5": M.upper()}], host: [M]})
    run = gitops(run_playbook, tmp_path, lists)
    assert run.rc != 0
    assert "policy[%s] lists %s, which policy[all] lists too" % (host, M) in run.stdout
    assert central_node.log() == []
    cases = junit(tmp_path)[1]
    assert list(cases) == ["lists.yml"] and cases["lists.yml"][0] == "error"
    assert "The policy run failed" in (tmp_path / "report" / "prevention-summary.md").read_text()


def test_refuses_an_unknown_host_before_any_write(run_playbook, central_node, tmp_path):
    lists = write_lists(tmp_path, {"all": [H], "WS-404.corp.example": [M]})
    run = gitops(run_playbook, tmp_path, lists)
    assert run.rc != 0
    assert "policy[WS-404.corp.example]: no Endpoint Agent host is named WS-404.corp.example" in run.stdout
    assert central_node.writes() == []


def test_expands_inventory_groups_and_sensor_ids(run_playbook, central_node, tmp_path):
    s1, s2, s3 = central_node.sensors
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[finance]\n%s\n%s\n" % (s1["host"], s2["host"]))
    central_node.set_prevention(s2["sensorId"], [UI_RULE])
    lists = write_lists(tmp_path, {"finance": [M], s2["host"]: [C], s3["sensorId"].lower(): [B]})
    run = gitops(run_playbook, tmp_path, lists, args=("-i", str(inventory)))
    assert run.rc == 0, run
    assert central_node.get_prevention(s1["sensorId"]) == [md5(M)]
    assert central_node.get_prevention(s2["sensorId"]) == [md5(M), sha(C)]
    assert central_node.get_prevention(s3["sensorId"]) == [sha(B)]
    assert central_node.get_prevention("all") == []   # `all` is not in the file: not managed


def test_shipped_example_runs(run_playbook, central_node, tmp_path):
    central_node.set_prevention(central_node.sensors[1]["sensorId"], [UI_RULE])
    check = run_playbook(GITOPS_PLAYBOOK, check=True, diff=True,
                         extra_vars={"prevention_gitops_report_dir": str(tmp_path / "report")})
    assert check.rc == 0, check
    assert central_node.writes() == []
    apply = run_playbook(GITOPS_PLAYBOOK, extra_vars={"prevention_gitops_report_dir": str(tmp_path / "report")})
    assert apply.rc == 0, apply
    with open(os.path.join(REPO_ROOT, "playbooks", "files", "prevention_lists.yml")) as handle:
        example = yaml.safe_load(handle)
    assert [value for obj in central_node.get_prevention("all") for value in obj["file"].values()] == [
        entry["sha256"] if isinstance(entry, dict) else entry for entry in example["all"]]
    assert A not in str(central_node.get_prevention(central_node.sensors[1]["sensorId"]))
