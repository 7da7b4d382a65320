# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX/Tower custom credential types and job templates in docs/awx/.

The structure is checked against the rules AWX applies to custom credential types, and the
injectors are rendered the way AWX renders them (sandboxed Jinja2, multi-file injectors
written to temporary files, missing booleans false, missing strings empty). Playbooks then
run with ONLY those environment variables for the connection, against the fakes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.kaspersky.edr.tests.fakes.ksc_server import DEFAULT_PASSWORD, DEFAULT_USER
from ansible_collections.kaspersky.edr.tests.fakes.pki import CLIENT_KEY_PASSPHRASE

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX_DIR = os.path.join(REPO_ROOT, "docs", "awx")
KATA_TYPE = os.path.join(AWX_DIR, "credential_types", "kata_central_node.yml")
KSC_TYPE = os.path.join(AWX_DIR, "credential_types", "ksc.yml")
JOB_TEMPLATES = os.path.join(AWX_DIR, "job_templates")

FIELD_KEYS = {"id", "label", "type", "help_text", "multiline", "secret", "format", "choices", "default", "ask_at_runtime"}
# Environment variables AWX refuses in custom injectors (and ones that would break the job).
FORBIDDEN_ENV = re.compile(r"^(ANSIBLE_|AWX_|TOWER_|JOB_|INVENTORY_|PROJECT_|CALLBACK_|PATH$|PYTHONPATH$|HOME$|"
                           r"VIRTUAL_ENV$|MAX_EVENT_RES$|RUNNER_)")
SECRET_IDS = ("client_key", "client_key_passphrase", "ksc_password")


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def connection_env_vars(spec):
    return sorted(name for option in spec.values() if option.get("fallback") for name in option["fallback"][1])


class _Namespace:
    pass


def awx_inject(credential_type, inputs, private_dir):
    """The environment AWX gives a job for a credential of this type (CredentialType.inject_credential)."""
    namespace = {}
    tower = _Namespace()
    namespace["tower"] = tower
    for key, value in inputs.items():
        if isinstance(value, bool) or (value is not None and len(value)):
            namespace[key] = value
    for field in credential_type["inputs"]["fields"]:
        if field.get("type") == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = False
    env = ImmutableSandboxedEnvironment()
    files = credential_type["injectors"].get("file", {})
    for index, (label, template) in enumerate(sorted(files.items())):
        path = os.path.join(private_dir, "awx_cred_%d" % index)
        with open(path, "w") as handle:
            handle.write(env.from_string(template).render(**namespace))
        os.chmod(path, 0o600)
        if "." not in label:
            tower.filename = path
        else:
            if not hasattr(tower, "filename"):
                tower.filename = _Namespace()
            setattr(tower.filename, label.split(".", 1)[1], path)
    return dict((name, env.from_string(template).render(**namespace))
                for name, template in credential_type["injectors"].get("env", {}).items())


def template_references(template):
    """(plain variable names, tower.filename.<x> names) a Jinja2 template uses."""
    env = ImmutableSandboxedEnvironment()
    ast = env.parse(template)
    filenames = set()
    for node in ast.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Getattr) and isinstance(node.node.node, nodes.Name) and \
                node.node.node.name == "tower" and node.node.attr == "filename":
            filenames.add(node.attr)
    return meta.find_undeclared_variables(ast), filenames


# ---- structure -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [KATA_TYPE, KSC_TYPE], ids=["kata", "ksc"])
def test_credential_type_structure(path):
    cred = load(path)
    assert set(cred) == {"name", "description", "kind", "inputs", "injectors"}
    assert cred["kind"] in ("cloud", "net")
    assert cred["name"] and cred["description"]
    fields = cred["inputs"]["fields"]
    ids = [field["id"] for field in fields]
    labels = [field["label"] for field in fields]
    assert len(ids) == len(set(ids)) and len(labels) == len(set(labels))
    for field in fields:
        assert set(field) <= FIELD_KEYS, field
        assert re.match(r"^[a-z_][a-z0-9_]*$", field["id"]) and field["id"] != "tower"
        assert field.get("type", "string") in ("string", "boolean")
        if field.get("type") == "boolean":
            assert not field.get("secret") and not field.get("multiline") and "choices" not in field
            assert field["id"] not in cred["inputs"].get("required", []), "AWX defaults booleans to false"
        if field["id"] in SECRET_IDS:
            assert field.get("secret") is True, field["id"]
        if "default" in field:
            assert isinstance(field["default"], str if field.get("type", "string") == "string" else bool)
    assert set(cred["inputs"]["required"]) <= set(ids)

    injectors = cred["injectors"]
    assert set(injectors) <= {"env", "file", "extra_vars"}
    assert "extra_vars" not in injectors, "no extra vars needed: the modules read the environment"
    files = injectors.get("file", {})
    assert all(label.startswith("template.") for label in files) or list(files) == ["template"], \
        "AWX forbids mixing the single- and multi-file syntax"
    file_names = set(label.split(".", 1)[1] for label in files if "." in label)
    for template in files.values():
        used, _filenames = template_references(template)
        assert used <= set(ids), template
    for name, template in injectors["env"].items():
        assert re.match(r"^[A-Z][A-Z0-9_]*$", name) and not FORBIDDEN_ENV.match(name), name
        used, filenames = template_references(template)
        assert used <= set(ids) | {"tower"}, (name, used)
        assert filenames <= file_names, (name, filenames)
    # Every file is referenced by an env var, so the modules find it.
    referenced = set()
    for template in injectors["env"].values():
        referenced |= template_references(template)[1]
    assert referenced == file_names


def test_kata_injector_sets_exactly_the_module_env_fallbacks():
    from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import kata_connection_spec

    assert sorted(load(KATA_TYPE)["injectors"]["env"]) == connection_env_vars(kata_connection_spec())


def test_ksc_injector_sets_exactly_the_module_env_fallbacks():
    from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import ksc_connection_spec

    assert sorted(load(KSC_TYPE)["injectors"]["env"]) == connection_env_vars(ksc_connection_spec())


def test_kata_injector_renders_optional_fields_safely(tmp_path):
    cred = load(KATA_TYPE)
    env = awx_inject(cred, {"kata_host": "kata.example", "external_system_id": "abc", "client_cert": "PEM"},
                     str(tmp_path))
    assert env["KATA_PORT"] == "443"
    assert env["KATA_VALIDATE_CERTS"] == "true", "an unset boolean must keep verification on"
    assert env["KATA_CLIENT_KEY"] == "" and env["KATA_CA_PATH"] == "" and env["KATA_CLIENT_KEY_PASSPHRASE"] == ""
    with open(env["KATA_CLIENT_CERT"]) as handle:
        assert handle.read() == "PEM"
    env = awx_inject(cred, {"kata_host": "kata.example", "external_system_id": "abc", "client_cert": "PEM",
                            "skip_verify": True, "kata_port": "8443"}, str(tmp_path))
    assert env["KATA_VALIDATE_CERTS"] == "false" and env["KATA_PORT"] == "8443"


def survey_extra_vars(template, answers):
    """The extra vars AWX passes for these survey answers (defaults applied, answers validated)."""
    extra_vars = {}
    for question in template["survey_spec"]["spec"]:
        variable = question["variable"]
        value = answers.get(variable, question.get("default"))
        if value in (None, ""):
            assert not question.get("required"), "required question %s unanswered" % variable
            continue
        if question["type"] == "integer":
            assert isinstance(value, int) and question.get("min", value) <= value <= question.get("max", value)
        elif question["type"] in ("text", "textarea", "password"):
            assert question.get("min", 0) <= len(value) <= question.get("max", len(value))
        elif question["type"] == "multiplechoice":
            assert value in question["choices"]
        extra_vars[variable] = value
    return extra_vars


# Task keywords whose value is a bare Jinja2 expression rather than a template string.
CONDITIONALS = ("when", "that", "failed_when", "changed_when", "until")
TASK_LISTS = ("pre_tasks", "tasks", "post_tasks", "handlers")


def _expression_names(text, bare):
    source = "{{ %s }}" % text if bare else text
    ast = ImmutableSandboxedEnvironment().parse(source)
    return set(node.name for node in ast.find_all(nodes.Name) if node.ctx == "load")


def _names_in(value, bare=False):
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            if key in ("name", "vars"):
                continue  # a task's title, and defaults: neither reads a variable for the task
            found |= _names_in(item, bare=key in CONDITIONALS)
        return found
    if isinstance(value, list):
        return set().union(*[_names_in(item, bare) for item in value]) if value else set()
    if isinstance(value, str) and (bare or "{{" in value or "{%" in value):
        return _expression_names(value, bare)
    return set()


def variables_used_by_tasks(playbook):
    """The variables the tasks of a parsed playbook read in their templates and conditionals."""
    used = set()
    for play in playbook:
        for key in TASK_LISTS:
            used |= _names_in(play.get(key) or [])
    return used


def test_variables_used_by_tasks_ignores_comments_names_and_defaults():
    playbook = yaml.safe_load("""
- hosts: localhost
  vars: {hours: 4, unused: "{{ other }}"}
  tasks:
    # uses ghost
    - name: "mentions {{ title_only }} and ghost"
      ansible.builtin.debug: {msg: "{{ hours | int }} {{ lookup_me.field }}"}
      when: flag | bool
    - ansible.builtin.assert: {that: ["count > 0"]}
""")
    assert variables_used_by_tasks(playbook) == {"hours", "lookup_me", "flag", "count"}


@pytest.mark.parametrize("name", sorted(os.listdir(JOB_TEMPLATES)))
def test_job_template_structure(name):
    template = load(os.path.join(JOB_TEMPLATES, name))
    assert template["job_type"] == "run"
    playbook = os.path.join(REPO_ROOT, template["playbook"])
    assert os.path.isfile(playbook), template["playbook"]
    used = variables_used_by_tasks(load(playbook))
    assert template["credentials"] and template["survey_enabled"] is True
    assert template["ask_variables_on_launch"] is False
    spec = template["survey_spec"]
    assert spec["name"] and spec["description"]
    variables = [question["variable"] for question in spec["spec"]]
    assert len(variables) == len(set(variables))
    for question in spec["spec"]:
        assert set(question) <= {"question_name", "question_description", "variable", "type", "required", "default",
                                 "min", "max", "choices"}, question
        assert question["type"] in ("text", "textarea", "password", "integer", "float", "multiplechoice",
                                    "multiselect")
        assert question["question_name"] and isinstance(question["required"], bool)
        # Every survey answer is an extra var a task of the playbook reads (comments and play vars don't count).
        assert question["variable"] in used, (question["variable"], sorted(used))
        if question["type"] == "multiplechoice":
            assert question["default"] in question["choices"]
        if "default" in question and question["type"] == "integer":
            assert question["min"] <= question["default"] <= question["max"]
    # The connection comes from the credential, never from the survey.
    assert not set(variables) & {"kata_host", "external_system_id", "client_cert", "client_key", "ksc_password"}


def test_isolate_survey_matches_the_module_range():
    template = load(os.path.join(JOB_TEMPLATES, "isolate_host.yml"))
    hours = next(q for q in template["survey_spec"]["spec"] if q["variable"] == "isolation_hours")
    assert (hours["min"], hours["max"]) == (1, 9999)


# ---- playbook runs with only the injected environment ---------------------------------------

def read(path):
    with open(path) as handle:
        return handle.read()


def test_isolate_job_template_runs_with_only_the_injected_credential(run_playbook, central_node, pki_paths, tmp_path):
    """Credential with a separate encrypted key, its passphrase and the CA; the survey's answers as extra vars."""
    inputs = {
        "kata_host": "127.0.0.1",
        "kata_port": str(central_node.port),
        "external_system_id": "4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d",
        "client_cert": read(pki_paths["client"]),
        "client_key": read(pki_paths["client_key_encrypted"]),
        "client_key_passphrase": CLIENT_KEY_PASSPHRASE,
        "ca_cert": read(pki_paths["ca"]),
    }
    private = tmp_path / "awx_private"
    private.mkdir()
    env = awx_inject(load(KATA_TYPE), inputs, str(private))
    assert sorted(env) == sorted(k for k in env if k.startswith("KATA_"))
    template = load(os.path.join(JOB_TEMPLATES, "isolate_host.yml"))
    host = central_node.sensors[1]
    extra_vars = survey_extra_vars(template, {"sensor_hostname": host["host"], "isolation_hours": 6})

    run = run_playbook(os.path.join(REPO_ROOT, template["playbook"]), extra_vars=extra_vars, with_kata_env=False,
                       env=env)
    assert run.rc == 0, run
    assert central_node.get_isolation(host["sensorId"])["autoTurnoffTimeoutInSec"] == 6 * 3600
    assert len(central_node.writes()) == 1
    assert CLIENT_KEY_PASSPHRASE not in run.stdout + run.stderr


def test_minimal_credential_runs_module_and_inventory(run_playbook, ansible_env, central_node, pki_paths, tmp_path):
    """Key inside the certificate field, no CA, verification off (lab): the empty optional fields are harmless."""
    inputs = {
        "kata_host": "127.0.0.1",
        "kata_port": str(central_node.port),
        "external_system_id": "4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d",
        "client_cert": read(pki_paths["client_combined"]),
        "skip_verify": True,
    }
    private = tmp_path / "awx_private"
    private.mkdir()
    env = awx_inject(load(KATA_TYPE), inputs, str(private))
    run = run_playbook(tasks=[{"name": "info", "kaspersky.edr.kata_sensor_info": {}}], with_kata_env=False, env=env)
    assert run.rc == 0, run
    result = run.result("info")
    assert [sensor["sensor_id"] for sensor in result["sensors"]] == [s["sensorId"] for s in central_node.sensors]
    assert any("validate_certs is false" in warning for warning in result.get("warnings", [])), result

    # AWX injects the same credential into inventory updates: the inventory plugin works with it too.
    config = tmp_path / "awx.kata_sensors.yml"
    config.write_text("plugin: kaspersky.edr.kata_sensors\n")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(config),
                           "--list"], env=dict(ansible_env, **env), capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    hostvars = json.loads(proc.stdout)["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(s["host"] for s in central_node.sensors)


def test_ksc_credential_runs_with_only_the_injected_environment(run_playbook, ksc, pki_paths, tmp_path):
    inputs = {
        "ksc_host": "127.0.0.1",
        "ksc_port": str(ksc.port),
        "ksc_username": DEFAULT_USER,
        "ksc_password": DEFAULT_PASSWORD,
        "ca_cert": read(pki_paths["ca"]),
    }
    private = tmp_path / "awx_private"
    private.mkdir()
    env = awx_inject(load(KSC_TYPE), inputs, str(private))
    assert env["KSC_INTERNAL_USER"] == "false" and env["KSC_DOMAIN"] == "" and env["KSC_VSERVER"] == ""
    run = run_playbook(tasks=[{"name": "isolate", "kaspersky.edr.ksc_edr_response": {
        "target_hostname": "WS-001", "task": "isolateHost", "params": {"action": 1}}}],
        check=True, with_kata_env=False, env=env)
    assert run.rc == 0, run
    assert run.result("isolate")["changed"] is True
    assert [login for login in ksc.logins if login["ok"]], "logged in with the injected account"
    assert DEFAULT_PASSWORD not in run.stdout + run.stderr
