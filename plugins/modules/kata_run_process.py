#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kata_run_process
short_description: Run a program on an Endpoint Agent host through a KATA/KEDR Central Node task
version_added: "1.0.0"
description:
  - Creates, checks or deletes a C(run_process) task of the Kaspersky Anti Targeted Attack Platform
    (KATA/KEDR) Central Node Response API. The Endpoint Agent on the chosen host runs O(executable)
    with O(arguments) in O(working_directory).
  - The task is identified by O(task_id), a UUID chosen by the client. Without O(task_id) a new random
    version 4 UUID is generated, as the vendor's Postman collection does with C({{$guid}}), so every
    run creates a new task and reports a change.
  - With O(task_id) the module reads the task first. When it exists with the same settings nothing is
    sent. When it exists with different settings the module fails before any write and names the
    differing options, because the Central Node cannot edit a task. Use the P(kaspersky.edr.task_uuid#filter)
    filter with a seed to get a stable O(task_id) for GitOps-style re-runs.
  - The creating request is never repeated blindly. When it fails in a way that leaves open whether
    the Central Node received it, the module reads the task back and reports what it finds.
extends_documentation_fragment: [kaspersky.edr.attributes, kaspersky.edr.kata, kaspersky.edr.kata.sensor]
options:
  state:
    description:
      - V(present) creates the task unless a task with O(task_id) already exists.
      - V(absent) deletes the task O(task_id) if it exists. The host and program options are then ignored.
    type: str
    choices: [present, absent]
    default: present
  task_id:
    description:
      - UUID of the task, in the usual 8-4-4-4-12 hexadecimal form. Normalized to lower case.
      - When omitted with O(state=present), a new random version 4 UUID is generated on every run, so a
        new task is created every time.
      - Required with O(state=absent).
    type: str
  executable:
    description:
      - Program or command to run on the host (the API's C(execCommand)), for example V(cmd.exe) or
        V(C:\\response\\response_script.bat).
      - Required with O(state=present).
    type: str
  arguments:
    description:
      - Command line parameters passed to O(executable) (the API's C(cmdLineParameters)), as one string.
    type: str
  working_directory:
    description:
      - Working directory of the program on the host (the API's C(workingDirectory)).
    type: str
  start_now:
    description:
      - Start the task as soon as it is created (the API's C(schedule.startNow)).
      - With V(false) the task is created but waits until it is started in the Central Node web interface.
    type: bool
    default: true
  wait:
    description:
      - With O(state=present), poll the task (C(GET tasks/<task_id>?settings=true)) until it leaves its
        pending state, that is until its status is no longer one of C(pending), C(new), C(created),
        C(queued), C(waiting), C(scheduled), C(in progress), C(processing), C(running), C(started) or
        C(executing) (compared case-insensitively, ignoring spaces, dashes and underscores).
      - Fails when the task is still pending after O(wait_timeout) seconds. The task itself is not
        cancelled then.
      - Not done in check mode for a task that would only be created.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true). 1 to 86400.
    type: int
    default: 300
  wait_interval:
    description:
      - Seconds between two polls with O(wait=true). Greater than 0 and at most 3600.
    type: float
    default: 5
attributes:
  check_mode:
    support: full
    details: Reads the task (and resolves the host) but neither creates nor deletes anything.
  diff_mode:
    support: full
    details: Shows the task settings before and after.
notes:
  - The shape of the C(GET tasks/<task_id>) answer is not documented by the vendor. The module accepts the
    settings under C(task), C(settings) or at the top level, with or without a C(response) wrapper, and
    compares only the settings it sets (program, parameters, working directory, start now, and the host
    when the answer names one). Settings the answer does not show cannot be compared; the module then warns.
  - An omitted O(arguments) or O(working_directory) equals an empty one when comparing.
seealso:
  - module: kaspersky.edr.kata_sensor_info
  - plugin: kaspersky.edr.task_uuid
    plugin_type: filter
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
"""

EXAMPLES = r"""
# The connection options (kata_host, external_system_id, client_cert, client_key, ca_path) are set once
# per play with module_defaults group/kaspersky.edr.kata, or come from the KATA_* environment variables;
# kaspersky.edr.kata_sensor_info's examples show them.

- name: Run a response script on a host now (new random task ID on every run, like Postman's $guid)
  kaspersky.edr.kata_run_process:
    sensor_hostname: WS-001.corp.example
    executable: C:\response\response_script.bat
    arguments: C:\response\
    working_directory: C:\response\
  delegate_to: localhost
  register: run

- name: Re-runnable in a pipeline - the same incident and command always map to the same task
  kaspersky.edr.kata_run_process:
    sensor_ip: 10.20.0.2
    executable: cmd.exe
    arguments: /c ipconfig /all
    task_id: "{{ ['INC-4711', '10.20.0.2', 'ipconfig'] | kaspersky.edr.task_uuid }}"
    wait: true
    wait_timeout: 600
  delegate_to: localhost
  register: ipconfig_task

- name: Delete a task (connection options from KATA_* environment variables)
  kaspersky.edr.kata_run_process:
    task_id: "{{ ipconfig_task.task_id }}"
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
task_id:
  description: UUID of the task (the one given, or the one generated).
  returned: always
  type: str
  sample: 3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b
sensor_id:
  description: Sensor ID of the host the task was created for (resolved from O(sensor_hostname) or O(sensor_ip)).
  returned: when O(state=present)
  type: str
  sample: e6aa2842-0000-0000-0000-000000000001
state:
  description:
    - Status of the task as the Central Node reports it (for example V(pending) or V(completed)).
    - V(absent) when no task with this ID exists (after a deletion, or before a creation in check mode).
    - V(unknown) when the answer carries no status field.
  returned: always
  type: str
  sample: completed
task:
  description:
    - The Central Node's view of the task (C(GET tasks/<task_id>?settings=true)), without a C(response) wrapper.
    - The fields are not documented by the vendor and are returned as received.
    - Empty when the task does not exist (after a deletion, or in check mode for a task that would be created).
  returned: always
  type: dict
  sample: {"taskId": "3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b", "state": "completed",
           "task": {"schedule": {"startNow": true}, "execCommand": "cmd.exe", "cmdLineParameters": "/c ipconfig"}}
settings:
  description: The task settings the module posts (or would post), in the API's format.
  returned: when O(state=present)
  type: dict
  sample: {"schedule": {"startNow": true}, "execCommand": "cmd.exe", "cmdLineParameters": "/c ipconfig",
           "workingDirectory": "C:\\Windows\\Temp"}
url:
  description: URL of the task in the Response API.
  returned: always
  type: str
  sample: https://kata-cn.example.com:443/kata/response_api/v1/4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d/tasks/3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b
waited:
  description: Seconds spent waiting for the task to leave its pending state.
  returned: when O(wait=true) and the task exists
  type: float
  sample: 12.5
"""

from ansible_collections.kaspersky.edr.plugins.module_utils import kata_sensors
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_tasks import (
    TaskOptionError,
    TaskResource,
    validate_options,
)
from ansible_collections.kaspersky.edr.plugins.module_utils import connection_options, module_glue
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import run_single


def argument_spec():
    return module_glue.module_spec(
        connection_options.kata_connection_spec(), kata_sensors.sensor_selection_spec(),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        task_id=dict(type="str"),
        executable=dict(type="str"),
        arguments=dict(type="str"),
        working_directory=dict(type="str"),
        start_now=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        wait_interval=dict(type="float", default=5),
    )


def main():
    module = module_glue.new_module(
        argument_spec(),
        mutually_exclusive=[kata_sensors.SENSOR_OPTIONS],
        required_if=[
            ("state", "present", ("executable",)),
            ("state", "present", kata_sensors.SENSOR_OPTIONS, True),
            ("state", "absent", ("task_id",)),
        ],
    )
    params = module.params
    try:
        validate_options(params)
    except TaskOptionError as exc:
        module.fail_json(msg=str(exc))
    with module_glue.kata_client(module) as client:
        resource = TaskResource(client, params)
        if resource.present:
            option = next(name for name in kata_sensors.SENSOR_OPTIONS if params[name] is not None)
            resolve = kata_sensors.resolver(client, option, params[option])
        else:
            resolve = resource.task_target
        result = run_single(module, resource, resolve, dict(task_id=resource.task_id))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
