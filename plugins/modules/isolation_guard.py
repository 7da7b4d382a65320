#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: isolation_guard
short_description: Blast-radius guard for automatic isolations, state kept in a file on the controller
version_added: "1.0.0"
description:
  - Limits how many distinct hosts automatic responses (C(playbooks/alert_response.yml)) isolate in one hour,
    so that a forged or broken alert stream cannot cut off the fleet.
  - O(action=reserve) grants isolation to the O(hosts) that fit into the budget O(limit) and records them as
    reserved by O(run_id); the others are returned as deferred (for a person). A host isolated in the last hour
    is granted again without counting twice; a host reserved by another run that is still going is returned as
    busy and left to that run, so parallel runs never isolate one host twice at once.
  - O(action=commit) records the hosts the run really isolated (O(made)) and drops the run's reservations, so only
    isolations actually made count. Reservations of a run that never commits expire after 15 minutes.
  - The state is a small JSON file at O(path) on the controller, read and rewritten under an exclusive lock
    (C(<path>.lock)), so concurrent runs share one budget. See C(docs/alert_response.md).
  - This is an action plugin; it always runs on the controller.
extends_documentation_fragment: [kaspersky.edr.attributes]
options:
  action:
    description: V(reserve) before isolating, V(commit) after.
    type: str
    choices: [reserve, commit]
    required: true
  path:
    description: The state file. Its directory is created when missing. C(~) is expanded.
    type: path
    required: true
  run_id:
    description: An ID of this run, the same for its reserve and its commit.
    type: str
    required: true
  hosts:
    description: With O(action=reserve), the hosts to isolate, dicts with C(sensor_id) and C(host).
    type: list
    elements: dict
  limit:
    description: With O(action=reserve), how many distinct hosts may be isolated in one hour; V(0) isolates none.
    type: int
    default: 50
  made:
    description:
      - With O(action=commit), the hosts really isolated (a write was made), dicts with C(sensor_id) and C(host).
    type: list
    elements: dict
attributes:
  check_mode:
    support: full
    details: Computes the answer and writes nothing.
  diff_mode:
    support: none
    details: Reports no differences.
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
"""

EXAMPLES = r"""
- name: Ask the guard which hosts may be isolated
  kaspersky.edr.isolation_guard:
    action: reserve
    path: ~/.ansible/kaspersky_edr/isolation_guard.json
    run_id: "{{ run_id }}"
    hosts: [{sensor_id: e6aa2842-0000-0000-0000-000000000001, host: WS-001.corp.example}]
    limit: 50
  register: guard

- name: Record the isolations made
  kaspersky.edr.isolation_guard:
    action: commit
    path: ~/.ansible/kaspersky_edr/isolation_guard.json
    run_id: "{{ run_id }}"
    made: "{{ guard.granted }}"
"""

RETURN = r"""
granted:
  description: With O(action=reserve), the hosts that may be isolated, each with C(already_counted).
  returned: action=reserve
  type: list
  elements: dict
deferred:
  description: With O(action=reserve), the hosts over the budget, for a person to decide.
  returned: action=reserve
  type: list
  elements: dict
busy:
  description: With O(action=reserve), the hosts another running job has reserved (it isolates them).
  returned: action=reserve
  type: list
  elements: dict
used:
  description: With O(action=reserve), the hosts counted in the last hour, including this run's.
  returned: action=reserve
  type: int
isolated_last_hour:
  description: With O(action=commit), the hosts isolated in the last hour.
  returned: action=commit
  type: int
"""
