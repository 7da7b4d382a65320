# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin kaspersky.edr.kata_sensors: ``ansible-inventory --list`` against the fake Central Node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json
import os
import re
import subprocess
import sys

import yaml

from ansible_collections.kaspersky.edr.tests.fakes.pki import CLIENT_KEY_PASSPHRASE

BIN = os.path.dirname(sys.executable)
PLUGIN = "kaspersky.edr.kata_sensors"


def plain(value):
    """Drop the ``{"__ansible_unsafe": ...}`` markers ansible-inventory puts around plugin data."""
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return plain(value["__ansible_unsafe"])
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class Inventory:
    def __init__(self, ansible_env, kata_env, tmp_path):
        self.env = dict(ansible_env, **kata_env)
        self.tmp_path = tmp_path
        self.count = 0

    def config(self, name="edr.kata_sensors.yml", **options):
        path = self.tmp_path / name
        path.write_text(yaml.safe_dump(dict({"plugin": PLUGIN}, **options), sort_keys=False))
        return str(path)

    def run(self, config, *args, **env):
        command = [os.path.join(BIN, "ansible-inventory"), "-i", config] + list(args or ["--list"])
        return subprocess.run(command, env=dict(self.env, **env), capture_output=True, text=True, timeout=120,
                              check=False)

    def list(self, config, *args, **env):
        proc = self.run(config, *(("--list",) + args), **env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Failed to parse" not in proc.stderr, proc.stderr
        return plain(json.loads(proc.stdout))


@functools.lru_cache(maxsize=None)
def inventory_cli_flushes_cache():
    """ansible-inventory has --flush-cache since ansible-core 2.19."""
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "--help"], capture_output=True, text=True,
                          timeout=120, check=True)
    return "--flush-cache" in proc.stdout


def unwrapped(text):
    """ansible-core's messages as single lines: before 2.19 it wraps warnings at 79 columns (also after a
    hyphen) when stdout is not a terminal; a new message starts with "[" or "ERROR"."""
    messages = []
    for line in text.splitlines():
        if not messages or re.match(r"(\[|ERROR)", line):
            messages.append(line.rstrip())
        elif messages[-1].endswith("-"):
            messages[-1] += line.strip()
        else:
            messages[-1] += " " + line.strip()
    return "\n".join(messages)


def make_inventory(ansible_env, kata_env, tmp_path):
    return Inventory(ansible_env, kata_env, tmp_path)


def group_hosts(data, group):
    return sorted(data.get(group, {}).get("hosts", []))


def test_lists_every_sensor_with_host_vars_and_groups(ansible_env, kata_env, central_node, tmp_path):
    central_node.sensors.append({"sensorId": "0f3c9a6e-1111-4222-8333-944455556666", "host": "db-01.prod.example",
                                 "ip": "10.30.0.5", "os": "Ubuntu 22.04", "version": "3.16.0.1234",
                                 "agentStatus": "online", "IPAddresses": ["10.30.0.5", "fd00::5"]})
    isolated = central_node.sensors[1]
    central_node.set_isolation(isolated["sensorId"], {"autoTurnoffTimeoutInSec": 3600, "excludedRules": []})
    inventory = make_inventory(ansible_env, kata_env, tmp_path)
    config = inventory.config(
        include_settings=["network_isolation"],
        compose={"ansible_host": "kata_ip", "kata_short_name": "kata_hostname.split('.')[0] | lower"},
        groups={"isolated": "kata_network_isolation | length > 0", "linux": "'Ubuntu' in kata_os"},
        keyed_groups=[{"key": "kata_os", "prefix": "os"},
                      {"key": "kata_hostname.split('.')[1:] | join('.')", "prefix": "domain"},
                      {"key": "kata_agent_status | default('unknown')", "prefix": "status"}],
    )
    data = inventory.list(config)

    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(sensor["host"] for sensor in central_node.sensors)
    for sensor in central_node.sensors:
        host = hostvars[sensor["host"]]
        assert host["kata_sensor_id"] == sensor["sensorId"]
        assert host["kata_hostname"] == sensor["host"]
        assert host["kata_ip"] == sensor["ip"]
        assert host["kata_os"] == sensor["os"]
        assert host["kata_version"] == sensor["version"]
        assert host["kata_sensor"] == sensor, "every API field as returned"
        assert host["ansible_host"] == sensor["ip"]
        assert host["kata_short_name"] == sensor["host"].split(".")[0].lower()
        # The sensor's "host" field must not shadow the kata_host connection option.
        assert "kata_host" not in host
    db = hostvars["db-01.prod.example"]
    assert db["kata_agent_status"] == "online"
    assert db["kata_ip_addresses"] == ["10.30.0.5", "fd00::5"]
    assert hostvars[isolated["host"]]["kata_network_isolation"]["autoTurnoffTimeoutInSec"] == 3600
    assert hostvars[central_node.sensors[0]["host"]]["kata_network_isolation"] == {}

    assert group_hosts(data, "isolated") == [isolated["host"]]
    assert group_hosts(data, "linux") == ["db-01.prod.example"]
    assert group_hosts(data, "os_Windows_10_Enterprise") == sorted(s["host"] for s in central_node.sensors[:3])
    assert group_hosts(data, "os_Ubuntu_22_04") == ["db-01.prod.example"]
    assert group_hosts(data, "domain_corp_example") == sorted(s["host"] for s in central_node.sensors[:3])
    assert group_hosts(data, "domain_prod_example") == ["db-01.prod.example"]
    assert group_hosts(data, "status_online") == ["db-01.prod.example"]
    assert group_hosts(data, "status_unknown") == sorted(s["host"] for s in central_node.sensors[:3])

    assert len(central_node.log("GET", r"/sensors$")) == 1
    assert len(central_node.log("GET", r"/settings$")) == 4
    assert central_node.writes() == []


def test_reads_the_response_wrapped_shape(ansible_env, kata_env, central_node, tmp_path):
    central_node.shape = "response"
    inventory = make_inventory(ansible_env, kata_env, tmp_path)
    data = inventory.list(inventory.config(hostnames=["ip"]))
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(sensor["ip"] for sensor in central_node.sensors)
    assert hostvars[central_node.sensors[0]["ip"]]["kata_sensor_id"] == central_node.sensors[0]["sensorId"]


def test_cache_serves_the_second_run_and_flush_reads_again(ansible_env, kata_env, central_node, tmp_path):
    inventory = make_inventory(ansible_env, kata_env, tmp_path)
    config = inventory.config(cache=True, cache_plugin="ansible.builtin.jsonfile",
                              cache_connection=str(tmp_path / "cache"), cache_timeout=600,
                              keyed_groups=[{"key": "kata_os", "prefix": "os"}])
    first = inventory.list(config)
    assert len(central_node.log("GET", r"/sensors$")) == 1
    assert os.listdir(str(tmp_path / "cache")), "the jsonfile cache was written"

    central_node.sensors.append({"sensorId": "0f3c9a6e-1111-4222-8333-944455556666", "host": "late.corp.example",
                                 "ip": "10.20.0.99", "os": "Windows 11"})
    cached = inventory.list(config)
    assert len(central_node.log("GET", r"/sensors$")) == 1, "second run must come from the cache"
    assert cached == first

    if inventory_cli_flushes_cache():
        flushed = inventory.list(config, "--flush-cache")
    else:
        # Before ansible-core 2.19 only ansible-playbook flushes (and refreshes) the inventory cache.
        play = tmp_path / "noop.yml"
        play.write_text("- hosts: all\n  gather_facts: false\n  tasks: []\n")
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", config, "--flush-cache", "--list-hosts",
                               str(play)], env=inventory.env, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0 and "late.corp.example" in proc.stdout, proc.stdout + proc.stderr
        flushed = inventory.list(config)
    assert len(central_node.log("GET", r"/sensors$")) == 2
    assert "late.corp.example" in flushed["_meta"]["hostvars"]
    assert group_hosts(flushed, "os_Windows_11") == ["late.corp.example"]

    # Another Central Node (or external system) behind the same file never gets this node's cached list.
    other = inventory.run(config, "--list", KATA_EXTERNAL_SYSTEM_ID="another-system",
                          ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    assert other.returncode != 0, other.stdout
    assert "HTTP 401" in other.stderr
    assert len(central_node.log("GET", r"/sensors$")) == 3


def test_bad_credentials_give_one_readable_error(ansible_env, kata_env, central_node, tmp_path, pki_paths):
    inventory = make_inventory(ansible_env, kata_env, tmp_path)
    config = inventory.config()
    strict = {"ANSIBLE_INVENTORY_ENABLED": PLUGIN, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}
    cases = [
        ({"KATA_EXTERNAL_SYSTEM_ID": "not-registered"},
         ["GET sensors: HTTP 401", "unknown external system not-registered"]),
        ({"KATA_CLIENT_CERT": pki_paths["other_client"], "KATA_CLIENT_KEY": pki_paths["other_client_key"]},
         ["GET sensors: TLS error", "client certificate"]),
        ({"KATA_CLIENT_KEY": pki_paths["client_key_encrypted"], "KATA_CLIENT_KEY_PASSPHRASE": "wrong-Passphrase-42"},
         ["client_key_passphrase"]),
    ]
    for env, expected in cases:
        proc = inventory.run(config, "--list", **dict(strict, **env))
        output = proc.stdout + proc.stderr
        assert proc.returncode != 0, output
        assert "Traceback" not in output, output
        assert "wrong-Passphrase-42" not in output and CLIENT_KEY_PASSPHRASE not in output
        lines = [line for line in unwrapped(proc.stderr).splitlines() if line.startswith("%s:" % PLUGIN) or
                 ("%s:" % PLUGIN) in line]
        assert lines, output
        for part in expected:
            assert part in lines[0], output
        assert len(set(line.split("%s: " % PLUGIN, 1)[1] for line in lines)) == 1, "one distinct message: %s" % output

    # Without the strict settings ansible-inventory still shows the reason (and lists nothing).
    proc = inventory.run(config, "--list", KATA_EXTERNAL_SYSTEM_ID="not-registered")
    assert "%s: cannot read the sensors of 127.0.0.1:%d: GET sensors: HTTP 401" % (PLUGIN, central_node.port) \
        in unwrapped(proc.stderr), proc.stderr
    assert json.loads(proc.stdout)["_meta"]["hostvars"] == {}
    assert central_node.writes() == []


def test_missing_connection_settings_fail_before_any_request(ansible_env, kata_env, central_node, tmp_path):
    inventory = make_inventory(ansible_env, kata_env, tmp_path)
    config = inventory.config(retries=50)
    proc = inventory.run(config, "--list", ANSIBLE_INVENTORY_ENABLED=PLUGIN, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    assert proc.returncode != 0
    assert "%s: retries must be 0..10, got 50" % PLUGIN in proc.stderr, proc.stderr
    env = dict(inventory.env)
    del env["KATA_HOST"]
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", inventory.config(), "--list"],
                          env=dict(env, ANSIBLE_INVENTORY_ENABLED=PLUGIN, ANSIBLE_INVENTORY_UNPARSED_FAILED="true"),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert "kata_host" in proc.stderr, proc.stderr
    assert central_node.log() == []


def test_strict_fails_on_a_bad_expression_and_lenient_skips_it(ansible_env, kata_env, central_node, tmp_path):
    inventory = make_inventory(ansible_env, kata_env, tmp_path)
    options = {"keyed_groups": [{"key": "kata_no_such_field", "prefix": "x"}],
               "compose": {"kata_owner": "kata_no_such_field.owner"}}
    lenient = inventory.list(inventory.config("lenient.kata_sensors.yml", strict=False, **options))
    assert len(lenient["_meta"]["hostvars"]) == 3
    proc = inventory.run(inventory.config("strict.kata_sensors.yml", strict=True, **options), "--list",
                         ANSIBLE_INVENTORY_ENABLED=PLUGIN, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    assert proc.returncode != 0, proc.stdout
    assert "kata_no_such_field" in proc.stderr, proc.stderr


def test_wrong_file_name_is_not_taken(ansible_env, kata_env, central_node, tmp_path):
    inventory = make_inventory(ansible_env, kata_env, tmp_path)
    proc = inventory.run(inventory.config("sensors.yml"), "--list", ANSIBLE_INVENTORY_ENABLED=PLUGIN,
                         ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    assert proc.returncode != 0
    assert central_node.log() == []


def test_duplicate_names_and_hostile_values(ansible_env, kata_env, central_node, tmp_path):
    """Two sensors with one host name stay two hosts; endpoint data is never run as a template."""
    first, second = central_node.sensors[0], central_node.sensors[1]
    second["host"] = first["host"]
    central_node.sensors[2]["os"] = "{{ lookup('ansible.builtin.pipe', 'echo pwned') }}"
    inventory = make_inventory(ansible_env, kata_env, tmp_path)
    config = inventory.config(keyed_groups=[{"key": "kata_version", "prefix": "agent"}])
    proc = inventory.run(config, "--list")
    assert proc.returncode == 0, proc.stderr
    assert "2 sensors report hostname %s" % first["host"] in unwrapped(proc.stderr)
    hostvars = plain(json.loads(proc.stdout))["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted([first["sensorId"], second["sensorId"], central_node.sensors[2]["host"]])
    assert hostvars[first["sensorId"]]["kata_hostname"] == first["host"]

    playbook = tmp_path / "show.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Show", "hosts": central_node.sensors[2]["host"], "gather_facts": False, "connection": "local",
        "tasks": [{"name": "Show os", "ansible.builtin.debug": {"var": "kata_os"}}]}]))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", config, str(playbook)],
                          env=inventory.env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pwned" not in proc.stdout.replace("echo pwned", ""), proc.stdout
    assert "lookup('ansible.builtin.pipe', 'echo pwned')" in proc.stdout


def test_inventory_hosts_drive_the_modules(ansible_env, kata_env, central_node, tmp_path):
    """The documented pattern: target a keyed group, delegate the module, pass kata_sensor_id."""
    central_node.sensors[2]["os"] = "Windows Server 2022"
    inventory = make_inventory(ansible_env, kata_env, tmp_path)
    config = inventory.config(keyed_groups=[{"key": "kata_os", "prefix": "os"}], strict=True)
    playbook = tmp_path / "isolate_group.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Isolate a group", "hosts": "os_Windows_10_Enterprise", "gather_facts": False,
        "tasks": [{"name": "Isolate the host for 4 hours", "kaspersky.edr.kata_isolation": {
            "sensor_id": "{{ kata_sensor_id }}", "state": "present", "auto_turnoff_timeout_hours": 4},
            "delegate_to": "localhost"}]}]))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", config, str(playbook)], env=inventory.env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    isolated = [sensor["sensorId"] for sensor in central_node.sensors if central_node.get_isolation(sensor["sensorId"])]
    assert isolated == [sensor["sensorId"] for sensor in central_node.sensors[:2]]
    # One GET sensors for the inventory; the modules use the sensor ID directly (no lookups).
    assert len(central_node.log("GET", r"/sensors$")) == 1
    assert central_node.log("GET", r"/sensors$")[0]["query"] == {}
