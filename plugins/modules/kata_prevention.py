#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kata_prevention
short_description: Manage prevention (hash block) rules of a KATA/KEDR Central Node without losing other rules
version_added: 0.1.0
description:
  - Blocks or unblocks files by MD5 or SHA256 hash on one Kaspersky Endpoint Agent host, or on all hosts,
    through the Response API of a Kaspersky Anti Targeted Attack Platform (KATA/KEDR) Central Node.
  - The API replaces a host's B(whole) prevention list on every C(POST), including rules made in the web UI.
    This module therefore reads the current list (one C(GET settings) request, plus one C(GET sensors) request
    when the host is given by name or IP), plans the complete new list and writes it with one C(POST), or one
    C(DELETE) when the new list is empty. Nothing is sent when the list is already as wanted.
  - Rules that stay are written back exactly as they were read, with their C(name) and every other field.
    Hashes are compared case-insensitively.
  - O(state=present) adds the listed hashes and keeps every other rule (merge mode).
    O(state=absent) removes only the listed hashes. O(exclusive=true) makes the list exactly O(hashes)
    (GitOps mode); an empty O(hashes) then deletes every rule.
  - The Central Node refuses a file that is blocked both for all hosts and for a single host. Before a write
    that adds hashes the module looks for them on the other side and fails, naming the hosts and hashes,
    before anything is written (see O(conflict_check)). If the Central Node still refuses the list, its own
    message is shown.
  - See C(docs/prevention.md) in the collection for the merge and exclusive modes, the conflict rules and
    the number of requests each case costs.
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
extends_documentation_fragment:
  - kaspersky.edr.kata
  - kaspersky.edr.kata.sensor
attributes:
  check_mode:
    support: full
    description: Reads the lists (including the conflict check) and reports what would change; never sends a C(POST) or C(DELETE).
  diff_mode:
    support: full
    description: Shows the prevention list before and after, one rule per line (kind, hash and the rule's name if it has one).
options:
  all_hosts:
    description:
      - Manage the list that applies to all Endpoint Agent hosts (the API's C(sensor_id=all)) instead of one host.
      - Exactly one of O(sensor_id), O(sensor_hostname), O(sensor_ip) or O(all_hosts=true) is required.
    type: bool
    default: false
  hashes:
    description:
      - The hashes to block (O(state=present)) or unblock (O(state=absent)).
      - Each item is an MD5 (32 hexadecimal digits) or SHA256 (64 hexadecimal digits) string, or a dict with
        one key, C(md5) or C(sha256), whose value is the hash (see the examples).
      - Hashes are validated before any request, lower-cased and de-duplicated; surrounding whitespace is ignored.
        Quote hashes that contain only digits in YAML.
      - Required, so that O(exclusive=true) never clears a list by accident; use V([]) to clear on purpose.
    type: list
    elements: raw
    required: true
  state:
    description:
      - V(present) makes sure the listed hashes are blocked and keeps every other rule of the target.
      - V(absent) removes the listed hashes and keeps every other rule. A hash that is not in the list is
        ignored. When the last rule goes, the list is deleted with C(DELETE).
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), the target ends with exactly O(hashes) and every other rule, including rules
        made in the web UI, is removed. With an empty O(hashes) every rule is deleted (C(DELETE)).
      - Rules that stay are still written back as they were read (their C(name) is kept).
      - Not allowed with O(state=absent).
    type: bool
    default: false
  conflict_check:
    description:
      - What to do when hashes to be added are already blocked on the other side (the all-hosts list for a
        single host; any single host's list for O(all_hosts=true)).
      - V(fail) fails before writing and names the hosts and hashes.
      - V(warn) only warns and writes anyway (the Central Node will probably refuse the list and its message is
        shown). Useful in check mode, where an earlier task that would remove the hash has not run.
      - V(skip) does not read the other side at all, which saves requests (see notes); the Central Node's own
        check still applies.
      - The check costs one extra C(GET) for a single host, and one C(GET sensors) plus one C(GET settings)
        per Endpoint Agent host for O(all_hosts=true). It runs only when hashes are added.
    type: str
    choices: [fail, warn, skip]
    default: fail
notes:
  - Exactly one of O(sensor_id), O(sensor_hostname), O(sensor_ip) or O(all_hosts=true) must be set.
    O(sensor_id=all) is refused; use O(all_hosts=true).
  - A run that finds the list already as wanted costs one C(GET settings) request (plus one C(GET sensors)
    when the host is given by name or IP) and writes nothing.
  - An object of unknown shape (without an C(md5) or C(sha256) hash) is kept in merge and absent modes and
    removed, with a warning, in exclusive mode.
"""

EXAMPLES = r"""
- name: Block a file on one host, keeping every other rule (also those made in the web UI)
  kaspersky.edr.kata_prevention:
    kata_host: kata-cn.example.com
    external_system_id: 4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d
    client_cert: /etc/ansible/kata/client.pem
    client_key: /etc/ansible/kata/client.key
    ca_path: /etc/ansible/kata/ca.pem
    sensor_hostname: WS-001.corp.example
    hashes:
      - 44d88612fea8a8f36de82e1278abb02f
      - sha256: 2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728
  delegate_to: localhost

- name: Block a file on every Endpoint Agent host (connection options from KATA_* variables)
  kaspersky.edr.kata_prevention:
    all_hosts: true
    hashes:
      - 2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728
  delegate_to: localhost

- name: Unblock one hash on a host given by IP; other rules stay
  kaspersky.edr.kata_prevention:
    sensor_ip: 10.20.0.2
    hashes:
      - md5: 44D88612FEA8A8F36DE82E1278ABB02F
    state: absent
  delegate_to: localhost

- name: GitOps - the host ends with exactly these hashes, other rules are removed
  kaspersky.edr.kata_prevention:
    sensor_id: e6aa2842-fb29-fa7c-84f2-fc2009bfc2d3
    hashes: "{{ prevention_lists['WS-001.corp.example'] }}"
    exclusive: true
  delegate_to: localhost
  register: prevention

- name: Delete every prevention rule that applies to all hosts
  kaspersky.edr.kata_prevention:
    all_hosts: true
    hashes: []
    exclusive: true
  delegate_to: localhost
"""

RETURN = r"""
sensor_id:
  description: The sensor ID the rules belong to, as resolved; V(all) for O(all_hosts=true).
  returned: success
  type: str
  sample: e6aa2842-0000-0000-0000-000000000001
target:
  description: Readable name of the target used in messages and the diff.
  returned: always
  type: str
  sample: WS-001.corp.example (sensor e6aa2842-0000-0000-0000-000000000001)
hashes:
  description:
    - Every hash in the target's list after the run (or that would be there in check mode), lower case,
      in list order. Includes rules the module did not touch.
  returned: success
  type: list
  elements: str
  sample: ["ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a", "44d88612fea8a8f36de82e1278abb02f"]
added:
  description: Hashes added by this run (lower case).
  returned: success
  type: list
  elements: str
  sample: ["44d88612fea8a8f36de82e1278abb02f"]
removed:
  description: Hashes removed by this run (lower case).
  returned: success
  type: list
  elements: str
  sample: []
unchanged:
  description: Hashes that were in the list before and stay in it (RV(hashes) without RV(added)).
  returned: success
  type: list
  elements: str
  sample: ["ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"]
objects:
  description:
    - The complete list of API objects after the run, as written (or as it would be written in check mode).
      Objects that stayed are exactly as the Central Node returned them.
  returned: success
  type: list
  elements: dict
  sample: [{"file": {"sha256": "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a", "name": "Blocked in the web UI"}},
           {"file": {"md5": "44d88612fea8a8f36de82e1278abb02f"}}]
conflicts:
  description:
    - Hashes to be added that are already blocked on the other side, each with the hosts (or V(all hosts)) where
      they are. Empty when there is none or the check did not run.
  returned: always
  type: dict
  sample: {"44d88612fea8a8f36de82e1278abb02f": ["WS-002.corp.example (sensor E6AA2842-0000-0000-0000-000000000002)"]}
diff:
  description: The list before and after, one rule per line, when run with C(--diff).
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: The rules before the run.
      type: str
    after:
      description: The rules after the run.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import (
    ALL_SENSORS,
    SETTINGS_PREVENTION,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_module import (
    SENSOR_OPTIONS,
    api_errors,
    kata_client,
    kata_connection_spec,
    sensor_selection_spec,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention import (
    ALL_HOSTS_LABEL,
    HashError,
    PreventionShapeError,
    build_diff,
    conflict_message,
    describe_object,
    find_conflicts,
    kept_conflict_warning,
    normalize_hashes,
    plan_changes,
    read_objects,
)

# Module option -> KataClient.resolve_sensor() argument.
SENSOR_ARGUMENTS = {"sensor_id": "sensor_id", "sensor_hostname": "hostname", "sensor_ip": "ip"}


def argument_spec():
    spec = kata_connection_spec()
    spec.update(sensor_selection_spec())
    spec.update(
        all_hosts=dict(type="bool", default=False),
        hashes=dict(type="list", elements="raw", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        exclusive=dict(type="bool", default=False),
        conflict_check=dict(type="str", default="fail", choices=["fail", "warn", "skip"]),
    )
    return spec


def validate_target(module):
    """``(option, value)`` of the one target; fail_json unless exactly one is given."""
    params = module.params
    given = [(option, params[option]) for option in SENSOR_OPTIONS if params[option] not in (None, "")]
    if params["all_hosts"]:
        given.append(("all_hosts", True))
    if len(given) != 1:
        module.fail_json(msg="Set exactly one of sensor_id, sensor_hostname, sensor_ip or all_hosts=true; got %s"
                         % (", ".join(option for option, _value in given) or "none"), changed=False)
    option, value = given[0]
    if option == "sensor_id" and str(value).strip().lower() == ALL_SENSORS:
        module.fail_json(msg="sensor_id=%s is not a host; use all_hosts=true for the list that applies to all hosts"
                         % value, changed=False)
    return option, value


def sensor_label(sensor):
    if sensor.get("hostname"):
        return "%s (sensor %s)" % (sensor["hostname"], sensor["sensor_id"])
    return "sensor %s" % sensor["sensor_id"]


def other_side(client, all_hosts):
    """``[(label, objects)]`` of the lists on the other side of the all-hosts/per-host rule."""
    if not all_hosts:
        return [(ALL_HOSTS_LABEL, read_objects(client.get_settings(ALL_SENSORS, SETTINGS_PREVENTION)))]
    lists = []
    for sensor in client.list_sensors():
        if not sensor.get("sensor_id"):
            continue
        try:
            settings = client.get_settings(sensor["sensor_id"], SETTINGS_PREVENTION)
        except ApiError as exc:
            if exc.status == 404:  # the host went away between the two requests
                continue
            raise
        lists.append((sensor_label(sensor), read_objects(settings)))
    return lists


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    option, value = validate_target(module)
    all_hosts = option == "all_hosts"
    try:
        desired = normalize_hashes(params["hashes"])
    except HashError as exc:
        module.fail_json(msg=str(exc), changed=False)
    if params["exclusive"] and params["state"] != "present":
        module.fail_json(msg="exclusive=true makes the list exactly 'hashes' and needs state=present; "
                         "with state=absent only the listed hashes are removed", changed=False)

    client = kata_client(module)
    result = dict(changed=False, target=ALL_HOSTS_LABEL if all_hosts else "%s=%s" % (option, value), conflicts={})
    with api_errors(module, **result):
        if all_hosts:
            sensor_id = ALL_SENSORS
        else:
            sensor = client.resolve_sensor(**{SENSOR_ARGUMENTS[option]: value})
            sensor_id = sensor["sensor_id"]
            result["target"] = sensor_label(sensor)
        result["sensor_id"] = sensor_id
        try:
            current = read_objects(client.get_settings(sensor_id, SETTINGS_PREVENTION))
        except PreventionShapeError as exc:
            module.fail_json(msg=str(exc), **result)

    plan = plan_changes(current, desired, state=params["state"], exclusive=params["exclusive"])
    result.update(changed=plan.changed, hashes=plan.hashes, added=plan.added, removed=plan.removed,
                  unchanged=plan.unchanged, objects=plan.after)
    if module._diff:
        result["diff"] = build_diff(plan, result["target"])
    for obj in plan.unknown_removed:
        module.warn("Removing a prevention object of unknown shape from %s (exclusive mode): %s"
                    % (result["target"], describe_object(obj)))

    if plan.added and params["conflict_check"] != "skip":
        with api_errors(module, **result):
            try:
                others = other_side(client, all_hosts)
            except PreventionShapeError as exc:
                module.fail_json(msg=str(exc), **result)
        conflicts = find_conflicts(plan.added, others)
        result["conflicts"] = conflicts
        if conflicts and params["conflict_check"] == "fail":
            module.fail_json(msg=conflict_message(result["target"], all_hosts, conflicts), **result)
        if conflicts:
            module.warn(conflict_message(result["target"], all_hosts, conflicts).replace(
                " Nothing was changed.", ""))
        kept = find_conflicts(plan.unchanged, others)
        if kept:
            module.warn(kept_conflict_warning(result["target"], all_hosts, kept))

    if plan.changed and not module.check_mode:
        try:
            if plan.after:
                client.post_settings(sensor_id, SETTINGS_PREVENTION, {"objects": plan.after})
            else:
                client.delete_settings(sensor_id, SETTINGS_PREVENTION)
        except ApiError as exc:
            result["changed"] = False
            module.fail_json(msg="The Central Node refused the new prevention list of %s: %s" % (result["target"], exc),
                             api_error=exc.to_dict(), **result)
    client.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
