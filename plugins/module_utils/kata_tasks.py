# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Central Node tasks (``run_process``): options -> wanted task, API views <-> settings, plan, apply.

A task cannot be edited through the API, so the plan is: no task with this ID -> create it;
the same task -> nothing (wait for it if asked); a different task -> fail, naming the
differences. The views of a task come in several shapes (``task``, ``settings`` or top level,
optionally ``response``-wrapped); everything that reads them is here. :class:`TaskResource` runs
in ``target_runner`` like every other resource: the target is the host for ``state=present`` and
the task itself for ``state=absent``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
import uuid

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import ALL_SENSORS, clean_selector, same_sensor_id, unwrap
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_sensors import SENSOR_OPTIONS
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import Target, TargetFailed

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


class TaskOptionError(ValueError):
    """An invalid module option; the message names the option and the allowed values."""


def validate_options(params):
    """Check the options before any request; normalizes ``task_id`` and ``sensor_ip`` in ``params``."""
    if params["task_id"] is not None:
        task_id = normalize_task_id(params["task_id"])
        if task_id is None:
            raise TaskOptionError("task_id must be a UUID such as 3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b, got %r"
                                  % params["task_id"])
        params["task_id"] = task_id
    if not 1 <= params["wait_timeout"] <= MAX_WAIT_TIMEOUT:
        raise TaskOptionError("wait_timeout must be 1..%d seconds, got %s" % (MAX_WAIT_TIMEOUT, params["wait_timeout"]))
    if not 0 < params["wait_interval"] <= MAX_WAIT_INTERVAL:
        raise TaskOptionError("wait_interval must be greater than 0 and at most %d seconds, got %s"
                              % (MAX_WAIT_INTERVAL, params["wait_interval"]))
    if params["state"] == "present":
        if not (params["executable"] or "").strip():
            raise TaskOptionError("executable must not be empty with state=present")
        for option in SENSOR_OPTIONS:
            if params[option] is not None and not params[option].strip():
                raise TaskOptionError("%s must not be empty" % option)
        if all(params[option] is None for option in SENSOR_OPTIONS):
            raise TaskOptionError("state=present needs the host: set one of %s" % ", ".join(SENSOR_OPTIONS))
        for option in SENSOR_OPTIONS:
            if params[option] is not None:
                try:
                    params[option] = clean_selector(option, params[option])
                except ConfigurationError as exc:
                    raise TaskOptionError(str(exc))
        if params["sensor_id"] is not None and params["sensor_id"].lower() == ALL_SENSORS:
            raise TaskOptionError("sensor_id=%s is not a host: a task runs a program on one host; set the host's "
                                  "sensor_id, sensor_hostname or sensor_ip" % params["sensor_id"])


class TaskPlan:
    def __init__(self, changed, view):
        self.changed = changed
        self.view = view


def diff_view(task_id, view, sensor_id=None):
    view = unwrap(view) or {}
    out = {"task_id": task_id, "task": task_settings(view)}
    sensor = sensor_id or view_sensor_id(view)
    if sensor:
        out["sensor_id"] = sensor
    return out


class TaskResource:
    """One run_process task (``target_runner`` protocol): find, create or delete it, and wait for it."""

    def __init__(self, client, params, generated_task_id=None):
        self.client = client
        self.params = params
        self.present = params["state"] == "present"
        # $guid behaviour: without task_id a fresh random UUID, so always a new task.
        self.task_id = params["task_id"] or (generated_task_id or str(uuid.uuid4()) if self.present else None)
        self.wanted = build_settings(params["executable"], params["arguments"], params["working_directory"],
                                     params["start_now"]) if self.present else None

    def task_target(self):
        """The target of ``state=absent``: the task itself, on no particular host."""
        return Target(None, "task %s" % self.task_id, self.task_id)

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
        raise self.client.task_shape_error(task_id, view, "the answer shows no task ID, status or settings "
                                                          "(unexpected shape; nothing was changed)")

    def describe(self, result, view, **extra):
        """The documented return values of the task in ``view`` (None: there is none)."""
        result.update(task_id=self.task_id, task=view or {}, state=task_state(view) if view else "absent",
                      url=self.client.task_url(self.task_id))
        result.update(extra)
        return result

    def extra(self, sensor_id):
        """The return values of ``state=present`` beyond the task's: the host and the settings asked for."""
        return dict(sensor_id=sensor_id, settings=self.wanted) if self.present else {}

    # ---- the target_runner protocol ----------------------------------------------------------
    def read(self, target, result):
        result.update(changed=False, task_id=self.task_id, warnings=[])
        if self.present:
            result["sensor_id"] = target.api_id
        if self.present and self.params["task_id"] is None:
            return None
        return self.get_task(self.task_id)

    def plan(self, target, view, result):
        """The plan and its return values; with ``wait``, an existing task is waited for here (reads only)."""
        if not self.present:
            plan = TaskPlan(view is not None, view)
            before = diff_view(self.task_id, view) if plan.changed else {}
            result.update(changed=plan.changed, diff=dict(before=before, after={}))
            self.describe(result, None)
            return plan
        if view is not None:
            differences, unknown = compare_settings(view, self.wanted, target.api_id)
            if differences:
                raise TargetFailed(describe_differences(self.task_id, differences), self.describe(
                    dict(changed=False, differences=[dict(option=o, task=h, requested=w) for o, h, w in differences]),
                    view, **self.extra(target.api_id)))
            if unknown:
                result["warnings"].append("The Central Node's view of task %s does not show %s; these settings could "
                                          "not be compared and the existing task was kept."
                                          % (self.task_id, ", ".join(unknown)))
        plan = TaskPlan(view is None, view)
        after = {"task_id": self.task_id, "sensor_id": result["sensor_id"], "task": self.wanted}
        result.update(changed=plan.changed, diff=dict(before={} if plan.changed else after, after=after))
        extra = self.extra(result["sensor_id"])
        self.describe(result, view, **extra)
        if not plan.changed and self.params["wait"]:
            self.describe(result, self.wait(view, extra, changed=False), **extra)
        return plan

    def apply(self, target, plan, result):
        """Create or delete the task; True after a create, which :meth:`verify` reads back."""
        if not plan.changed:
            return False
        if not self.present:
            try:
                self.client.delete_task(self.task_id)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                # Deleted by someone else between our read and our delete.
                result.update(changed=False, diff=dict(before={}, after={}))
            return False
        self.create(target.api_id, result)
        return True

    def verify(self, target, plan, result, elapsed, since_write):
        """The created task read back (and, with ``wait``, waited for)."""
        extra = self.extra(target.api_id)
        try:
            view = self.get_task(self.task_id)
        except ApiError as exc:
            if self.params["wait"]:
                raise TargetFailed("Task %s was created, but reading it back failed: %s" % (self.task_id, exc),
                                   self.describe(dict(changed=True), None, **extra), exc)
            result["warnings"].append("Task %s was created, but reading it back failed: %s" % (self.task_id, exc))
            self.describe(result, None, **dict(extra, state="unknown"))
            return
        if view is None:
            result["warnings"].append("Task %s was created but the Central Node does not show it yet." % self.task_id)
        else:
            view = self.wait(view, extra, changed=True)
        self.describe(result, view, **extra)

    # ---- steps -------------------------------------------------------------------------------
    def create(self, sensor_id, result):
        try:
            self.client.create_task(self.task_id, sensor_id, self.wanted)
        except ApiError as exc:
            # The request may have reached the Central Node (dropped connection, gateway error). The task ID
            # is ours, so read it back instead of sending the request again.
            if exc.status is not None and exc.status < 500:
                raise
            try:
                view = self.get_task(self.task_id)
            except ApiError:
                view = None
            if view is None:
                if exc.status == 503:
                    raise  # the server said it did not process the request
                raise ApiError("%s. The Central Node may still create the task: run again with task_id=%s to find "
                               "it instead of starting the program twice" % (exc, self.task_id), status=exc.status,
                               method=exc.method, path=exc.path, api_message=exc.api_message, body=exc.body)
            differences, _unknown = compare_settings(view, self.wanted, sensor_id)
            if differences:
                raise exc
            result["warnings"].append("Creating task %s failed (%s), but the Central Node shows the task: the request "
                                      "reached it, so it was not sent again." % (self.task_id, exc))

    def wait(self, view, extra, changed):
        if not self.params["wait"]:
            return view
        timeout = self.params["wait_timeout"]
        interval = self.params["wait_interval"]
        started = time.time()
        state = task_state(view)
        while is_pending(state):
            elapsed = time.time() - started
            if elapsed >= timeout:
                raise TargetFailed(
                    "Task %s is still %s after wait_timeout=%s seconds; it was not cancelled."
                    % (self.task_id, state if state != "unknown" else "without a status in the API's answer", timeout),
                    self.describe(dict(changed=changed, waited=round(elapsed, 1)), view, **extra))
            time.sleep(min(interval, max(0.0, timeout - elapsed)))
            try:
                latest = self.get_task(self.task_id)
            except ApiError as exc:
                raise TargetFailed("Waiting for task %s failed: %s" % (self.task_id, exc),
                                   self.describe(dict(changed=changed), view, **extra), exc)
            if latest is None:
                raise TargetFailed("Task %s disappeared from the Central Node while waiting for it." % self.task_id,
                                   self.describe(dict(changed=changed), None, **extra))
            view = latest
            state = task_state(view)
        extra["waited"] = round(time.time() - started, 1)
        return view
