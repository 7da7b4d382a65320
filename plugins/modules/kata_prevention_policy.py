#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kata_prevention_policy
short_description: Enforce a whole prevention (hash block) policy on the KATA/KEDR Central Node in one run
version_added: "1.0.0"
description:
  - Makes the Central Node's prevention lists match a policy, a mapping of targets to hash lists such as a
    version-controlled YAML file (GitOps). Every target in the policy ends with B(exactly) its hashes; rules made
    elsewhere on those targets (web UI, other tools) are removed. Targets not in the policy are never written.
  - "Targets: V(all) is the list that applies to every Endpoint Agent host; any other key is a host name exactly as
    the Central Node lists it (case-sensitive), a sensor ID, or the name of a group in O(groups). A host named by
    several keys gets the union of their lists."
  - Host names are resolved with one C(GET sensors) for the whole run (none when every key is V(all) or a sensor
    ID); an unknown or ambiguous host fails the run before any write, naming its key.
  - Each target's list is read once (one C(GET), O(parallelism) targets at a time over one kept-alive connection
    pool); a converged policy costs nothing more. A target that differs costs one write and, with
    O(verify_write), one read-back.
  - A hash that moves between V(all) and a host list is never on both sides at once (the Central Node
    refuses that). Hosts that give a hash up to V(all) are written before V(all), hosts that take one from V(all)
    after it. A host that does both in one run first has the leaving hashes removed.
  - When V(all) adds hashes, the hosts not in the policy are read once to check that none blocks such a hash;
    when hosts add hashes and V(all) is not in the policy, the all-hosts list is read once for the same check.
    Such a target fails without being written, with the Central Node's reason.
  - When the Central Node refuses to read the all-hosts list (HTTP 400, 404 or 405), that check is skipped with a
    warning (RV(conflicts_unknown)), and V(all) is written exactly as listed, before every host that adds hashes.
  - Prevention works only on Windows agents; a host whose sensor record names another operating system fails
    as a target before any request to its settings.
  - See C(docs/gitops.md) for the pipeline around it (drift reports as JUnit XML and Markdown).
extends_documentation_fragment: [kaspersky.edr.attributes, kaspersky.edr.kata, kaspersky.edr.kata.fleet]
options:
  policy:
    description:
      - The desired state, a mapping C(target -> list of hashes) in the format of
        C(playbooks/files/prevention_lists.yml).
      - Keys are V(all), host names, sensor IDs or group names of O(groups).
      - "Hashes are MD5 (32 hex digits) or SHA256 (64 hex digits) strings, or dicts C({md5: ...}) or
        C({sha256: ...}). An empty list or V(null) removes every rule of that target."
      - A hash may not be listed both under V(all) and for a host.
    type: dict
    required: true
  groups:
    description:
      - Groups that policy keys may name, as a mapping C(group -> list of host names); a playbook passes
        C("{{ groups }}"). Host names are the Central Node's host names.
      - The key V(all) always means the all-hosts list, never the inventory group C(all).
    type: dict
  verify_write:
    description:
      - After each write, read the list back (one C(GET)) and check that the change holds; when another writer
        replaced the list meanwhile, the change is merged again (at most twice) or the target fails with
        "Concurrent change detected". See O(kaspersky.edr.kata_prevention#module:verify_write).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Reads every target's list and reports the drift per target; never sends a C(POST) or C(DELETE).
  diff_mode:
    support: full
    details: One diff per target that differs, one rule per line.
notes:
  - Hashes are compared case-insensitively; rules that stay are written back exactly as read (their C(name) and
    any unknown field kept).
  - An object of unknown shape (without an C(md5) or C(sha256) hash) is removed from a listed target, with a
    warning.
seealso:
  - module: kaspersky.edr.kata_prevention
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
"""

EXAMPLES = r"""
- name: Enforce the prevention lists of the repository
  kaspersky.edr.kata_prevention_policy:
    policy: "{{ lookup('ansible.builtin.file', 'files/prevention_lists.yml') | from_yaml }}"
    groups: "{{ groups }}"
  delegate_to: localhost
  register: prevention

- name: Drift report for a merge request (run with --check)
  kaspersky.edr.kata_prevention_policy:
    policy:
      all:
        - sha256: 2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728
      WS-002.corp.example:
        - 44d88612fea8a8f36de82e1278abb02f
      WS-003.corp.example: []
  check_mode: true
  delegate_to: localhost
  register: drift

- name: Fail the check when anything drifts
  ansible.builtin.assert:
    that: drift.summary.changed == 0
    fail_msg: "{{ drift.targets | selectattr('changed') | map(attribute='target') | join(', ') }} drift"
"""

RETURN = r"""
changed:
  description: Whether any target's list was (or, in check mode, would be) changed.
  returned: always
  type: bool
targets:
  description:
    - One entry per target, V(all) first, then the hosts in policy order.
    - With O(results=changes) (the default above 100 targets) only the targets that changed, failed or warned.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The target as the policy named it (V(all), a host name or a sensor ID; a group's member host).
      type: str
      sample: WS-002.corp.example
    label:
      description: A readable label with the sensor ID.
      type: str
      sample: WS-002.corp.example (sensor e6aa2842-0000-0000-0000-000000000002)
    sensor_id:
      description: The sensor ID, or V(all).
      type: str
    policy_keys:
      description:
        - The policy keys that named this target (a host can be named by several groups).
        - Called C(keys) before version 1.0.0; renamed because C(keys) shadows a dict method in Jinja.
      type: list
      elements: str
    added:
      description: Hashes added (or that would be added).
      type: list
      elements: str
    removed:
      description: Hashes removed (or that would be removed).
      type: list
      elements: str
    unchanged:
      description: How many hashes were already there and stay.
      type: int
    hashes:
      description: The hashes the target's list ends with.
      type: list
      elements: str
    changed:
      description: Whether this target differed from the policy.
      type: bool
    failed:
      description: Whether this target failed.
      type: bool
    msg:
      description: Why the target failed.
      type: str
      returned: when failed
    current_unknown:
      description: For V(all), true when the Central Node refused to read its current list; it was written as listed.
      type: bool
      returned: when the all-hosts list could not be read
summary:
  description: Counts over the targets.
  returned: always
  type: dict
  contains:
    targets:
      description: Number of targets.
      type: int
    changed:
      description: Targets that differed (and were changed unless in check mode).
      type: int
    failed:
      description: Targets that failed.
      type: int
    in_sync:
      description: Targets that already matched the policy.
      type: int
  sample: {"targets": 3, "changed": 1, "failed": 0, "in_sync": 2}
conflicts_unknown:
  description:
    - True when hosts add hashes, V(all) is not in the policy and the Central Node refused to read the
      all-hosts list for the conflict check; the hosts were written with a warning.
  returned: when the all-hosts list could not be read for the check
  type: bool
  sample: true
diff:
  description: With C(--diff), one diff per changed target.
  returned: when diff mode is on
  type: list
  elements: dict
"""

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention_policy import (
    PolicyError,
    parse_policy,
    run_policy,
)
from ansible_collections.kaspersky.edr.plugins.module_utils import kata_sensors
from ansible_collections.kaspersky.edr.plugins.module_utils import connection_options, module_glue


def argument_spec():
    return module_glue.module_spec(
        connection_options.kata_connection_spec(), kata_sensors.fleet_spec(selection=False),
        policy=dict(type="dict", required=True),
        groups=dict(type="dict"),
        verify_write=dict(type="bool", default=True),
    )


def main():
    module = module_glue.new_module(argument_spec())
    params = module.params
    try:
        kata_sensors.check_parallelism(params["parallelism"])
        parsed = parse_policy(params["policy"], params["groups"])
    except (kata_sensors.FleetInputError, PolicyError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    try:
        with module_glue.kata_client(module) as client:
            result = run_policy(module, client, parsed, params["groups"])
    except PolicyError as exc:
        module.fail_json(msg=str(exc), changed=False)
    except ApiError as exc:
        module_glue.fail_from(module, exc, changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
