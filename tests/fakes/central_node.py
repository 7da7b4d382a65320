# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake KATA/KEDR Central Node Response API, faithful to the vendor documentation.

Real HTTPS with a client certificate signed by the test CA (a handshake without one
fails), ``/kata/response_api/v1/<external_system_id>/`` with ``sensors``, ``settings`` and
``tasks``. Stateful: a prevention POST replaces the host's whole list, the all-hosts
versus per-host conflicts are refused naming the hosts and only the first conflicting
file, isolation settings are validated as the documentation describes.

Run it for a person or a demo (prints its URL and the certificate paths as JSON)::

    python -m tests.fakes.central_node --pki-dir /tmp/kata-pki --sensors 5
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import copy
import ipaddress
import json
import re
import sys
import time
import uuid

from . import pki
from .https_server import FakeHttpsServer, Response, json_error

BASE_PREFIX = "/kata/response_api/v1/"
DEFAULT_EXTERNAL_SYSTEM_ID = "4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d"
MIN_TIMEOUT = 3600
MAX_TIMEOUT = 35996400
HEX = re.compile(r"^[0-9a-fA-F]+$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SETTINGS_TYPES = ("network_isolation", "prevention")
SHAPES = ("plain", "response", "list")
# Switches for what the documentation leaves open (issue 15); see FakeCentralNode.reset_switches().
ALL_GET_REFUSALS = (400, 404, 405)
ISOLATION_DELETE_MODES = {
    "remove": None,                                   # DELETE removes the rule (the default)
    "enabled-false": {"enabled": False},              # DELETE "disables" it: GET still shows it, marked
    "state-disabled": {"state": "disabled"},
    "state-expired": {"state": "expired"},
}
LINUX_OS = "Ubuntu 22.04.3 LTS"


def make_sensor(index, os_name="Windows 10 Enterprise"):
    """A sensor as the fake lists it. Field names beyond ``sensorId`` are not documented."""
    return {"sensorId": str(uuid.UUID(int=(0xE6AA2842 << 96) + index)).upper() if index % 2 else
            str(uuid.UUID(int=(0xE6AA2842 << 96) + index)),
            "host": "WS-%03d.corp.example" % index,
            "ip": "10.20.%d.%d" % (index // 250, index % 250 + 1),
            "os": os_name,
            "version": "3.16.0.1234"}


class FakeCentralNode(FakeHttpsServer):
    def __init__(self, pki_paths, external_system_ids=(DEFAULT_EXTERNAL_SYSTEM_ID,), sensors=3, shape="plain",
                 task_completion_seconds=1.0, page_size=None, **kwargs):
        super(FakeCentralNode, self).__init__(pki_paths["server"], pki_paths["server_key"],
                                              client_ca=pki_paths["ca"], **kwargs)
        self.pki = pki_paths
        # reset() restores the switches; page_size goes back to this value.
        self.default_page_size = page_size
        self.reset_switches()
        self.external_system_ids = set(external_system_ids)
        self.shape = shape
        self.task_completion_seconds = task_completion_seconds
        self.reset(sensors)

    # ---- state -------------------------------------------------------------------------
    def reset(self, sensors=3):
        with self.state_lock:
            self.sensors = [make_sensor(i) for i in range(1, sensors + 1)] if isinstance(sensors, int) \
                else [dict(sensor) for sensor in sensors]
            self.isolation = {}
            self.prevention = {}
            self.tasks = {}
            self.page_tokens = {}
        self.reset_switches()
        self.clear_log()
        self.clear_faults()

    # ---- switches for what the documentation leaves open (issue 15) ---------------------
    def reset_switches(self):
        """Back to the documented behaviour; each switch is a plain attribute tests may set.

        - ``page_size``: hosts per ``GET sensors`` page (None: one page, unless the client sends
          ``max_events``); a page that is not the last carries an opaque ``continuation_token``.
        - ``page_before_filter``: a page is a slice of the whole list, filtered afterwards (as a server
          that scans ``max_events`` hosts per request would), so a filtered lookup may get empty pages first.
        - ``refuse_all_get``: None, or the status (400/404/405) answering ``GET settings?sensor_id=all``
          (POST and DELETE on ``all`` still work).
        - ``os_key``: the sensor field holding the operating system (``seed_os``/``seed_linux`` use it).
        - ``isolation_delete_marker``: None (DELETE removes the isolation rule) or a dict merged into the
          rule instead, so GET still shows it, e.g. ``{"enabled": False}`` or ``{"state": "disabled"}``.
        """
        self.page_size = getattr(self, "default_page_size", None)
        self.page_before_filter = False
        self.refuse_all_get = None
        self.os_key = "os"
        self.isolation_delete_marker = None

    def seed_os(self, sensor_ids, os_name, key=None):
        """Give these sensors (IDs, case-insensitive) ``os_name`` under ``key`` (default ``os_key``)."""
        key = key or self.os_key
        wanted = set(str(sensor_id).lower() for sensor_id in sensor_ids)
        with self.state_lock:
            for sensor in self.sensors:
                if sensor["sensorId"].lower() in wanted:
                    if key != "os":
                        sensor.pop("os", None)
                    sensor[key] = os_name

    def seed_linux(self, count=1, os_name=LINUX_OS, key=None):
        """The last ``count`` sensors become Linux hosts; returns their IDs."""
        ids = [sensor["sensorId"] for sensor in self.sensors[len(self.sensors) - count:]] if count else []
        self.seed_os(ids, os_name, key)
        return ids

    def set_os_key(self, key):
        """Move every sensor's OS field to ``key`` (e.g. ``osName`` or ``platform``)."""
        with self.state_lock:
            for sensor in self.sensors:
                for old in ("os", self.os_key):
                    if old != key and old in sensor:
                        sensor[key] = sensor.pop(old)
            self.os_key = key

    @property
    def base_url(self):
        return "%s%s%s/" % (self.url, BASE_PREFIX, sorted(self.external_system_ids)[0])

    def sensor_key(self, sensor_id):
        """The canonical (stored) key of a sensor ID, compared case-insensitively; None if unknown.

        An index makes this O(1) at 10,000 sensors (the scale benchmark); it is checked on every hit and
        rebuilt on a miss, so tests may still edit ``self.sensors`` directly.
        """
        if sensor_id == "all":
            return "all"
        wanted = str(sensor_id).lower()
        index = getattr(self, "_sensor_index", {}).get(wanted)
        if index is not None and index < len(self.sensors) and self.sensors[index]["sensorId"].lower() == wanted:
            return self.sensors[index]["sensorId"]
        self._sensor_index = {}
        for position, sensor in enumerate(self.sensors):
            self._sensor_index.setdefault(sensor["sensorId"].lower(), position)
        for sensor in self.sensors:
            if sensor["sensorId"].lower() == str(sensor_id).lower():
                return sensor["sensorId"]
        return None

    def sensor_by_host(self, host):
        return next(s for s in self.sensors if s["host"] == host)

    def set_prevention(self, sensor_id, objects):
        """Plant rules directly (as the web UI would), bypassing the API's checks."""
        with self.state_lock:
            key = self.sensor_key(sensor_id)
            if objects:
                self.prevention[key] = copy.deepcopy(objects)
            else:
                self.prevention.pop(key, None)

    def get_prevention(self, sensor_id):
        with self.state_lock:
            return copy.deepcopy(self.prevention.get(self.sensor_key(sensor_id), []))

    def set_isolation(self, sensor_id, settings):
        with self.state_lock:
            key = self.sensor_key(sensor_id)
            if settings:
                self.isolation[key] = copy.deepcopy(settings)
            else:
                self.isolation.pop(key, None)

    def get_isolation(self, sensor_id):
        with self.state_lock:
            return copy.deepcopy(self.isolation.get(self.sensor_key(sensor_id)))

    def dump_state(self):
        return {"sensors": self.sensors, "isolation": self.isolation, "prevention": self.prevention,
                "tasks": self.tasks, "shape": self.shape, "page_size": self.page_size,
                "refuse_all_get": self.refuse_all_get, "isolation_delete_marker": self.isolation_delete_marker}

    def load_state(self, state):
        if "sensors" in state:
            self.sensors = [dict(sensor) for sensor in state["sensors"]]
        for sensor_id, objects in (state.get("prevention") or {}).items():
            self.set_prevention(sensor_id, objects)
        for sensor_id, settings in (state.get("isolation") or {}).items():
            self.set_isolation(sensor_id, settings)
        for switch in ("page_size", "page_before_filter", "refuse_all_get", "isolation_delete_marker"):
            if switch in state:
                setattr(self, switch, state[switch])
        if "shape" in state:
            if state["shape"] not in SHAPES:
                raise ValueError("shape must be one of %s" % ", ".join(SHAPES))
            self.shape = state["shape"]

    # ---- API ---------------------------------------------------------------------------
    def handle_api(self, request):
        if not request.path.startswith(BASE_PREFIX):
            return json_error(404, "not found")
        rest = request.path[len(BASE_PREFIX):]
        external_id, _sep, resource = rest.partition("/")
        if external_id not in self.external_system_ids:
            return json_error(401, "Authorization required: unknown external system %s" % external_id)
        if resource == "sensors" and request.method == "GET":
            return self._sensors(request)
        if resource == "settings":
            return self._settings(request)
        if resource.startswith("tasks/"):
            return self._tasks(request, resource[len("tasks/"):])
        return json_error(404, "unknown resource %s %s" % (request.method, resource))

    def _wrap(self, key, value):
        if self.shape == "response":
            return {"response": {key: value}}
        if self.shape == "list" and key == "settings" and isinstance(value, dict):
            return {key: [value]}
        return {key: value}

    def _sensors(self, request):
        unknown = set(request.query) - {"ip", "host", "sensor_id", "max_events", "continuation_token",
                                        "max_timeout"}
        if unknown:
            return json_error(400, "Incorrect parameters: %s" % ", ".join(sorted(unknown)))
        limit = self.page_size
        if "max_events" in request.query:
            text = request.query["max_events"]
            if not text.isdigit() or int(text) < 1:
                return json_error(400, "Incorrect parameters: max_events must be a positive integer")
            limit = min(limit, int(text)) if limit else int(text)
        filters = tuple(sorted((key, value) for key, value in request.query.items()
                               if key in ("ip", "host", "sensor_id")))
        offset = 0
        if "continuation_token" in request.query:
            page = self.page_tokens.get(request.query["continuation_token"])
            if page is None:
                return json_error(400, "Incorrect parameters: unknown continuation_token")
            if page[0] != filters:
                return json_error(400, "Incorrect parameters: continuation_token was issued for other filters")
            offset = page[1]
        found = []
        scanned = self.sensors
        if limit and self.page_before_filter:
            scanned = self.sensors[offset:offset + limit]
        for sensor in scanned:
            if "ip" in request.query and sensor["ip"] != request.query["ip"]:
                continue
            if "host" in request.query and sensor["host"] != request.query["host"]:
                continue
            if "sensor_id" in request.query and sensor["sensorId"].lower() != request.query["sensor_id"].lower():
                continue
            found.append(sensor)
        if not limit:
            return Response(200, self._wrap("sensors", copy.deepcopy(found)))
        total = len(self.sensors) if self.page_before_filter else len(found)
        # Only the page is copied: copying the whole list for each page is quadratic at 10,000 sensors.
        body = self._wrap("sensors", copy.deepcopy(found if self.page_before_filter else found[offset:offset + limit]))
        if offset + limit < total:
            token = uuid.uuid4().hex
            self.page_tokens[token] = (filters, offset + limit)
            (body["response"] if self.shape == "response" else body)["continuation_token"] = token
        return Response(200, body)

    def _settings(self, request):
        settings_type = request.query.get("settings_type")
        sensor_param = request.query.get("sensor_id")
        if settings_type not in SETTINGS_TYPES:
            return json_error(400, "Incorrect parameters: settings_type must be network_isolation or prevention")
        if not sensor_param:
            return json_error(400, "Incorrect parameters: sensor_id is required")
        if sensor_param == "all" and settings_type == "network_isolation" and request.method != "GET":
            return json_error(400, "Incorrect parameters: network isolation needs a sensor_id")
        key = self.sensor_key(sensor_param)
        if key is None:
            return json_error(404, "Specified host not found: %s" % sensor_param)
        if key == "all" and request.method == "GET" and self.refuse_all_get:
            return json_error(self.refuse_all_get, "Incorrect parameters: sensor_id=all is supported for POST and "
                              "DELETE only")
        store = self.isolation if settings_type == "network_isolation" else self.prevention
        if request.method == "GET":
            if settings_type == "prevention":
                return Response(200, self._wrap("settings", {"objects": copy.deepcopy(store.get(key, []))}))
            return Response(200, self._wrap("settings", copy.deepcopy(store.get(key, {}))))
        if request.method == "DELETE":
            if settings_type == "network_isolation" and self.isolation_delete_marker and key in store:
                store[key] = dict(store[key], **copy.deepcopy(self.isolation_delete_marker))
            else:
                store.pop(key, None)
            return Response(200, {})
        if request.method != "POST":
            return json_error(405, "method not allowed")
        if request.json_error or not isinstance(request.json, dict):
            return json_error(400, "Incorrect parameters: body must be a JSON object")
        settings = request.json.get("settings")
        if isinstance(settings, list) and len(settings) == 1:
            settings = settings[0]
        if not isinstance(settings, dict):
            return json_error(400, "Incorrect parameters: settings must be an object")
        if settings_type == "network_isolation":
            error = validate_isolation(settings)
            if error:
                return json_error(400, "Incorrect parameters: %s" % error)
            store[key] = copy.deepcopy(settings)
            return Response(200, {})
        objects = settings.get("objects")
        if not isinstance(objects, list):
            return json_error(400, "Incorrect parameters: settings.objects must be a list")
        error = validate_prevention_objects(objects)
        if error:
            return json_error(400, "Incorrect parameters: %s" % error)
        conflict = self._prevention_conflict(key, objects)
        if conflict:
            return json_error(400, conflict)
        if objects:
            store[key] = copy.deepcopy(objects)
        else:
            store.pop(key, None)
        return Response(200, {})

    def _prevention_conflict(self, key, objects):
        """The documented conflict: a file cannot be blocked both for all hosts and per host.

        Only the first conflicting file is named, as the real server does.
        """
        for obj in objects:
            digest = object_hash(obj)
            if key == "all":
                hosts = [self._host_name(sensor_key) for sensor_key, rules in sorted(self.prevention.items())
                         if sensor_key != "all" and digest in {object_hash(rule) for rule in rules}]
            else:
                hosts = ["all hosts"] if digest in {object_hash(rule) for rule in self.prevention.get("all", [])} \
                    else []
            if hosts:
                return ("Prevention rule for file %s already exists and is applied to: %s"
                        % (digest, ", ".join(hosts)))
        return None

    def _host_name(self, sensor_key):
        for sensor in self.sensors:
            if sensor["sensorId"] == sensor_key:
                return sensor["host"]
        return sensor_key

    def _tasks(self, request, task_id):
        if not task_id or "/" in task_id:
            return json_error(400, "Incorrect parameters: task id")
        if request.method == "GET":
            task = self.tasks.get(task_id.lower())
            if task is None:
                return json_error(404, "The task with the specified ID was not found: %s" % task_id)
            return Response(200, self._task_view(task, request.query.get("settings", "false") == "true"))
        if request.method == "DELETE":
            if self.tasks.pop(task_id.lower(), None) is None:
                return json_error(404, "The task with the specified ID was not found: %s" % task_id)
            return Response(200, {})
        if request.method != "POST":
            return json_error(405, "method not allowed")
        if not UUID_RE.match(task_id):
            return json_error(400, "Incorrect parameters: task_id must be a UUID")
        if request.query.get("task_type") != "run_process":
            return json_error(400, "Incorrect parameters: task_type must be run_process")
        key = self.sensor_key(request.query.get("sensor_id", ""))
        if key is None or key == "all":
            return json_error(404, "Specified host not found: %s" % request.query.get("sensor_id"))
        if task_id.lower() in self.tasks:
            return json_error(400, "The task with the specified ID already exists: %s" % task_id)
        body = request.json if isinstance(request.json, dict) else {}
        task = body.get("task")
        if not isinstance(task, dict) or not isinstance(task.get("execCommand"), str) or not task["execCommand"]:
            return json_error(400, "Incorrect parameters: task.execCommand is required")
        schedule = task.get("schedule", {"startNow": True})
        if not isinstance(schedule, dict) or not isinstance(schedule.get("startNow", True), bool):
            return json_error(400, "Incorrect parameters: task.schedule.startNow must be a boolean")
        for field in ("cmdLineParameters", "workingDirectory"):
            if field in task and not isinstance(task[field], str):
                return json_error(400, "Incorrect parameters: task.%s must be a string" % field)
        self.tasks[task_id.lower()] = {"taskId": task_id, "sensorId": key, "created": time.time(),
                                       "settings": copy.deepcopy(task)}
        return Response(200, {})

    def _task_view(self, task, with_settings):
        age = time.time() - task["created"]
        start_now = task["settings"].get("schedule", {}).get("startNow", True)
        state = "completed" if start_now and age >= self.task_completion_seconds else "pending"
        view = {"taskId": task["taskId"], "sensorId": task["sensorId"], "state": state,
                "creationTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(task["created"]))}
        if state == "completed":
            view["exitCode"] = 0
        if with_settings:
            view["task"] = copy.deepcopy(task["settings"])
        return {"response": view} if self.shape == "response" else view


def object_hash(obj):
    file_info = obj.get("file", {}) if isinstance(obj, dict) else {}
    value = file_info.get("sha256") or file_info.get("md5") or ""
    return value.lower()


def validate_prevention_objects(objects):
    for index, obj in enumerate(objects):
        file_info = obj.get("file") if isinstance(obj, dict) else None
        if not isinstance(file_info, dict):
            return "objects[%d].file is required" % index
        kinds = [kind for kind in ("md5", "sha256") if kind in file_info]
        if len(kinds) != 1:
            return "objects[%d].file needs exactly one of md5 or sha256" % index
        value = file_info[kinds[0]]
        length = 32 if kinds[0] == "md5" else 64
        if not isinstance(value, str) or len(value) != length or not HEX.match(value):
            return "objects[%d].file.%s is not a valid %s hash" % (index, kinds[0], kinds[0].upper())
    return None


def validate_isolation(settings):
    timeout = settings.get("autoTurnoffTimeoutInSec")
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        return "autoTurnoffTimeoutInSec must be an integer number of seconds"
    if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
        return "autoTurnoffTimeoutInSec must be between %d and %d seconds (1 to 9999 hours)" % (
            MIN_TIMEOUT, MAX_TIMEOUT)
    rules = settings.get("excludedRules", [])
    if not isinstance(rules, list):
        return "excludedRules must be a list"
    for index, rule in enumerate(rules):
        error = _validate_exclusion(rule)
        if error:
            return "excludedRules[%d]: %s" % (index, error)
    return None


def _validate_exclusion(rule):
    if not isinstance(rule, dict):
        return "must be an object"
    direction = rule.get("direction", "both")
    if direction not in ("inbound", "outbound", "both"):
        return "direction must be inbound, outbound or both"
    protocol = rule.get("protocol")
    if protocol is not None and (isinstance(protocol, bool) or not isinstance(protocol, int)
                                 or not 0 <= protocol <= 255):
        return "protocol must be an IANA protocol number 0..255"
    for key, version in (("remoteIpv4Address", 4), ("remoteIpv6Address", 6)):
        if key in rule:
            try:
                if ipaddress.ip_address(rule[key]).version != version:
                    raise ValueError
            except ValueError:
                return "%s is not an IPv%d address" % (key, version)
    for key in ("localPortRange", "remotePortRange"):
        if key not in rule:
            continue
        if direction == "both":
            return "port ranges cannot be specified for bidirectional traffic"
        port_range = rule[key]
        if not isinstance(port_range, dict):
            return "%s must be an object" % key
        ports = [port_range.get("fromPort"), port_range.get("toPort")]
        if any(isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535 for p in ports):
            return "%s ports must be integers 1..65535" % key
        if ports[0] > ports[1]:
            return "%s fromPort is greater than toPort" % key
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description="Fake KATA/KEDR Central Node Response API (HTTPS, mutual TLS)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--pki-dir", required=True, help="where the throwaway CA and certificates live")
    parser.add_argument("--sensors", type=int, default=3, help="number of sensors to create")
    parser.add_argument("--external-system-id", default=DEFAULT_EXTERNAL_SYSTEM_ID)
    parser.add_argument("--shape", choices=SHAPES, default="plain", help="response body shape")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--page-size", type=int, help="hosts per GET sensors page (default: one page)")
    parser.add_argument("--page-before-filter", action="store_true",
                        help="page the whole list, then filter each page (filtered lookups may get empty pages)")
    parser.add_argument("--refuse-all-get", type=int, choices=ALL_GET_REFUSALS,
                        help="answer GET settings?sensor_id=all with this status")
    parser.add_argument("--linux", type=int, default=0, metavar="N", help="the last N sensors are Linux hosts")
    parser.add_argument("--os-key", default="os", help="the sensor field holding the OS (default %(default)s)")
    parser.add_argument("--isolation-delete", choices=sorted(ISOLATION_DELETE_MODES), default="remove",
                        help="what an isolation DELETE does: remove the rule, or keep it marked disabled/expired")
    parser.add_argument("--info-file", help="also write the connection info JSON to this file")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    paths = pki.generate(args.pki_dir)
    fake = FakeCentralNode(paths, external_system_ids=(args.external_system_id,), sensors=args.sensors,
                           shape=args.shape, host=args.host, port=args.port, latency_ms=args.latency_ms,
                           verbose=args.verbose, page_size=args.page_size)
    fake.refuse_all_get = args.refuse_all_get
    fake.page_before_filter = args.page_before_filter
    fake.isolation_delete_marker = ISOLATION_DELETE_MODES[args.isolation_delete]
    fake.set_os_key(args.os_key)
    fake.seed_linux(args.linux)
    fake.start()
    info = {"url": fake.url, "kata_host": args.host, "kata_port": fake.port,
            "external_system_id": args.external_system_id, "ca_path": paths["ca"],
            "client_cert": paths["client"], "client_key": paths["client_key"],
            "control": fake.url + "/_fake/", "sensors": fake.sensors}
    text = json.dumps(info, indent=2)
    if args.info_file:
        with open(args.info_file, "w") as handle:
            handle.write(text)
    print(text)
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
