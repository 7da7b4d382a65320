# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KSC incidents that queue a KES EDR response: options -> body, KSC incidents <-> body, plan, apply.

The response task types and their parameters are the ones the KSC EDR documentation lists.
Validation happens here, before any request: required keys, no unknown keys, MD5 (32 hex
digits) and SHA256 (64 hex digits) hashes, ``action`` 0/1, boolean flags, scan areas with a
``type`` from the documented ScanObjectType list. The result is the normalized ``params``
that goes into the incident body (``KLINCDT_BODY``), keys in the documented order.

:class:`IncidentResource` applies one response to one host in ``target_runner``: a pending
incident with the same response on the host means nothing to do (unless ``force``); otherwise
``HostGroup.AddIncident`` and then ``UpdateIncident(KLINCDT_IS_HANDLED=false)``, as the vendor's
sample does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import collections
import binascii
import io
import json
import re
import zipfile

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_protocol import KscError
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import BaseResource, Target, TargetFailed

TASKS = ("getFile", "deleteFile", "quarantineFile", "iocScan", "startProcess", "terminateProcess",
         "isolateHost", "preventExecution", "onDemandScan")

SCAN_OBJECT_TYPES = (
    (14, "SystemMemory"),
    (15, "StartupObjectsAndRunningProcesses"),
    (16, "DiskBootSectors"),
    (17, "SystemBackupStorage"),
    (18, "Email"),
    (22, "Folder"),
    (23, "AllRemovableDrives"),
    (24, "AllNetworkDrives"),
    (25, "AllFixedDrives"),
)
SCAN_TYPE_NAMES = dict(SCAN_OBJECT_TYPES)
FOLDER_SCAN_TYPE = 22

# Value kinds.
MD5_OR_EMPTY = "md5_or_empty"
SHA256_OR_EMPTY = "sha256_or_empty"
MD5 = "md5"
STRING = "string"
NONEMPTY_STRING = "nonempty_string"
BOOL = "bool"
ACTION = "action"
IOC = "ioc"
SCAN_TYPE = "scan_type"

_FILE_KEYS = (("md5hash", MD5_OR_EMPTY, True), ("sha256hash", SHA256_OR_EMPTY, True), ("path", STRING, True))

# (key, kind, required) in the documented order. Keys marked ``?`` in the docs are optional.
TASK_PARAMS = {
    "getFile": _FILE_KEYS,
    "deleteFile": _FILE_KEYS + (("searchInSubfolders", BOOL, False),),
    "quarantineFile": _FILE_KEYS,
    "iocScan": (("ioc", IOC, True), ("isolateHost", BOOL, True), ("scanCriticalAreas", BOOL, True),
                ("quarantineObject", BOOL, True)),
    "startProcess": (("executablePath", NONEMPTY_STRING, True), ("arguments", STRING, False),
                     ("workingFolder", STRING, False)),
    "terminateProcess": _FILE_KEYS + (("caseSensitive", BOOL, True),),
    "isolateHost": (("action", ACTION, True),),
    "preventExecution": (("hash", MD5, True), ("path", STRING, True), ("caseSensitive", BOOL, True)),
}
SCAN_AREA_PARAMS = (("enabled", BOOL, True), ("path", STRING, True), ("recursive", BOOL, True),
                    ("type", SCAN_TYPE, True))
# Tasks that identify a file by hash or path: at least one of them must be non-empty.
FILE_TASKS = ("getFile", "deleteFile", "quarantineFile", "terminateProcess")
HASH_KEYS = ("md5hash", "sha256hash", "hash")

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class ParamsError(ValueError):
    """Invalid module input; the message names the option and the allowed values."""


def describe_keys(task):
    spec = SCAN_AREA_PARAMS if task == "onDemandScan" else TASK_PARAMS[task]
    required = [entry[0] for entry in spec if entry[2]]
    optional = [entry[0] for entry in spec if not entry[2]]
    return "required: %s; optional: %s" % (", ".join(required) or "none", ", ".join(optional) or "none")


def validate_params(task, params, ioc=None):
    """Normalized ``params`` for ``task`` or ParamsError naming the offending key.

    ``ioc`` is the base64 IOC archive read from ``ioc_file`` (iocScan only).
    """
    if task not in TASKS:
        raise ParamsError("task must be one of %s, got %r" % (", ".join(TASKS), task))
    if isinstance(params, str):
        try:
            params = json.loads(params) if params.strip() else None
        except ValueError:
            raise ParamsError("params must be a dict (a list of scan areas for onDemandScan), got a string that is "
                              "not JSON")
    if task == "onDemandScan":
        return _validate_scan_areas(params)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParamsError("params for task %s must be a dict (%s), got %s" % (task, describe_keys(task),
                                                                              _type_name(params)))
    params = dict(params)
    if task == "iocScan" and ioc is not None:
        if "ioc" in params:
            raise ParamsError("use either ioc_file or params.ioc for task iocScan, not both")
        params["ioc"] = ioc
    result = _validate_dict(task, params, TASK_PARAMS[task], "params")
    if task in FILE_TASKS and not any(result.get(key) for key in ("md5hash", "sha256hash", "path")):
        raise ParamsError("params for task %s must identify the file: at least one of md5hash, sha256hash or path "
                          "must be non-empty" % task)
    return result


def _validate_scan_areas(params):
    task = "onDemandScan"
    if not isinstance(params, list) or not params:
        raise ParamsError("params for task onDemandScan must be a non-empty list of scan areas, each a dict with %s; "
                          "got %s" % (describe_keys(task), "an empty list" if params == [] else _type_name(params)))
    areas = []
    for index, area in enumerate(params):
        where = "params[%d]" % index
        if not isinstance(area, dict):
            raise ParamsError("%s for task onDemandScan must be a dict (%s), got %s" % (
                where, describe_keys(task), _type_name(area)))
        result = _validate_dict(task, area, SCAN_AREA_PARAMS, where)
        if result["type"] == FOLDER_SCAN_TYPE and not result["path"].strip():
            raise ParamsError("%s.path for task onDemandScan must name the files and folders to scan "
                              "(space-delimited) when type is 22 (Folder)" % where)
        areas.append(result)
    return areas


def _validate_dict(task, params, spec, where):
    allowed = [entry[0] for entry in spec]
    for key in params:
        if key not in allowed:
            raise ParamsError("%s.%s is not a parameter of task %s; allowed keys (case-sensitive): %s" % (
                where, key, task, ", ".join(allowed)))
    result = {}
    for key, kind, required in spec:
        if key not in params or params[key] is None:
            if required:
                raise ParamsError("%s.%s is required for task %s (%s)" % (where, key, task, describe_keys(task)))
            continue
        result[key] = _check_value("%s.%s" % (where, key), task, kind, params[key])
    return result


def _check_value(name, task, kind, value):
    if kind == BOOL:
        return _bool(name, task, value)
    if kind == ACTION:
        number = _int(value)
        if number not in (0, 1):
            raise ParamsError("%s for task %s must be 0 (turn network isolation off) or 1 (turn it on), got %r"
                              % (name, task, value))
        return number
    if kind == SCAN_TYPE:
        number = _int(value)
        if number not in SCAN_TYPE_NAMES:
            raise ParamsError("%s for task %s must be one of %s; got %r" % (
                name, task, ", ".join("%d (%s)" % pair for pair in SCAN_OBJECT_TYPES), value))
        return number
    if not isinstance(value, str):
        raise ParamsError("%s for task %s must be a string, got %s" % (name, task, _type_name(value)))
    if kind == MD5_OR_EMPTY:
        return _hash(name, task, value, 32, "MD5", allow_empty=True)
    if kind == SHA256_OR_EMPTY:
        return _hash(name, task, value, 64, "SHA256", allow_empty=True)
    if kind == MD5:
        return _hash(name, task, value, 32, "MD5", allow_empty=False)
    if kind == NONEMPTY_STRING and not value.strip():
        raise ParamsError("%s for task %s must not be empty" % (name, task))
    if kind == IOC:
        return _ioc(name, task, value)
    return value


def _bool(name, task, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        normalized = value.strip().lower() if isinstance(value, str) else value
        if normalized in BOOLEANS_TRUE:
            return True
        if normalized in BOOLEANS_FALSE:
            return False
    raise ParamsError("%s for task %s must be a boolean (true or false), got %r" % (name, task, value))


def _int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r"^\s*\d+\s*$", value):
        return int(value)
    return None


def _hash(name, task, value, length, label, allow_empty):
    if value == "" and allow_empty:
        return value
    if len(value) != length or not _HEX.match(value):
        raise ParamsError("%s for task %s must be %s%s hash (%d hex digits), got %r (%d characters)" % (
            name, task, "an empty string or an " if allow_empty else "an ", label, length, value, len(value)))
    return value


def _ioc(name, task, value):
    try:
        data = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ParamsError("%s for task %s must be a ZIP archive of IOC files in base64 (or use ioc_file); the "
                          "value is not valid base64" % (name, task))
    if not data.startswith(_ZIP_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        raise ParamsError("%s for task %s must be a ZIP archive of IOC files in base64 (or use ioc_file); the "
                          "decoded value is not a ZIP archive" % (name, task))
    return value.strip()


def read_ioc_file(path):
    """The IOC ZIP archive at ``path`` as base64; ParamsError when unreadable or not a ZIP."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise ParamsError("ioc_file %s cannot be read: %s" % (path, exc.strerror or exc))
    except ValueError as exc:  # e.g. a NUL character in the path
        raise ParamsError("ioc_file %r cannot be read: %s" % (path, exc))
    if not data.startswith(_ZIP_MAGIC) or not zipfile.is_zipfile(io.BytesIO(data)):
        raise ParamsError("ioc_file %s is not a ZIP archive (iocScan needs a ZIP of IOC files)" % path)
    return base64.b64encode(data).decode("ascii")


def comparable_params(params):
    """A canonical form for comparing params of two incidents: hashes compared case-insensitively."""
    if isinstance(params, list):
        return [comparable_params(item) for item in params]
    if isinstance(params, dict):
        result = {}
        for key, value in params.items():
            if key in HASH_KEYS and isinstance(value, str):
                value = value.lower()
            result[key] = comparable_params(value)
        return result
    return params


def build_body(target_host, task, params, area):
    """The incident body, keys in the vendor sample's order."""
    return {"targetHost": target_host, "task": task, "params": params, "responseEventIncident": True,
            "responseEventIncidentArea": area}


def serialize_body(body):
    """``KLINCDT_BODY``: the body as a JSON string, as the vendor sample's ``json.dumps(data)``."""
    return json.dumps(body)


def parse_body(text):
    """The response body of an incident, or None when it is not an EDR response incident."""
    if not isinstance(text, str):
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("responseEventIncident") is not True:
        return None
    return body


def same_response(body, target_host, task, params):
    """True when ``body`` queues the same task with the same params on the same host."""
    if body is None or body.get("task") != task:
        return False
    if str(body.get("targetHost", "")).lower() != str(target_host).lower():
        return False
    return comparable_params(body.get("params")) == comparable_params(params)


def task_name_hint(area, task):
    """The beginning of the name KSC gives the response task: ``[Response][<area>] <task> - ...``."""
    return "[Response][%s] %s - ..." % (area, task)


def _type_name(value):
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a dict"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return "a number (%r)" % value
    if isinstance(value, str):
        return "a string (%r)" % value
    return type(value).__name__


# ---- plan and apply to one host ------------------------------------------------------------
def find_pending(client, host_id, task, task_params):
    """The newest pending incident on the host that queues the same response, as ``(incident, body)``, or None."""
    best = None
    for incident in client.pending_incidents(host_id):
        if incident.get("KLINCDT_IS_HANDLED") is True:
            continue
        body = parse_body(incident.get("KLINCDT_BODY"))
        if not same_response(body, host_id, task, task_params):
            continue
        if best is None or (incident.get("KLINCDT_ID") or 0) > (best[0].get("KLINCDT_ID") or 0):
            best = (incident, body)
    return best


def incident_id_of(incident):
    """The ``KLINCDT_ID`` of an incident as KSC lists it, or None when it is not an integer."""
    incident_id = (incident or {}).get("KLINCDT_ID")
    return incident_id if isinstance(incident_id, int) and not isinstance(incident_id, bool) else None


class IncidentPlan:
    def __init__(self, changed, body, pending=None):
        self.changed = changed
        self.body = body
        self.pending = pending


# One validated response request: the task type, its params, the incident area and severity.
Response = collections.namedtuple("Response", "task params area severity")


class IncidentResource(BaseResource):
    """One EDR response for one host (``target_runner`` protocol)."""

    def __init__(self, client, response, force=False, diff=False):
        self.client = client
        self.response = response
        self.force = force
        self.diff = diff

    def base_result(self):
        return dict(changed=False, incident_id=None, body=None, pending=False, marked_not_handled=False,
                    task_name_hint=task_name_hint(self.response.area, self.response.task))

    def resolver(self, host_id=None, hostname=None):
        """Log in and find the host: a function returning its :class:`Target` (for ``run_single``)."""
        def resolve():
            self.client.login()
            host = self.client.resolve_host(host_id=host_id, hostname=hostname)
            return Target(host["KLHST_WKS_HOSTNAME"], host["KLHST_WKS_HOSTNAME"], host_id or hostname, record=host)
        return resolve

    def new_result(self, target):
        return dict(self.base_result(), host=target.record, target_host=target.sensor_id, warnings=[])

    def read(self, target, result):
        return None if self.force else find_pending(self.client, target.sensor_id, self.response.task, self.response.params)

    def plan(self, target, found, result):
        if found is not None:
            return IncidentPlan(False, found[1], pending=found[0])
        return IncidentPlan(True, build_body(target.sensor_id, self.response.task, self.response.params, self.response.area))

    def record(self, result, plan, final):
        if plan.pending is not None:
            result.update(incident_id=plan.pending.get("KLINCDT_ID"), body=plan.body, pending=True,
                          task_name_hint=task_name_hint(plan.body.get("responseEventIncidentArea") or self.response.area,
                                                        self.response.task))
            return
        result.update(changed=True, body=plan.body)
        if self.diff:
            host_id = result["target_host"]
            result["diff"] = {"before": "", "after": json.dumps(plan.body, indent=2, sort_keys=False) + "\n",
                              "before_header": "pending responses on %s" % host_id,
                              "after_header": "new incident on %s" % host_id}

    def write(self, target, plan, result):
        result["incident_id"] = self.create(target.sensor_id, plan.body, result)
        return False

    def repair(self, target, plan, result):
        """The pending incident found gets ``UpdateIncident(KLINCDT_IS_HANDLED=false)`` again.

        A run that died between AddIncident and UpdateIncident left an incident the vendor's sequence never
        finished; setting the attribute again is idempotent, so a rerun always sends it (one request) unless
        the incident is already handled. It is not a change (``changed`` stays false): ``marked_not_handled``
        says it was sent.
        """
        incident_id = incident_id_of(plan.pending)
        if incident_id is None or plan.pending.get("KLINCDT_IS_HANDLED") is True:
            return
        try:
            self.mark_not_handled(incident_id, target.sensor_id)
        except ApiError as exc:
            raise TargetFailed("Pending incident %d already queues this response, but marking it not handled again "
                               "(as the vendor's sequence does after AddIncident) failed: %s" % (incident_id, exc),
                               result, exc)
        result["marked_not_handled"] = True

    # ---- steps -------------------------------------------------------------------------------
    def created_incident(self, host_id, body):
        """The ID of the pending incident an AddIncident with an unclear outcome created, or None.

        Only used without ``force``: the host had no such pending incident just before, so one now is ours.
        """
        try:
            found = find_pending(self.client, host_id, body["task"], body["params"])
        except ApiError:
            return None
        return incident_id_of(found[0]) if found else None

    def mark_not_handled(self, incident_id, host_id):
        """``UpdateIncident(KLINCDT_IS_HANDLED=false)``: the step the vendor's sample sends after AddIncident."""
        self.client.update_incident(incident_id, {"KLINCDT_IS_HANDLED": False, "KLHST_WKS_HOSTNAME": host_id})

    def create(self, host_id, body, result):
        """AddIncident, then UpdateIncident with KLINCDT_IS_HANDLED false, as the vendor's sample does."""
        try:
            incident_id = self.client.add_incident(host_id, serialize_body(body), self.response.severity)
        except KscError:
            raise
        except ApiError as exc:
            if not (exc.status is None or 200 <= exc.status < 300 or (exc.status >= 500 and exc.status != 503)):
                raise
            # The server (behind a gateway, or before the connection failed) may have created it: look for it
            # instead of sending AddIncident again. A PxgError or a 503 says it was not created.
            incident_id = None if self.force else self.created_incident(host_id, body)
            if incident_id is None:
                raise TargetFailed("%s. The incident may have been created: run the task again, it finds a pending "
                                   "incident instead of creating a second one" % exc, result, exc)
            result["warnings"].append("Creating the incident failed (%s), but KSC shows pending incident %s with this "
                                      "response on the host: the request reached KSC, so it was not sent again."
                                      % (exc, incident_id))
        try:
            self.mark_not_handled(incident_id, host_id)
        except ApiError as exc:
            result["incident_id"] = incident_id
            raise TargetFailed("Incident %d was created but marking it not handled failed: %s" % (incident_id, exc),
                               result, exc)
        return incident_id
