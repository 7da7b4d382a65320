#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kata_prevention
short_description: Manage prevention (hash block) rules of a KATA/KEDR Central Node without losing other rules
version_added: "1.0.0"
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
  - After a write the list is read back (O(verify_write)). When another writer replaced the list in the
    meantime, this run's change is merged again onto the list as it is now, so neither change is lost, or the
    task fails saying that a concurrent change was detected.
  - Fleet mode (O(sensors) or O(sensor_filter)) handles many hosts in one module run over one kept-alive
    connection pool, O(parallelism) hosts at a time, with one C(GET) per host and one write only where a host
    differs. Per-host failures are collected and reported together at the end; the other hosts are processed.
  - See C(docs/prevention.md) in the collection for the merge and exclusive modes, the conflict rules, write
    verification and the number of requests each case costs, and C(docs/performance.md) for fleet mode.
extends_documentation_fragment: [kaspersky.edr.attributes, kaspersky.edr.kata, kaspersky.edr.kata.sensor,
                                 kaspersky.edr.kata.fleet]
options:
  all_hosts:
    description:
      - Manage the list that applies to all Endpoint Agent hosts (the API's C(sensor_id=all)) instead of one host.
      - Exactly one of O(sensor_id), O(sensor_hostname), O(sensor_ip), O(all_hosts=true), O(sensors) or
        O(sensor_filter) is required.
    type: bool
    default: false
  sensors:
    description:
      - Fleet mode. The hosts to manage in this one module run, each with the same O(hashes), O(state) and
        O(exclusive).
      - A string is a sensor ID, used as given (no lookup). A dict names one host with exactly one key,
        C(sensor_id), C(sensor_hostname) (exact, case-sensitive) or C(sensor_ip).
      - Host names and IPs are resolved with one C(GET sensors) request for the whole run; a name or IP that matches
        no host, or several, is a failure of that entry only.
      - Entries that resolve to the same sensor are handled once. An empty list does nothing.
    type: list
    elements: raw
  sensor_filter:
    description:
      - Fleet mode. Manage every host that the Central Node lists with these filters (one C(GET sensors) request).
      - Keys C(hostname) and C(ip), passed to the API's C(host) and C(ip) filters. V({}) selects every host.
    type: dict
  verify_write:
    description:
      - After each write, read the list back (one C(GET)) and check that this run's change holds.
      - When another writer replaced the list after this run read it, the change is merged again onto the list as
        it is now and written again (at most twice), so neither writer's rules are lost; if the change still does
        not hold, the task fails with "Concurrent change detected".
      - The read-back waits as long as the run took from its read to its write (1.5 times, at most 5 seconds), so
        that a writer that read the same old list has written by then.
      - V(false) saves that request and wait, and then a concurrent writer can silently drop this change or have
        its own change dropped.
    type: bool
    default: true
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
attributes:
  check_mode:
    support: full
    details: Reads the lists (including the conflict check) and reports what would change; never sends a C(POST) or C(DELETE).
  diff_mode:
    support: full
    details: Shows the prevention list before and after, one rule per line (kind, hash and the rule's name if it has one).
notes:
  - Exactly one of O(sensor_id), O(sensor_hostname), O(sensor_ip), O(all_hosts=true), O(sensors) or
    O(sensor_filter) must be set. O(sensor_id=all) is refused; use O(all_hosts=true).
  - A run that finds the list already as wanted costs one C(GET settings) request (plus one C(GET sensors)
    when the host is given by name or IP) and writes nothing. In fleet mode that is one C(GET settings) per host
    (plus one C(GET sensors) for the whole run when hosts are given by name or IP, or by O(sensor_filter)).
  - A change costs one C(GET), one C(POST) or C(DELETE) and, with O(verify_write), one read-back C(GET); adding
    hashes to a host also reads the all-hosts list once per run (the conflict check).
  - An object of unknown shape (without an C(md5) or C(sha256) hash) is kept in merge and absent modes and
    removed, with a warning, in exclusive mode.
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
"""

EXAMPLES = r"""
# The connection options (kata_host, external_system_id, client_cert, client_key, ca_path) are set once
# per play with module_defaults group/kaspersky.edr.kata, or come from the KATA_* environment variables;
# kaspersky.edr.kata_sensor_info's examples show them.

- name: Block a file on one host, keeping every other rule (also those made in the web UI)
  kaspersky.edr.kata_prevention:
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

- name: Fleet mode - enforce one list on many hosts in one module run, 16 hosts at a time
  kaspersky.edr.kata_prevention:
    sensors:
      - e6aa2842-fb29-fa7c-84f2-fc2009bfc2d3
      - sensor_hostname: WS-002.corp.example
      - sensor_ip: 10.20.0.7
    hashes: "{{ fleet_block_list }}"
    parallelism: 16
  delegate_to: localhost
  register: fleet

- name: Fleet mode - block a hash on every host the Central Node lists, reporting failed hosts as warnings
  kaspersky.edr.kata_prevention:
    sensor_filter: {}
    hashes:
      - 44d88612fea8a8f36de82e1278abb02f
    ignore_sensor_errors: true
  delegate_to: localhost

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
  returned: success, single-host mode
  type: str
  sample: e6aa2842-0000-0000-0000-000000000001
target:
  description: Readable name of the target used in messages and the diff.
  returned: single-host mode
  type: str
  sample: WS-001.corp.example (sensor e6aa2842-0000-0000-0000-000000000001)
hashes:
  description:
    - Every hash in the target's list after the run (or that would be there in check mode), lower case,
      in list order. Includes rules the module did not touch.
  returned: success, single-host mode
  type: list
  elements: str
  sample: ["ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a", "44d88612fea8a8f36de82e1278abb02f"]
added:
  description: Hashes added by this run (lower case).
  returned: success, single-host mode
  type: list
  elements: str
  sample: ["44d88612fea8a8f36de82e1278abb02f"]
removed:
  description: Hashes removed by this run (lower case).
  returned: success, single-host mode
  type: list
  elements: str
  sample: []
unchanged:
  description: Hashes that were in the list before and stay in it (RV(hashes) without RV(added)).
  returned: success, single-host mode
  type: list
  elements: str
  sample: ["ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"]
objects:
  description:
    - The complete list of API objects after the run, as written (or as it would be written in check mode).
      Objects that stayed are exactly as the Central Node returned them.
  returned: success, single-host mode
  type: list
  elements: dict
  sample: [{"file": {"sha256": "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a", "name": "Blocked in the web UI"}},
           {"file": {"md5": "44d88612fea8a8f36de82e1278abb02f"}}]
conflicts:
  description:
    - Hashes to be added that are already blocked on the other side, each with the hosts (or V(all hosts)) where
      they are. Empty when there is none or the check did not run.
  returned: single-host mode
  type: dict
  sample: {"44d88612fea8a8f36de82e1278abb02f": ["WS-002.corp.example (sensor E6AA2842-0000-0000-0000-000000000002)"]}
conflicts_unknown:
  description:
    - True when the conflict check could not be done because the Central Node refused to read the all-hosts
      list (HTTP 400, 404 or 405 to C(GET settings?sensor_id=all)); the write went ahead with a warning.
  returned: when the all-hosts list could not be read for the check
  type: bool
  sample: true
current_unknown:
  description:
    - With O(all_hosts=true), true when the Central Node refused to read the current all-hosts list. With
      O(exclusive=true) the given list is written as the whole list; merging or removing fails and writes
      nothing.
  returned: when the all-hosts list could not be read
  type: bool
  sample: true
verified:
  description: True when the list was read back after the write and this run's change holds (O(verify_write)).
  returned: when a write was verified
  type: bool
  sample: true
remerged:
  description:
    - How many times another writer replaced the list during this run, so that this run's change was merged again
      onto the list as it was then and written again.
  returned: when a concurrent change was merged
  type: int
  sample: 1
sensor_results:
  description:
    - Fleet mode. One result per host (with O(results=changes) only the hosts that changed, failed or warned), in
      the order of O(sensors) (or of the Central Node's list), with the keys
      of the single-host result (RV(target), RV(sensor_id), RV(hashes), RV(added), RV(removed), RV(unchanged),
      RV(objects), RV(conflicts), RV(verified)) plus C(sensor) (the entry as given), C(changed), C(failed) and, for
      a failed host, C(msg).
  returned: fleet mode
  type: list
  elements: dict
  sample: [{"sensor": "e6aa2842-fb29-fa7c-84f2-fc2009bfc2d3", "sensor_id": "e6aa2842-fb29-fa7c-84f2-fc2009bfc2d3",
            "target": "sensor e6aa2842-fb29-fa7c-84f2-fc2009bfc2d3", "changed": true, "failed": false,
            "added": ["44d88612fea8a8f36de82e1278abb02f"], "removed": [], "verified": true,
            "hashes": ["44d88612fea8a8f36de82e1278abb02f"], "unchanged": [], "conflicts": {}}]
failed_sensors:
  description: Fleet mode. The hosts that failed (their RV(target) labels).
  returned: fleet mode
  type: list
  elements: str
  sample: ["sensor 0badc0de-0000-0000-0000-000000000000"]
summary:
  description: Fleet mode. How many hosts were handled, changed (or would be, in check mode), left unchanged and failed.
  returned: fleet mode
  type: dict
  sample: {"total": 200, "changed": 3, "unchanged": 197, "failed": 0}
diff:
  description:
    - The list before and after, one rule per line, when run with C(--diff).
    - In fleet mode a list with one such dict per changed host.
  returned: when diff mode is on
  type: raw
  contains:
    before:
      description: The rules before the run.
      type: str
    after:
      description: The rules after the run.
      type: str
"""

from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention import PreventionResource
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention_model import HashError, normalize_hashes
from ansible_collections.kaspersky.edr.plugins.module_utils import kata_sensors
from ansible_collections.kaspersky.edr.plugins.module_utils import connection_options, module_glue

SELECTION_CHOICES = "sensor_id, sensor_hostname, sensor_ip, all_hosts=true, sensors or sensor_filter"


def argument_spec():
    return module_glue.module_spec(
        connection_options.kata_connection_spec(), kata_sensors.sensor_selection_spec(), kata_sensors.fleet_spec(),
        all_hosts=dict(type="bool", default=False),
        hashes=dict(type="list", elements="raw", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        exclusive=dict(type="bool", default=False),
        conflict_check=dict(type="str", default="fail", choices=["fail", "warn", "skip"]),
        verify_write=dict(type="bool", default=True),
    )


def main():
    module = module_glue.new_module(argument_spec())
    params = module.params
    try:
        option, value = kata_sensors.select_target(params, SELECTION_CHOICES, all_hosts=True)
        selection = kata_sensors.parse_fleet(option, value, params["parallelism"])
        desired = normalize_hashes(params["hashes"])
    except (kata_sensors.FleetInputError, HashError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    if params["exclusive"] and params["state"] != "present":
        module.fail_json(msg="exclusive=true makes the list exactly 'hashes' and needs state=present; "
                         "with state=absent only the listed hashes are removed", changed=False)
    label = kata_sensors.ALL_HOSTS_LABEL if option == "all_hosts" else "%s=%s" % (option, value)
    base = dict(target=label, conflicts={})
    with module_glue.kata_client(module) as client:
        resource = PreventionResource(client, desired, state=params["state"], exclusive=params["exclusive"],
                                      conflict_check=params["conflict_check"], verify_write=params["verify_write"],
                                      diff=module._diff)
        result = kata_sensors.run_selection(module, client, resource, option, value, selection, base)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
