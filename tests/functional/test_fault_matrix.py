# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix: every module against every fault the fake servers can inject.

Each cell runs one module in this process (``tests/inprocess.py``) against the real fake
Central Node or fake KSC with one fault injected on one request:

* W (write): the request that changes something: the prevention or isolation ``POST settings``,
  the run-process ``POST tasks/<task_id>``, ``HostGroup.AddIncident``.
* R (read): the read that decides the write: the host's ``GET settings``; for run_process and
  ksc_edr_response a re-run whose task or incident already exists (``GET tasks/<task_id>``, the
  chunk of the pending-incident search), where misreading the answer would create a duplicate.
  kata_sensor_info has only R (``GET sensors``).
* V (verify, kata_prevention only): the read-back after the write (``verify_write``).

Every cell asserts: no traceback; success, or failure with one line that names the cause;
the fake's state afterwards is the state before or the state before plus exactly the intended
change (every rule kept, never a partial list, never a duplicate task or incident); and a
second run without the fault converges to exactly the intended state, with no write at all when the
first run already made the change. The outcome of every cell is read from the fake's request log (a
retry is the faulted request sent again, identical, right after it) and must be the one ``EXPECTED``
lists; docs/security.md shows ``EXPECTED`` (compared by a test). The observed outcomes also go to
``tests/fault_report.py``, which prints the summary table at the end of the pytest run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import copy
import json
import os
import re
import time

import pytest

from ansible_collections.kaspersky.edr.tests import fault_report
from tests.conftest import REPO_ROOT
from ansible_collections.kaspersky.edr.tests.inprocess import run_module

A = "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"   # the "web UI" rule
B = "2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728"
C = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"   # the hash the run adds
H = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"   # blocked for all hosts
M = "44d88612fea8a8f36de82e1278abb02f"
UI_RULE = {"file": {"sha256": A, "name": "Blocked by hand in the web UI"}, "uiOnly": {"createdBy": "alice"}}

TASK_ID = "7d3c1f0e-2b4a-4c5d-8e6f-0a1b2c3d4e5f"
OLD_TASK_ID = "0b6f8a52-1c3d-4e5f-8a7b-9c0d1e2f3a4b"
TASK_SETTINGS = {"schedule": {"startNow": True}, "execCommand": "cmd.exe", "cmdLineParameters": "/c ipconfig"}

ISOLATION = {"autoTurnoffTimeoutInSec": 14400, "excludedRules": [
    {"direction": "outbound", "protocol": 6, "remoteIpv4Address": "10.0.0.5",
     "remotePortRange": {"fromPort": 443, "toPort": 443}}]}
OTHER_ISOLATION = {"autoTurnoffTimeoutInSec": 7200, "excludedRules": [{"direction": "both",
                                                                      "remoteIpv4Address": "10.0.0.10"}]}

REQUEST_TIMEOUT = 1.0
SLOW = 1.5          # seconds the server waits before answering: longer than REQUEST_TIMEOUT
NORMAL_TIMEOUT = 15.0
RETRIES = 2
EXTRA = {"x_unknown_field": {"added_in": "a later API version", "values": [1, None, "x"]}}
# Rule payloads the modules write back verbatim: an unknown field there is the rule's own data
# (covered by UI_RULE's "uiOnly"), so the extra-fields fault leaves their insides alone.
OPAQUE_KEYS = ("objects", "excludedRules")

# (name, kind, add_fault arguments, what a failure message must mention)
FAULTS = [
    ("HTTP 500", "status", {"status": 500}, r"HTTP 500"),
    ("HTTP 502", "status", {"status": 502}, r"HTTP 502"),
    ("HTTP 503", "status", {"status": 503}, r"HTTP 503"),
    ("HTTP 504", "status", {"status": 504}, r"HTTP 504"),
    ("HTTP 429 + Retry-After: 1", "status", {"status": 429, "retry_after": 1}, r"HTTP 429"),
    ("reset before the body is read", "drop", {"action": "drop_before"},
     r"(?i)connection|closed|reset|aborted|disconnected"),
    ("reset after processing", "drop", {"action": "drop_after"}, r"(?i)connection|closed|reset|aborted|disconnected"),
    ("slow: %.1f s > request_timeout %.0f s" % (SLOW, REQUEST_TIMEOUT), "slow", {"delay": SLOW},
     r"request_timeout"),
    ("truncated body", "body", {"action": "truncate"}, r"not JSON"),
    ("non-JSON body (HTML)", "body", {"action": "garbage"}, r"not JSON"),
    ("missing keys", "missing", {}, r"unexpected shape|shows no task|strAccessor|PxgRetVal|no items"),
    ("null values", "null", {}, r"unexpected shape|shows no task|strAccessor|PxgRetVal|no items|not JSON"),
    ("extra fields", "extra", {}, r"$^"),
]
# Faults after which no usable answer arrived: a success means the request was repeated.
NO_ANSWER_KINDS = ("status", "drop", "slow")

# ---- the expected outcome of every cell ------------------------------------------------------
# One row per fault, one entry per module in fault_report.MODULES order; "W", "R", "V" as above.
# Outcomes, all read from the fake's request log and the module's result:
#   retried N               succeeded; the faulted request was sent N more times, identical, right after it (after a
#                           429 with Retry-After, that many seconds later: assert_waited_retry_after)
#   failed                  failed with one line naming the cause; the faulted request was not repeated
#   failed after read-back  the write was not repeated (a repeat could act twice); the client read the resource
#                           back, found nothing, and failed saying to run again
#   settled                 the write was not repeated; the read-back showed it was done: success with a warning
#   ok                      succeeded, nothing repeated, no warning (the answer was not needed or was usable)
# docs/security.md's table is rendered from this (test_security_md_table_is_the_expected_matrix), and every
# cell asserts its observed outcome is the one listed here, so the table can only say what the run does.
FAILED_RB = "failed after read-back"
EXPECTED = {
    # KATA: 500 ("repeat the request later") is retried for requests safe to repeat, not for a task create.
    # KSC answers 500 for its own refusals: not retried.
    "HTTP 500": ("W retried 1, R retried 1, V retried 1", "W retried 1, R retried 1", "W %s, R retried 1" % FAILED_RB,
                 "W %s, R failed" % FAILED_RB, "retried 1"),
    "HTTP 502": ("W retried 1, R retried 1, V retried 1", "W retried 1, R retried 1", "W %s, R retried 1" % FAILED_RB,
                 "W %s, R retried 1" % FAILED_RB, "retried 1"),
    "HTTP 503": ("W retried 1, R retried 1, V retried 1", "W retried 1, R retried 1", "W retried 1, R retried 1",
                 "W retried 1, R retried 1", "retried 1"),
    "HTTP 504": ("W retried 1, R retried 1, V retried 1", "W retried 1, R retried 1", "W %s, R retried 1" % FAILED_RB,
                 "W %s, R retried 1" % FAILED_RB, "retried 1"),
    "HTTP 429 + Retry-After: 1": ("W retried 1, R retried 1, V retried 1", "W retried 1, R retried 1",
                                  "W retried 1, R retried 1", "W retried 1, R retried 1", "retried 1"),
    "reset before the body is read": ("W retried 1, R retried 1, V retried 1", "W retried 1, R retried 1",
                                      "W %s, R retried 1" % FAILED_RB, "W %s, R retried 1" % FAILED_RB, "retried 1"),
    "reset after processing": ("W retried 1, R retried 1, V retried 1", "W retried 1, R retried 1",
                               "W settled, R retried 1", "W settled, R retried 1", "retried 1"),
    "slow: %.1f s > request_timeout %.0f s" % (SLOW, REQUEST_TIMEOUT): (
        "W retried 1, R retried 1, V retried 1", "W retried 1, R retried 1", "W %s, R retried 1" % FAILED_RB,
        "W %s, R retried 1" % FAILED_RB, "retried 1"),
    "truncated body": ("W ok, R failed, V failed", "W ok, R failed", "W ok, R failed", "W settled, R failed", "failed"),
    "non-JSON body (HTML)": ("W ok, R failed, V failed", "W ok, R failed", "W ok, R failed", "W settled, R failed",
                             "failed"),
    "missing keys": ("W ok, R failed, V failed", "W ok, R failed", "W ok, R failed", "W settled, R failed", "failed"),
    "null values": ("W ok, R failed, V failed", "W ok, R failed", "W ok, R failed", "W settled, R failed", "failed"),
    "extra fields": ("W ok, R ok, V ok", "W ok, R ok", "W ok, R ok", "W ok, R ok", "ok"),
}
# What a failure message must say besides the fault's cause, by (module, phase, outcome).
EXPECTED_MESSAGES = {
    ("kata_run_process", "write", FAILED_RB): r"may still create the task: run again with task_id=%s" % TASK_ID,
    ("ksc_edr_response", "write", FAILED_RB): r"The incident may have been created: run the task again",
    ("kata_prevention", "verify", "failed"): r"was written, but reading it back to verify it failed",
    ("kata_prevention", "write", "failed"): r"refused the new prevention list",
}
PHASE_OF = {"W": "write", "R": "read", "V": "verify"}


def expected_outcome(fault, module, phase):
    text = EXPECTED[fault][fault_report.MODULES.index(module)]
    outcomes = {}
    for part in text.split(", "):
        label, _sep, outcome = part.partition(" ")
        if label in PHASE_OF:
            outcomes[PHASE_OF[label]] = outcome
        else:
            outcomes[phase] = part   # a module with one phase has no label
    return outcomes[phase]


# ---- helpers -------------------------------------------------------------------------------
def settings_path(sensor_id, settings_type):
    return r"/settings\?(?=.*sensor_id=%s)(?=.*settings_type=%s)" % (re.escape(sensor_id), settings_type)


def sha(value):
    return {"file": {"sha256": value}}


def with_extra_fields(node):
    """``node`` with an unknown field added to every object (typed KSC values keep their shape)."""
    if isinstance(node, list):
        return [with_extra_fields(item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"type", "value"}:
        return {"type": node["type"], "value": with_extra_fields(node["value"])}
    out = dict((key, value if key in OPAQUE_KEYS else with_extra_fields(value)) for key, value in node.items())
    out.update(copy.deepcopy(EXTRA))
    return out


@contextlib.contextmanager
def extra_fields(fake, method, pattern, skip=0):
    """Add unknown fields to the real answer of the (skip+1)-th request matching ``method``/``pattern``."""
    original = fake.handle_api
    regex = re.compile(pattern)
    seen = [0]

    def handle(request):
        response = original(request)
        target = request.path + ("?" + request.query_string if request.query_string else "")
        if request.method == method and regex.search(target):
            seen[0] += 1
            if seen[0] == skip + 1 and isinstance(response.body, (dict, list)):
                response.body = with_extra_fields(response.body)
        return response

    fake.handle_api = handle
    try:
        yield seen
    finally:
        del fake.handle_api


def wait_until_idle(fake, timeout=SLOW + 5):
    """Wait for the server to finish every request it started (a slow one finishes after the client gave up)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(entry["status"] is not None for entry in fake.log() if entry["fault"] != "drop_before"):
            return
        time.sleep(0.05)
    raise AssertionError("the fake still has unfinished requests: %r" % fake.log())


def lost_items(before, now):
    """How many items of ``before``'s collections are missing (or changed) in ``now``."""
    return sum(1 for key, items in before.items() for item in items if item not in now.get(key, []))


def matches(entry, method, pattern):
    return entry["method"] == method and re.search(pattern, entry["raw_path"]) is not None


def targeted_entry(log, method, pattern, skip):
    """The index in ``log`` of the request the fault hit: the (skip+1)-th one matching ``method``/``pattern``."""
    hits = [index for index, entry in enumerate(log) if matches(entry, method, pattern)]
    assert len(hits) > skip, "the targeted request was never sent: %r" % [(e["method"], e["raw_path"]) for e in log]
    return hits[skip]


def same_request(first, second):
    """The same method, URL and body (a request dropped before its body was read is logged without one)."""
    if (first["method"], first["raw_path"]) != (second["method"], second["raw_path"]):
        return False
    return first["fault"] == "drop_before" or first["json"] == second["json"]


def identical_run(log, index):
    """How many times the faulted request was sent in a row: 1, or 1 + the retries the client made."""
    count = 1
    while index + count < len(log) and same_request(log[index], log[index + count]):
        count += 1
    return count


# How much longer than Retry-After the retry may take to arrive: the 429 answer, the client reading it and sending
# the request again. Less than the client's first backoff (0.5 s), so waiting the backoff on top of Retry-After, or
# instead of it, fails.
RETRY_AFTER_SLACK = 0.45


def assert_waited_retry_after(log, index, retry_after):
    """The retry of a 429 arrived ``retry_after`` seconds after the faulted request (the fake's arrival times, so
    the client's sleeps are measured as the server saw them, whatever the client does to wait)."""
    waited = log[index + 1]["time"] - log[index]["time"]
    assert retry_after <= waited < retry_after + RETRY_AFTER_SLACK, \
        "the retry came %.3f s after the 429 with Retry-After: %s (%s)" % (waited, retry_after, log[index]["raw_path"])


def read_back_after(scenario, log, index, phase):
    """Whether, after a faulted write, the client read the written resource back (and did not re-send)."""
    if phase != "write":
        return False
    method, pattern = scenario.read_back
    return any(matches(entry, method, pattern) for entry in log[index + 1:])


def observed_outcome(run, repeats, read_back):
    """The cell's outcome as the request log and the result show it (the vocabulary of ``EXPECTED``)."""
    if run.traceback is not None:
        return "TRACEBACK"
    if run.failed:
        if repeats > 1:
            return "failed after %d retries" % (repeats - 1)
        return "failed after read-back" if read_back else "failed"
    if repeats > 1:
        return "retried %d" % (repeats - 1)
    if run.result.get("warnings"):
        return "settled" if read_back else "warned"
    return "ok"


# ---- scenarios -----------------------------------------------------------------------------
class KataScenario:
    server = "kata"
    phases = ("write", "read")

    def __init__(self, central_node, ksc, kata_env, ksc_env):
        self.fake = central_node
        self.env = kata_env
        self.sensors = central_node.sensors

    def connection(self):
        env = self.env
        return dict(kata_host=env["KATA_HOST"], kata_port=int(env["KATA_PORT"]),
                    external_system_id=env["KATA_EXTERNAL_SYSTEM_ID"], client_cert=env["KATA_CLIENT_CERT"],
                    client_key=env["KATA_CLIENT_KEY"], ca_path=env["KATA_CA_PATH"],
                    request_timeout=NORMAL_TIMEOUT, retries=RETRIES)

    def snapshot(self):
        fake = self.fake
        with fake.state_lock:
            state = {}
            for key, objects in fake.prevention.items():
                state["prevention " + key] = copy.deepcopy(objects)
            for key, settings in fake.isolation.items():
                state["isolation " + key] = [copy.deepcopy(settings)]
            state["tasks"] = sorted([task["taskId"].lower(), task["sensorId"],
                                     json.dumps(task["settings"], sort_keys=True)] for task in fake.tasks.values())
        return state

    def duplicates(self, before, now, phase):
        """Prevention lists that block a hash twice, and tasks beyond the one intended."""
        count = 0
        for key, items in now.items():
            if key.startswith("prevention "):
                hashes = [json.dumps(item.get("file"), sort_keys=True) for item in items]
                count += len(hashes) - len(set(hashes))
        new_tasks = [task for task in now["tasks"] if task not in before["tasks"]]
        return count + max(0, len(new_tasks) - self.new_tasks_allowed(phase))

    def new_tasks_allowed(self, phase):
        return 0

    def writes_allowed(self):
        return True

    change_call = ""  # every write is one change

    def writes(self):
        """The write requests in the fake's log (POST, PUT, PATCH, DELETE)."""
        return ["%s %s" % (entry["method"], entry["raw_path"]) for entry in self.fake.writes()]


class PreventionScenario(KataScenario):
    module = "kata_prevention"
    # After a write whose answer was lost: the read of the list that tells what happened.
    read_back = property(lambda self: ("GET", settings_path(self.sid, "prevention")))
    phases = ("write", "read", "verify")

    def setup(self, phase):
        first, second = self.sensors[0], self.sensors[1]
        self.sid = first["sensorId"]
        self.fake.set_prevention(self.sid, [UI_RULE, sha(B)])
        self.fake.set_prevention(second["sensorId"], [{"file": {"md5": M}}])
        self.fake.set_prevention("all", [sha(H)])
        self.fake.set_isolation(self.sensors[2]["sensorId"], OTHER_ISOLATION)

    def args(self, phase):
        return dict(self.connection(), sensor_hostname=self.sensors[0]["host"], hashes=[C])

    def target(self, phase):
        if phase == "verify":
            # The read-back after the write (verify_write, on by default): the host's second GET settings.
            return "GET", settings_path(self.sid, "prevention"), 1
        return ("POST" if phase == "write" else "GET"), settings_path(self.sid, "prevention"), 0

    def shape_body(self, kind, phase):
        if phase == "write":
            return {"response": {}} if kind == "missing" else b"null"
        if kind == "missing":
            return {"sensorId": self.sid, "settingsType": "prevention"}
        return {"settings": {"objects": None}}

    def intended(self, before, phase):
        state = copy.deepcopy(before)
        state["prevention " + self.sid] = before["prevention " + self.sid] + [sha(C)]
        return state


class IsolationScenario(KataScenario):
    module = "kata_isolation"
    read_back = property(lambda self: ("GET", settings_path(self.sid, "network_isolation")))

    def setup(self, phase):
        self.sid = self.sensors[0]["sensorId"]
        self.fake.set_prevention(self.sid, [UI_RULE])
        self.fake.set_isolation(self.sensors[1]["sensorId"], OTHER_ISOLATION)

    def args(self, phase):
        return dict(self.connection(), sensor_ip=self.sensors[0]["ip"], auto_turnoff_timeout_hours=4,
                    exclusions=[{"direction": "outbound", "protocol": 6, "remote_address": "10.0.0.5",
                                 "remote_ports": {"from": 443, "to": 443}}])

    def target(self, phase):
        return ("POST" if phase == "write" else "GET"), settings_path(self.sid, "network_isolation"), 0

    def shape_body(self, kind, phase):
        if phase == "write":
            return {"response": {}} if kind == "missing" else b"null"
        return {"sensorId": self.sid} if kind == "missing" else {"settings": None}

    def intended(self, before, phase):
        state = copy.deepcopy(before)
        state["isolation " + self.sid] = [copy.deepcopy(ISOLATION)]
        return state


class RunProcessScenario(KataScenario):
    module = "kata_run_process"
    read_back = ("GET", r"/tasks/%s" % TASK_ID)

    def setup(self, phase):
        self.sid = self.sensors[0]["sensorId"]
        other = self.sensors[1]["sensorId"]
        self.fake.tasks[OLD_TASK_ID] = {"taskId": OLD_TASK_ID, "sensorId": other, "created": time.time() - 60,
                                        "settings": {"schedule": {"startNow": True}, "execCommand": "hostname.exe"}}
        if phase == "read":
            # Re-run: the task was created by an earlier run.
            self.fake.tasks[TASK_ID] = {"taskId": TASK_ID, "sensorId": self.sid, "created": time.time() - 60,
                                        "settings": copy.deepcopy(TASK_SETTINGS)}

    def args(self, phase):
        return dict(self.connection(), sensor_id=self.sid, task_id=TASK_ID, executable="cmd.exe",
                    arguments="/c ipconfig")

    def target(self, phase):
        return ("POST" if phase == "write" else "GET"), r"/tasks/%s" % TASK_ID, 0

    def shape_body(self, kind, phase):
        if phase == "write":
            return {"response": {}} if kind == "missing" else b"null"
        if kind == "missing":
            return {"creationTime": "2026-01-15T09:30:00Z"}
        return {"taskId": None, "sensorId": None, "state": None, "task": None}

    def intended(self, before, phase):
        state = copy.deepcopy(before)
        if phase == "write":
            state["tasks"] = sorted(before["tasks"] + [[TASK_ID, self.sid, json.dumps(TASK_SETTINGS, sort_keys=True)]])
        return state

    def new_tasks_allowed(self, phase):
        return 1 if phase == "write" else 0


class SensorInfoScenario(KataScenario):
    module = "kata_sensor_info"
    read_back = ("GET", r"/sensors$")
    phases = ("read",)

    def setup(self, phase):
        self.fake.set_prevention(self.sensors[0]["sensorId"], [UI_RULE])

    def args(self, phase):
        return self.connection()

    def target(self, phase):
        return "GET", r"/sensors$", 0

    def shape_body(self, kind, phase):
        return {"total": 3} if kind == "missing" else {"sensors": None}

    def intended(self, before, phase):
        return copy.deepcopy(before)

    def writes_allowed(self):
        return False


class KscScenario:
    server = "ksc"
    module = "ksc_edr_response"
    read_back = ("POST", r"/HostGroup\.FindIncidents$")
    phases = ("write", "read")

    def __init__(self, central_node, ksc, kata_env, ksc_env):
        self.fake = ksc
        self.env = ksc_env

    def setup(self, phase):
        fake = self.fake
        self.host = fake.host_by_dn("WS-001")["KLHST_WKS_HOSTNAME"]
        other = fake.host_by_dn("WS-002")["KLHST_WKS_HOSTNAME"]
        self.body = {"targetHost": self.host, "task": "isolateHost", "params": {"action": 1},
                     "responseEventIncident": True, "responseEventIncidentArea": "Ansible"}
        fake.add_incident(other, dict(self.body, targetHost=other))                 # pending, another host
        fake.add_incident(self.host, self.body, handled=True)                       # handled: does not count
        if phase == "read":
            fake.add_incident(self.host, self.body)                                 # re-run: already pending

    def args(self, phase):
        env = self.env
        return dict(ksc_host=env["KSC_HOST"], ksc_port=int(env["KSC_PORT"]), ksc_username=env["KSC_USERNAME"],
                    ksc_password=env["KSC_PASSWORD"], ca_path=env["KSC_CA_PATH"], request_timeout=NORMAL_TIMEOUT,
                    retries=RETRIES, target_hostname="WS-001", task="isolateHost", params={"action": 1})

    def target(self, phase):
        if phase == "write":
            return "POST", r"/HostGroup\.AddIncident$", 0
        # The second chunk read: the pending-incident search (the first one is the host search).
        return "POST", r"/ChunkAccessor\.GetItemsChunk$", 1

    def shape_body(self, kind, phase):
        if phase == "write":
            return {} if kind == "missing" else {"PxgRetVal": None}
        return {"PxgRetVal": 1} if kind == "missing" else {"PxgRetVal": 1, "pChunk": None}

    def snapshot(self):
        with self.fake.state_lock:
            return {"incidents": [[incident["KLINCDT_ID"], incident["KLHST_WKS_HOSTNAME"],
                                   json.loads(incident["KLINCDT_BODY"]), incident["KLINCDT_IS_HANDLED"]]
                                  for incident in self.fake.incidents]}

    def intended(self, before, phase):
        """Incident IDs are the server's: the intended state is checked by :meth:`is_intended`."""
        return None

    def new_incidents(self, before, now):
        return [incident for incident in now["incidents"] if incident not in before["incidents"]
                and incident[0] not in [old[0] for old in before["incidents"]]]

    def is_intended(self, before, now, phase):
        new = self.new_incidents(before, now)
        if lost_items(before, now):
            return False
        if phase == "read":
            return new == []
        return len(new) == 1 and new[0][1:] == [self.host, self.body, False]

    def duplicates(self, before, now, phase):
        return max(0, len(self.new_incidents(before, now)) - (1 if phase == "write" else 0))

    change_call = "AddIncident"  # one change: AddIncident, then UpdateIncident of that incident

    def writes(self):
        """The calls in the fake's log that change something (every OpenAPI call is a POST).

        Not counted: a re-run marking the pending incident it found as not handled again
        (``UpdateIncident`` with only ``KLINCDT_IS_HANDLED`` false and the host, on an incident this log did not
        add): it repairs what a run that died between AddIncident and UpdateIncident left, and sets a value
        the incident already has (docs/ksc.md).
        """
        added = bool(self.fake.log("POST", r"/HostGroup\.AddIncident$"))
        return [entry["raw_path"] for entry in self.fake.log("POST", r"/HostGroup\.(AddIncident|UpdateIncident)$")
                if added or not is_remark_not_handled(entry)]

    def writes_allowed(self):
        return True


def is_remark_not_handled(entry):
    """An UpdateIncident that only sets KLINCDT_IS_HANDLED false (with the host it belongs to)."""
    data = ((entry.get("json") or {}).get("pData") or {})
    return entry["path"].endswith("UpdateIncident") and data.get("KLINCDT_IS_HANDLED") is False and \
        set(data) <= {"KLINCDT_IS_HANDLED", "KLHST_WKS_HOSTNAME"}


SCENARIOS = dict((scenario.module, scenario) for scenario in (
    PreventionScenario, IsolationScenario, RunProcessScenario, KscScenario, SensorInfoScenario))


def is_intended(scenario, before, now, phase):
    if hasattr(scenario, "is_intended"):
        return scenario.is_intended(before, now, phase)
    return now == scenario.intended(before, phase)


def cells():
    for name, kind, fault_args, cause in FAULTS:
        for module in fault_report.MODULES:
            for phase in SCENARIOS[module].phases:
                yield pytest.param(name, kind, fault_args, cause, module, phase,
                                   id="%s-%s-%s" % (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_"), module,
                                                    phase))


@pytest.mark.parametrize("fault,kind,fault_args,cause,module,phase", list(cells()))
def test_fault_cell(fault, kind, fault_args, cause, module, phase, central_node, ksc, kata_env, ksc_env):
    scenario = SCENARIOS[module](central_node, ksc, kata_env, ksc_env)
    fake = scenario.fake
    scenario.setup(phase)
    before = scenario.snapshot()
    args = scenario.args(phase)
    method, pattern, skip = scenario.target(phase)
    if kind == "slow":
        args["request_timeout"] = REQUEST_TIMEOUT

    with contextlib.ExitStack() as stack:
        if skip:
            fake.add_fault(method=method, path=pattern, times=skip)    # lets the first matches through
        if kind == "extra":
            fired = stack.enter_context(extra_fields(fake, method, pattern, skip))
        else:
            if kind in ("missing", "null"):
                fault_args = dict(fault_args, body=scenario.shape_body(kind, phase))
            injected = fake.add_fault(method=method, path=pattern, times=1, **fault_args)
            fired = None
        run = run_module(module, args)
        wait_until_idle(fake)
        hit = (fired[0] > skip) if fired is not None else injected.fired == 1
    fake.clear_faults()
    now = scenario.snapshot()

    lost = lost_items(before, now)
    duplicates = scenario.duplicates(before, now, phase)
    log = fake.log()
    faulted = targeted_entry(log, method, pattern, skip)
    repeats = identical_run(log, faulted)
    read_back = read_back_after(scenario, log, faulted, phase)
    outcome = observed_outcome(run, repeats, read_back)
    fault_report.record(fault, module, phase, outcome, lost, duplicates, run.msg)

    assert hit, "the fault never fired: %r" % fake.log()
    assert run.traceback is None, run
    expected = expected_outcome(fault, module, phase)
    assert outcome == expected, "expected %r, the log and the result show %r (%s sent %d times in a row): %r" % (
        expected, outcome, log[faulted]["raw_path"], repeats, run)
    assert lost == 0, (before, now)
    assert duplicates == 0, (before, now)
    if fault_args.get("retry_after") is not None and outcome.startswith("retried"):
        assert_waited_retry_after(log, faulted, fault_args["retry_after"])
    assert now == before or is_intended(scenario, before, now, phase), \
        "neither the state before nor exactly the intended change: %r -> %r" % (before, now)
    if not scenario.writes_allowed():
        assert fake.writes() == []
    output = json.dumps(run.result)
    assert "Traceback" not in output and "MODULE FAILURE" not in output, run
    if run.failed:
        message = run.msg
        assert message and "\n" not in message and len(message) < 1500, run
        assert re.search(cause, message), "the message does not name the cause (%s): %s" % (cause, message)
        specific = EXPECTED_MESSAGES.get((module, phase, outcome))
        assert specific is None or re.search(specific, message), "expected %r in: %s" % (specific, message)
        assert kind != "extra", run
    else:
        assert is_intended(scenario, before, now, phase), (before, now)
        expect_change = phase == "write" or module not in ("kata_run_process", "ksc_edr_response")
        if module != "kata_sensor_info":
            assert run.result["changed"] is expect_change, run
        else:
            assert run.result["count"] == 3
            if kind == "extra":
                assert all("x_unknown_field" in sensor for sensor in run.result["sensors"])

    # Without the fault, a second run converges to exactly the intended state: it writes exactly once when
    # the first run left the state as it was, and not at all when the first run made the change.
    fake.clear_log()
    again = run_module(module, scenario.args(phase))
    assert again.traceback is None and not again.failed, again
    final = scenario.snapshot()
    assert lost_items(before, final) == 0
    assert scenario.duplicates(before, final, phase) == 0, (before, final)
    assert is_intended(scenario, before, final, phase), (before, final)
    rerun_writes = scenario.writes()
    if is_intended(scenario, before, now, phase):
        assert rerun_writes == [], "the re-run of a converged state wrote: %r" % rerun_writes
    else:
        changes = [write for write in rerun_writes if scenario.change_call in write]
        assert len(changes) == 1, "the re-run made %d changes: %r" % (len(changes), rerun_writes)
    if module != "kata_sensor_info":
        assert again.result["changed"] is bool(rerun_writes), again


# ---- docs/security.md shows EXPECTED ---------------------------------------------------------
SECURITY_MD = os.path.join(REPO_ROOT, "docs", "security.md")
TABLE_START = "<!-- fault-matrix:start: rendered from EXPECTED in tests/functional/test_fault_matrix.py -->"
TABLE_END = "<!-- fault-matrix:end -->"


def expected_table():
    return fault_report.render_table([
        fault_report.Cell(fault[0], module, phase, expected_outcome(fault[0], module, phase), 0, 0, "")
        for fault in FAULTS for module in fault_report.MODULES for phase in SCENARIOS[module].phases])


def test_security_md_table_is_the_expected_matrix():
    """The table in docs/security.md is EXPECTED, which every cell above asserts against the run."""
    assert list(EXPECTED) == [fault[0] for fault in FAULTS]
    assert all(len(row) == len(fault_report.MODULES) for row in EXPECTED.values())
    with open(SECURITY_MD) as handle:
        text = handle.read()
    assert text.count(TABLE_START) == 1 and text.count(TABLE_END) == 1, "markers missing in docs/security.md"
    block = text.split(TABLE_START)[1].split(TABLE_END)[0].strip()
    table = expected_table()
    assert block == table, "docs/security.md's fault matrix is not EXPECTED; the table to put there:\n" + table


# ---- single cases the matrix does not reach ------------------------------------------------
def test_null_task_view_is_not_read_as_an_existing_task(central_node, kata_env):
    """``{"taskId": null, ...}`` for a task that does not exist yet must not skip its creation silently."""
    scenario = RunProcessScenario(central_node, None, kata_env, None)
    scenario.setup("write")
    before = scenario.snapshot()
    central_node.add_fault(method="GET", path=r"/tasks/%s" % TASK_ID, status=200, times=1,
                           body={"taskId": None, "sensorId": None, "state": None, "task": None})
    run = run_module("kata_run_process", scenario.args("write"))
    assert run.traceback is None and run.failed, run
    assert "shows no task ID" in run.msg and "\n" not in run.msg
    assert central_node.writes() == []
    assert scenario.snapshot() == before


def test_forced_incident_with_an_unclear_answer_is_never_adopted(ksc, ksc_env):
    """With force an older pending twin may exist: an unclear AddIncident fails instead of claiming it."""
    scenario = KscScenario(None, ksc, None, ksc_env)
    scenario.setup("read")                      # the same response is already pending
    before = scenario.snapshot()
    ksc.add_fault(method="POST", path=r"/HostGroup\.AddIncident$", action="drop_after", times=1)
    run = run_module("ksc_edr_response", dict(scenario.args("read"), force=True))
    assert run.traceback is None and run.failed, run
    assert "may have been created" in run.msg and "\n" not in run.msg
    new = scenario.new_incidents(before, scenario.snapshot())
    assert len(new) == 1 and new[0][1:] == [scenario.host, scenario.body, False]
    assert lost_items(before, scenario.snapshot()) == 0
