# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event-Driven Ansible rulebooks in extensions/eda/rulebooks (no ansible-rulebook needed).

The rulebooks are validated against the rulebook JSON schema that ansible-lint ships, the
playbooks and job templates they start must exist and take the extra vars they pass, and
sample alerts are routed through the conditions (evaluated as Jinja2 expressions, which the
rulebook condition syntax used here is a subset of) to check which response each one starts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULEBOOKS = os.path.join(REPO_ROOT, "extensions", "eda", "rulebooks")
JOB_TEMPLATES = os.path.join(REPO_ROOT, "docs", "awx", "job_templates")
MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
HOSTILE_HOST = "{{ lookup('ansible.builtin.pipe', 'id') }}"


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def rulebook_files():
    return sorted(name for name in os.listdir(RULEBOOKS) if name.endswith((".yml", ".yaml")))


def actions_of(rule):
    return rule["actions"] if "actions" in rule else [rule["action"]]


def test_there_is_a_rulebook():
    assert "kata_response.yml" in rulebook_files()


@pytest.mark.parametrize("name", rulebook_files())
def test_rulebook_matches_the_schema(name):
    jsonschema = pytest.importorskip("jsonschema")
    ansiblelint = pytest.importorskip("ansiblelint")
    with open(os.path.join(os.path.dirname(ansiblelint.__file__), "schemas", "rulebook.json")) as handle:
        schema = json.load(handle)
    jsonschema.validate(load(os.path.join(RULEBOOKS, name)), schema)


@pytest.mark.parametrize("name", rulebook_files())
def test_rulebook_structure(name):
    rulesets = load(os.path.join(RULEBOOKS, name))
    assert isinstance(rulesets, list) and rulesets
    for ruleset in rulesets:
        assert ruleset["name"] and ruleset["hosts"] == "all"
        sources = ruleset["sources"]
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


def playbook_variables(path):
    with open(path) as handle:
        return set(re.findall(r"\b[a-z_][a-z0-9_]*\b", handle.read()))


def check_playbook_action(rule, args):
    namespace, collection, playbook = args["name"].split(".")
    assert (namespace, collection) == ("kaspersky", "edr"), "collection playbook by FQCN"
    path = os.path.join(REPO_ROOT, "playbooks", playbook + ".yml")
    assert os.path.isfile(path), path
    known = playbook_variables(path)
    extra_vars = args["extra_vars"]
    assert set(extra_vars) <= known, (args["name"], set(extra_vars) - known)
    assert len({"sensor_hostname", "sensor_ip", "sensor_id"} & set(extra_vars)) == 1
    check_guarded(rule, extra_vars)


def check_job_template_action(rule, args):
    templates = dict((load(os.path.join(JOB_TEMPLATES, name))["name"], load(os.path.join(JOB_TEMPLATES, name)))
                     for name in os.listdir(JOB_TEMPLATES))
    assert args["name"] in templates, "job template %s is in docs/awx/job_templates" % args["name"]
    survey = dict((question["variable"], question) for question in templates[args["name"]]["survey_spec"]["spec"])
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


# ---- routing of sample alerts ---------------------------------------------------------------

class Undefined(StrictUndefined):
    """Attribute access on a missing key stays undefined (as in rulebook conditions)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Undefined(name=name)


def environment():
    env = ImmutableSandboxedEnvironment(undefined=Undefined)
    env.tests["regex"] = lambda value, pattern: isinstance(value, str) and re.search(pattern, value) is not None
    return env


def to_jinja(condition):
    """Rulebook condition syntax -> Jinja2: only `is not defined` differs."""
    return re.sub(r"\bis not defined\b", "is undefined", condition)


def route(rulebook, event):
    """The first rule whose condition matches (match_multiple_rules is false) and its rendered actions."""
    env = environment()
    ruleset = load(os.path.join(RULEBOOKS, rulebook))[0]
    assert not ruleset.get("match_multiple_rules", False)
    for rule in ruleset["rules"]:
        if env.compile_expression(to_jinja(rule["condition"]), undefined_to_none=False)(event=event):
            rendered = []
            for action in actions_of(rule):
                kind, args = next(iter(action.items()))
                rendered.append((kind, args.get("name"), render(env, args.get("extra_vars")
                                                                or args.get("job_args", {}).get("extra_vars"), event)))
            return rule["name"], rendered
    return None, []


def render(env, value, event):
    if isinstance(value, dict):
        return dict((key, render(env, item, event)) for key, item in value.items())
    if isinstance(value, list):
        return [render(env, item, event) for item in value]
    if isinstance(value, str):
        return env.from_string(value).render(event=event)
    return value


def alert(**payload):
    return {"payload": payload, "meta": {"endpoint": "endpoint"}}


def test_hash_alert_blocks_the_file_on_the_host():
    name, actions = route("kata_response.yml", alert(host="WS-001.corp.example", hash=SHA256))
    assert name == "Block the file on the host"
    assert actions == [("run_playbook", "kaspersky.edr.block_hashes",
                        {"sensor_hostname": "WS-001.corp.example", "hashes": [SHA256]})]


def test_isolate_alert_isolates_with_the_default_or_given_time():
    name, actions = route("kata_response.yml", alert(host="WS-002.corp.example", action="isolate"))
    assert name == "Isolate the host"
    assert actions == [("run_playbook", "kaspersky.edr.isolate_host",
                        {"sensor_hostname": "WS-002.corp.example", "isolation_hours": "4"})]
    _name, actions = route("kata_response.yml", alert(host="10.20.0.3", action="isolate", isolation_hours="8; rm"))
    assert actions[0][2]["isolation_hours"] == "0", "anything but a number becomes 0, which the playbook refuses"
    _name, actions = route("kata_response.yml", alert(host="10.20.0.3", action="isolate", isolation_hours=8))
    assert actions[0][2] == {"sensor_hostname": "10.20.0.3", "isolation_hours": "8"}


def test_isolate_alert_with_a_hash_does_both_isolation_first():
    name, actions = route("kata_response.yml", alert(host="WS-003.corp.example", action="isolate", hash=MD5))
    assert name == "Isolate the host and block the file"
    assert [(kind, playbook) for kind, playbook, _vars in actions] == [
        ("run_playbook", "kaspersky.edr.isolate_host"), ("run_playbook", "kaspersky.edr.block_hashes")]
    assert actions[1][2] == {"sensor_hostname": "WS-003.corp.example", "hashes": [MD5]}


@pytest.mark.parametrize("payload", [
    {"host": HOSTILE_HOST, "hash": MD5},
    {"host": HOSTILE_HOST, "action": "isolate"},
    {"host": "WS-001.corp.example", "hash": "{{ 7 * 6 }}"},
    {"host": "WS-001.corp.example", "hash": MD5[:-1]},
    {"host": "WS 001", "hash": MD5},
    {"hash": MD5},
    {"host": "WS-001.corp.example"},
    {"host": "WS-001.corp.example", "hash": MD5, "action": "delete-everything"},
], ids=["template-host-block", "template-host-isolate", "template-hash", "short-hash", "space", "no-host", "no-hash",
        "unknown-action"])
def test_bad_or_hostile_alerts_start_nothing(payload):
    name, actions = route("kata_response.yml", alert(**payload))
    assert name == "Report an alert that matches no response"
    assert [kind for kind, _playbook, _vars in actions] == ["debug"]


def test_controller_rulebook_routes_to_the_job_templates():
    name, actions = route("kata_response_controller.yml", alert(host="WS-001.corp.example", hash=MD5))
    assert name == "Block the file on the host"
    assert actions == [("run_job_template", "EDR - Block hashes (KATA)",
                        {"sensor_hostname": "WS-001.corp.example", "hashes": MD5})]
    name, actions = route("kata_response_controller.yml", alert(host="WS-001.corp.example", action="isolate"))
    assert actions == [("run_job_template", "EDR - Isolate host (KATA)",
                        {"sensor_hostname": "WS-001.corp.example", "isolation_hours": "4"})]
    assert route("kata_response_controller.yml", alert(host=HOSTILE_HOST, hash=MD5)) == (None, [])


def test_rulebook_extra_vars_run_the_playbook(run_playbook, central_node):
    """The extra vars of the block rule, as rendered for an alert, work with the real playbook."""
    sensor = central_node.sensors[0]
    _name, actions = route("kata_response.yml", alert(host=sensor["host"], hash=SHA256.upper()))
    kind, playbook, extra_vars = actions[0]
    run = run_playbook(os.path.join(REPO_ROOT, "playbooks", playbook.split(".")[-1] + ".yml"), extra_vars=extra_vars)
    assert run.rc == 0, run
    assert [obj.get("file", {}).get("sha256") for obj in central_node.get_prevention(sensor["sensorId"])] == \
        [SHA256], central_node.get_prevention(sensor["sensorId"])
