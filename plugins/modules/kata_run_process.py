#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kata_run_process
short_description: Run a program on an Endpoint Agent host through a KATA/KEDR Central Node task
version_added: 0.1.0
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
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
extends_documentation_fragment:
  - kaspersky.edr.kata
  - kaspersky.edr.kata.sensor
attributes:
  check_mode:
    support: full
    description: Reads the task (and resolves the host) but neither creates nor deletes anything.
  diff_mode:
    support: full
    description: Shows the task settings before and after.
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
"""

EXAMPLES = r"""
- name: Run a response script on a host now (new random task ID on every run, like Postman's $guid)
  kaspersky.edr.kata_run_process:
    kata_host: kata-cn.example.com
    external_system_id: 4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d
    client_cert: /etc/ansible/kata/client.pem
    client_key: /etc/ansible/kata/client.key
    ca_path: /etc/ansible/kata/ca.pem
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

import re
import time
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import clean_selector, same_sensor_id, unwrap
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_module import (
    SENSOR_OPTIONS,
    api_errors,
    kata_client,
    kata_connection_spec,
    sensor_selection_spec,
)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PENDING_STATES = frozenset(("pending", "new", "created", "queued", "waiting", "scheduled", "inprogress",
                            "processing", "running", "started", "executing", "notstarted", "inqueue"))
STATE_KEYS = ("state", "status", "taskState", "taskStatus", "executionState", "executionStatus", "task_state")
TASK_ID_KEYS = ("taskId", "task_id", "taskID", "id")
SENSOR_KEYS = ("sensorId", "sensor_id", "sensorID", "hostId", "agentId")
MAX_WAIT_TIMEOUT = 86400
MAX_WAIT_INTERVAL = 3600

# option name -> (path in the API's task settings, default when absent)
COMPARED = (
    ("executable", ("execCommand",), ""),
    ("arguments", ("cmdLineParameters",), ""),
    ("working_directory", ("workingDirectory",), ""),
    ("start_now", ("schedule", "startNow"), True),
)
_MISSING = object()


def normalize_task_id(value):
    """The task ID in canonical lower-case form, or None when it is not a UUID."""
    text = str(value).strip().lower()
    return text if UUID_RE.match(text) else None


def build_settings(executable, arguments=None, working_directory=None, start_now=True):
    """The ``task`` object of the create request, as the API documentation shows it."""
    settings = {"schedule": {"startNow": bool(start_now)}, "execCommand": executable}
    if arguments not in (None, ""):
        settings["cmdLineParameters"] = arguments
    if working_directory not in (None, ""):
        settings["workingDirectory"] = working_directory
    return settings


def task_settings(view):
    """The task settings inside an API view of unknown shape (``task``, ``settings`` or top level)."""
    view = unwrap(view)
    if not isinstance(view, dict):
        return {}
    for key in ("task", "settings", "taskSettings"):
        inner = unwrap(view.get(key))
        if isinstance(inner, list) and len(inner) == 1:
            inner = inner[0]
        if isinstance(inner, dict):
            return inner
    return view


def _lookup(settings, path):
    value = settings
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _as_bool(value):
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    return value


def compare_settings(view, wanted, sensor_id=None):
    """Differences between an existing task and the wanted settings.

    Returns ``(differences, unknown)``: ``differences`` is a list of
    ``(option, current, wanted)``; ``unknown`` lists the options the view does not show.
    Only the fields this module sets are compared; an absent optional field equals an empty one.
    """
    current = task_settings(view)
    differences = []
    unknown = []
    shows_any = any(_lookup(current, path) is not _MISSING for _option, path, _default in COMPARED)
    for option, path, default in COMPARED:
        have = _lookup(current, path)
        want = _lookup(wanted, path)
        want = default if want is _MISSING else want
        if have is _MISSING:
            if option == "executable" or not shows_any:
                unknown.append(option)
                continue
            have = default
        if option == "start_now":
            have = _as_bool(have)
        elif have is None:
            have = ""
        if have != want:
            differences.append((option, have, want))
    if sensor_id is not None:
        have_sensor = view_sensor_id(view)
        if have_sensor is not None and not same_sensor_id(have_sensor, sensor_id):
            differences.append(("sensor", have_sensor, sensor_id))
    return differences, unknown


def view_sensor_id(view):
    view = unwrap(view)
    if not isinstance(view, dict):
        return None
    for source in (view, task_settings(view)):
        for key in SENSOR_KEYS:
            value = source.get(key)
            if value not in (None, ""):
                return str(value)
    return None


def task_state(view):
    """The task's status as a string; ``unknown`` when the view has none."""
    view = unwrap(view)
    if not isinstance(view, dict):
        return "unknown"
    for source in (view, view.get("status") if isinstance(view.get("status"), dict) else {}):
        for key in STATE_KEYS:
            value = source.get(key)
            if isinstance(value, dict):
                value = value.get("name") or value.get("state") or value.get("value")
            if value not in (None, "") and not isinstance(value, (dict, list)):
                return str(value)
    return "unknown"


def is_pending(state):
    return re.sub(r"[\s_\-]", "", str(state).lower()) in PENDING_STATES or state == "unknown"


def describe_differences(task_id, differences):
    parts = ["%s (task has %r, requested %r)" % (option, have, want) for option, have, want in differences]
    return ("Task %s already exists with different settings: %s. A Central Node task cannot be edited: "
            "delete it (state: absent) or use another task_id." % (task_id, "; ".join(parts)))


def validate(module):
    params = module.params
    if params["task_id"] is not None:
        task_id = normalize_task_id(params["task_id"])
        if task_id is None:
            module.fail_json(msg="task_id must be a UUID such as 3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b, got %r"
                             % params["task_id"])
        params["task_id"] = task_id
    if not 1 <= params["wait_timeout"] <= MAX_WAIT_TIMEOUT:
        module.fail_json(msg="wait_timeout must be 1..%d seconds, got %s" % (MAX_WAIT_TIMEOUT, params["wait_timeout"]))
    if not 0 < params["wait_interval"] <= MAX_WAIT_INTERVAL:
        module.fail_json(msg="wait_interval must be greater than 0 and at most %d seconds, got %s"
                         % (MAX_WAIT_INTERVAL, params["wait_interval"]))
    if params["state"] == "present":
        if not (params["executable"] or "").strip():
            module.fail_json(msg="executable must not be empty with state=present")
        for option in SENSOR_OPTIONS:
            if params[option] is not None and not params[option].strip():
                module.fail_json(msg="%s must not be empty" % option)
        if params["sensor_ip"] is not None:
            try:
                params["sensor_ip"] = clean_selector("sensor_ip", params["sensor_ip"])
            except ConfigurationError as exc:
                module.fail_json(msg=str(exc))


class Runner:
    def __init__(self, module, client, generated_task_id=None):
        self.module = module
        self.client = client
        self.params = module.params
        # $guid behaviour: without task_id a fresh random UUID, so always a new task.
        self.generated_task_id = generated_task_id or str(uuid.uuid4())

    def get_task(self, task_id):
        """The task's API view or None; an ApiError when the answer shows nothing of a task.

        Such an answer (e.g. ``{"unexpected": true}``) must not be read as "the task exists".
        """
        view = self.client.get_task(task_id)
        if view is None or task_state(view) != "unknown" or view_sensor_id(view) is not None:
            return view
        settings = task_settings(view)
        # Keys with null values (``{"taskId": null, ...}``) show nothing either.
        if any(_lookup(settings, path) not in (_MISSING, None) for _option, path, _default in COMPARED) or \
                any(view.get(key) not in (None, "") for key in TASK_ID_KEYS):
            return view
        path = self.client.task_path(task_id)
        raise ApiError("GET %s?settings=true: HTTP 200 but the answer shows no task ID, status or settings "
                       "(unexpected shape; nothing was changed): %.200r" % (path, view), status=200, method="GET",
                       path=path + "?settings=true", api_message="unexpected answer shape", body=view)

    def result(self, task_id, view, **extra):
        result = dict(task_id=task_id, task=view or {}, state=task_state(view) if view else "absent",
                      url=self.client.task_url(task_id))
        result.update(extra)
        return result

    def absent(self):
        task_id = self.params["task_id"]
        view = self.get_task(task_id)
        if view is None:
            return dict(changed=False, diff=dict(before={}, after={}), **self.result(task_id, None))
        if not self.module.check_mode:
            try:
                self.client.delete_task(task_id)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                # Deleted by someone else between our read and our delete.
                return dict(changed=False, diff=dict(before={}, after={}), **self.result(task_id, None))
        return dict(changed=True, diff=dict(before=self.diff_view(task_id, view), after={}),
                    **self.result(task_id, None))

    @staticmethod
    def diff_view(task_id, view, sensor_id=None):
        view = unwrap(view) or {}
        out = {"task_id": task_id, "task": task_settings(view)}
        sensor = sensor_id or view_sensor_id(view)
        if sensor:
            out["sensor_id"] = sensor
        return out

    def present(self):
        params = self.params
        sensor = self.client.resolve_sensor(sensor_id=params["sensor_id"], hostname=params["sensor_hostname"],
                                            ip=params["sensor_ip"])
        sensor_id = sensor["sensor_id"]
        wanted = build_settings(params["executable"], params["arguments"], params["working_directory"],
                                params["start_now"])
        after = {"task_id": None, "sensor_id": sensor_id, "task": wanted}
        task_id = params["task_id"]
        view = None
        if task_id is not None:
            view = self.get_task(task_id)
        else:
            task_id = self.generated_task_id
        after["task_id"] = task_id
        extra = dict(sensor_id=sensor_id, settings=wanted)
        if view is not None:
            differences, unknown = compare_settings(view, wanted, sensor_id)
            if differences:
                self.module.fail_json(msg=describe_differences(task_id, differences), changed=False,
                                      differences=[dict(option=o, task=h, requested=w) for o, h, w in differences],
                                      **self.result(task_id, view, **extra))
            if unknown:
                self.module.warn("The Central Node's view of task %s does not show %s; these settings could not be "
                                 "compared and the existing task was kept." % (task_id, ", ".join(unknown)))
            view = self.wait(task_id, view, extra, changed=False)
            return dict(changed=False, diff=dict(before=after, after=after), **self.result(task_id, view, **extra))
        if self.module.check_mode:
            return dict(changed=True, diff=dict(before={}, after=after), **self.result(task_id, None, **extra))
        self.create(task_id, sensor_id, wanted)
        try:
            view = self.get_task(task_id)
        except ApiError as exc:
            if self.params["wait"]:
                self.module.fail_json(msg="Task %s was created, but reading it back failed: %s" % (task_id, exc),
                                      api_error=exc.to_dict(), changed=True, **self.result(task_id, None, **extra))
            self.module.warn("Task %s was created, but reading it back failed: %s" % (task_id, exc))
            return dict(changed=True, diff=dict(before={}, after=after),
                        **self.result(task_id, None, **dict(extra, state="unknown")))
        if view is None:
            self.module.warn("Task %s was created but the Central Node does not show it yet." % task_id)
        else:
            view = self.wait(task_id, view, extra, changed=True)
        return dict(changed=True, diff=dict(before={}, after=after), **self.result(task_id, view, **extra))

    def create(self, task_id, sensor_id, wanted):
        try:
            self.client.create_task(task_id, sensor_id, wanted)
        except ApiError as exc:
            # The request may have reached the Central Node (dropped connection, gateway error). The task ID
            # is ours, so read it back instead of sending the request again.
            if exc.status is not None and exc.status < 500:
                raise
            try:
                view = self.get_task(task_id)
            except ApiError:
                view = None
            if view is None:
                if exc.status == 503:
                    raise  # the server said it did not process the request
                raise ApiError("%s. The Central Node may still create the task: run again with task_id=%s to find "
                               "it instead of starting the program twice" % (exc, task_id), status=exc.status,
                               method=exc.method, path=exc.path, api_message=exc.api_message, body=exc.body)
            differences, _unknown = compare_settings(view, wanted, sensor_id)
            if differences:
                raise exc
            self.module.warn("Creating task %s failed (%s), but the Central Node shows the task: the request "
                             "reached it, so it was not sent again." % (task_id, exc))

    def wait(self, task_id, view, extra, changed):
        if not self.params["wait"]:
            return view
        timeout = self.params["wait_timeout"]
        interval = self.params["wait_interval"]
        started = time.time()
        state = task_state(view)
        while is_pending(state):
            elapsed = time.time() - started
            if elapsed >= timeout:
                self.module.fail_json(
                    msg="Task %s is still %s after wait_timeout=%s seconds; it was not cancelled."
                        % (task_id, state if state != "unknown" else "without a status in the API's answer", timeout),
                    changed=changed, waited=round(elapsed, 1), **self.result(task_id, view, **extra))
            time.sleep(min(interval, max(0.0, timeout - elapsed)))
            try:
                latest = self.get_task(task_id)
            except ApiError as exc:
                self.module.fail_json(msg="Waiting for task %s failed: %s" % (task_id, exc), api_error=exc.to_dict(),
                                      changed=changed, **self.result(task_id, view, **extra))
            if latest is None:
                self.module.fail_json(msg="Task %s disappeared from the Central Node while waiting for it." % task_id,
                                      changed=changed, **self.result(task_id, None, **extra))
            view = latest
            state = task_state(view)
        extra["waited"] = round(time.time() - started, 1)
        return view


def main():
    argument_spec = kata_connection_spec()
    argument_spec.update(sensor_selection_spec())
    argument_spec.update(
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
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[SENSOR_OPTIONS],
        required_if=[
            ("state", "present", ("executable",)),
            ("state", "present", SENSOR_OPTIONS, True),
            ("state", "absent", ("task_id",)),
        ],
    )
    validate(module)
    client = kata_client(module)
    runner = Runner(module, client)
    task_id = module.params["task_id"] or (runner.generated_task_id if module.params["state"] == "present" else None)
    with api_errors(module, changed=False, task_id=task_id):
        result = runner.absent() if module.params["state"] == "absent" else runner.present()
    client.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
