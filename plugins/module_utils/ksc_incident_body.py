# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The body of a KSC incident that queues a KES EDR response: task params checked, body built, parsed, compared.

The response task types and their parameters are the ones the KSC EDR documentation lists.
Validation happens here, before any request: required keys, no unknown keys, MD5 (32 hex
digits) and SHA256 (64 hex digits) hashes, ``action`` 0/1, boolean flags, scan areas with a
``type`` from the documented ScanObjectType list. The result is the normalized ``params``
that goes into the incident body (``KLINCDT_BODY``), keys in the documented order.

Pure (no I/O); ``ksc_incidents.IncidentResource`` creates and finds the incidents.
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

from ansible_collections.kaspersky.edr.plugins.module_utils.hashes import HASH_LENGTHS, is_hex_hash

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
        return _hash(name, task, value, "md5", allow_empty=True)
    if kind == SHA256_OR_EMPTY:
        return _hash(name, task, value, "sha256", allow_empty=True)
    if kind == MD5:
        return _hash(name, task, value, "md5", allow_empty=False)
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


def _hash(name, task, value, kind, allow_empty):
    if value == "" and allow_empty:
        return value
    length = HASH_LENGTHS[kind]
    if not is_hex_hash(value, length):
        raise ParamsError("%s for task %s must be %s%s hash (%d hex digits), got %r (%d characters)" % (
            name, task, "an empty string or an " if allow_empty else "an ", kind.upper(), length, value, len(value)))
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


# One validated response request: the task type, its params, the incident area and severity.
Response = collections.namedtuple("Response", "task params area severity")
