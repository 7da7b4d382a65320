# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event-Driven Ansible rulebooks in extensions/eda/rulebooks: their static shape.

The rulebooks are validated against the rulebook JSON schema that ansible-lint ships, and the
playbooks and job templates they start must exist and take the extra vars they pass: a playbook
takes a variable when one of its templates or conditions (parsed from the YAML, so never a
comment) reads it. How the real engine routes alerts is tested in
tests/e2e/test_eda_rulebook_engine.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import warnings

import pytest
import yaml
from jinja2 import Environment, nodes

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RULEBOOKS = os.path.join(REPO_ROOT, "extensions", "eda", "rulebooks")
JOB_TEMPLATES = os.path.join(REPO_ROOT, "docs", "awx", "job_templates")
# Task and play keywords whose value is a bare Jinja2 expression (no {{ }}).
CONDITION_KEYS = ("when", "changed_when", "failed_when", "until", "that")


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def rulebook_files():
    return sorted(name for name in os.listdir(RULEBOOKS) if name.endswith((".yml", ".yaml")))


def actions_of(rule):
    return rule["actions"] if "actions" in rule else [rule["action"]]


# The rulebook on the collection's own KATA alert source (the others listen on ansible.eda.webhook).
KATA_ALERTS_RULEBOOK = "kata_alert_response.yml"


def test_there_is_a_rulebook():
    assert "kata_response.yml" in rulebook_files()
    assert KATA_ALERTS_RULEBOOK in rulebook_files()


@pytest.mark.parametrize("name", rulebook_files())
def test_rulebook_structure(name):
    rulesets = load(os.path.join(RULEBOOKS, name))
    assert isinstance(rulesets, list) and rulesets
    for ruleset in rulesets:
        assert ruleset["name"] and ruleset["hosts"] == "all"
        sources = ruleset["sources"]
        if name == KATA_ALERTS_RULEBOOK:
            assert [source for source in sources if "kaspersky.edr.kata_alerts" in source], "KATA syslog alerts"
            assert not any("ansible.eda" in key for source in sources for key in source), "needs no ansible.eda"
        else:
            assert [source for source in sources if "ansible.eda.webhook" in source], "alerts arrive by webhook"
        names = [rule["name"] for rule in ruleset["rules"]]
        assert len(names) == len(set(names))
        for rule in ruleset["rules"]:
            assert isinstance(rule["condition"], str) and rule["condition"].strip()
            for action in actions_of(rule):
                assert len(action) == 1
                kind, args = next(iter(action.items()))
                if kind == "run_playbook":
                    check_playbook_action(rule, args)
                elif kind == "run_job_template":
                    check_job_template_action(rule, args)
                else:
                    assert kind in ("debug", "print_event", "none"), kind


def templates(node, key=None):
    """Every Jinja2 template in parsed playbook data: strings with {{ }} or {% %}, and conditions."""
    if isinstance(node, dict):
        return [found for item_key, item in node.items() for found in templates(item, item_key)]
    if isinstance(node, list):
        return [found for item in node for found in templates(item, key)]
    if isinstance(node, str):
        if key in CONDITION_KEYS:
            return ["{{ %s }}" % node]
        if "{{" in node or "{%" in node:
            return [node]
    return []


def read_variables(template):
    """The variable names a template reads (not the ones it assigns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Jinja2's lexer on "\\[" in a string literal
        ast = Environment().parse(template)
    return set(name.name for name in ast.find_all(nodes.Name) if name.ctx == "load")


def playbook_variables(path):
    """The variables a playbook's plays read in their templates and conditions (comments never count)."""
    plays = load(path)
    assert isinstance(plays, list) and plays, path
    return set(variable for template in templates(plays) for variable in read_variables(template))


def test_playbook_variables_come_from_the_parsed_yaml(tmp_path):
    """A variable named only in a comment, a task name or a plain string is not taken."""
    playbook = tmp_path / "book.yml"
    playbook.write_text(
        "# sensor_hostname and hashes are documented here only\n"
        "- name: uses sensor_ip\n"
        "  hosts: localhost\n"
        "  vars:\n"
        "    isolation_hours: 4\n"
        "  tasks:\n"
        "    - name: Read sensor_id\n"
        "      ansible.builtin.debug:\n"
        "        msg: \"{{ sensor_ip | default('x') }} for {{ item }}\"\n"
        "      loop: \"{{ targets }}\"\n"
        "      when: all_hosts | bool and hashes_text is defined\n")
    assert playbook_variables(str(playbook)) == {"sensor_ip", "item", "targets", "all_hosts", "hashes_text"}


def playbook_name(name):
    """A playbook FQCN, also from a template that gives it as the default (``{{ var | default('a.b.c') }}``)."""
    match = re.match(r"^\{\{ *[A-Za-z_]+ *\| *default\('([a-z_.]+)'\) *\}\}$", name)
    return match.group(1) if match else name


def check_playbook_action(rule, args):
    namespace, collection, playbook = playbook_name(args["name"]).split(".")
    assert (namespace, collection) == ("kaspersky", "edr"), "collection playbook by FQCN"
    path = os.path.join(REPO_ROOT, "playbooks", playbook + ".yml")
    assert os.path.isfile(path), path
    known = playbook_variables(path)
    extra_vars = args["extra_vars"]
    assert set(extra_vars) <= known, (args["name"], set(extra_vars) - known)
    if playbook == "alert_response":
        check_encoded_event(extra_vars)
        return
    assert len({"sensor_hostname", "sensor_ip", "sensor_id"} & set(extra_vars)) == 1
    check_guarded(rule, extra_vars)


def check_encoded_event(extra_vars):
    """alert_response gets the event only percent-encoded (no template survives); the rest is rulebook policy."""
    assert extra_vars["kata_event"] == "{{ event | tojson | urlencode }}"
    for variable, value in extra_vars.items():
        if variable != "kata_event":
            assert "event" not in value, (variable, value)


def check_job_template_action(rule, args):
    job_templates = dict((load(os.path.join(JOB_TEMPLATES, name))["name"], load(os.path.join(JOB_TEMPLATES, name)))
                         for name in os.listdir(JOB_TEMPLATES))
    assert args["name"] in job_templates, "job template %s is in docs/awx/job_templates" % args["name"]
    survey = dict((question["variable"], question)
                  for question in job_templates[args["name"]]["survey_spec"]["spec"])
    extra_vars = args["job_args"]["extra_vars"]
    assert set(extra_vars) <= set(survey), "the template takes only its survey variables"
    for variable, value in extra_vars.items():
        if survey[variable]["type"] in ("text", "textarea"):
            assert isinstance(value, str), "a survey text answer must be a string: %s" % variable
    check_guarded(rule, extra_vars)


def check_guarded(rule, extra_vars):
    """Every payload value passed on is checked by a regex in the condition or forced to int."""
    for value in walk(extra_vars):
        for field in re.findall(r"event\.payload\.([A-Za-z_]+)", value):
            guarded = re.search(r"event\.payload\.%s is regex\(" % field, rule["condition"])
            assert guarded or re.search(r"\|\s*int\s*}}", value), (rule["name"], field)


def walk(value):
    """Every leaf of nested dicts and lists, as strings."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [leaf for item in value for leaf in walk(item)]
    return [str(value)]
