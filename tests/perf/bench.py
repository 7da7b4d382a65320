# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: kata_prevention fleet mode against what users do today (``make bench``).

Starts the fake Central Node (``tests/fakes/central_node.py``) as a separate process with N sensors
and a per-request latency of L ms, then times real ``ansible-playbook`` runs side by side:

(a) ``ansible.builtin.uri`` per sensor, GET then blind POST, sensors as inventory hosts delegated to
    localhost, default forks (``playbooks/uri_inventory.yml``);
(b) ``kata_prevention`` single mode looped over the sensors in one play (``single_loop.yml``);
(c) ``kata_prevention`` single mode, sensors as inventory hosts, connection local, forks
    (``single_inventory.yml``);
(d) ``kata_prevention`` fleet mode, one task with ``sensors:`` (sensor IDs) (``fleet.yml``);
and, on request (``--scenarios``), (e) fleet mode with ``verify_write: false`` and (f) the ``uri``
playbook as a loop on localhost instead of inventory hosts (``uri_loop.yml``).

Each one runs twice: ``changing`` (every sensor starts with an empty list, so every sensor is
written) and ``converged`` (every sensor already has the list). The fake's state is set and its
request log cleared through its control API (``/_fake/state``, ``/_fake/log``) before each run, and
the requests are counted from its log afterwards. Times measured per run:

- ``wall``: the whole ``ansible-playbook`` process (includes its ~1-2 s start-up);
- ``task``: from the start of the play's first task to the last host result of its last task,
  recorded by ``callback_plugins/bench_timer.py`` (for (d): the fleet module's run, including the
  AnsiballZ start-up of the one module process);
- ``span``: from the fake's first logged request to its last one, plus L (the network phase only).

``--scale 50,200,1000`` runs fleet mode only at each N and records the peak resident memory of the
module process (``ru_maxrss`` of the interpreter's child, read with ``os.wait4`` by an interpreter
wrapper set as ``ansible_python_interpreter``). ``--scale-scenarios`` picks what runs at each N: ``d``
(fleet, sensor IDs), ``g`` (fleet, ``sensor_filter: {}``, which reads every ``GET sensors`` page) and
``i`` (the inventory plugin, ``ansible-inventory --list``, peak RSS of that process); ``--page-size P``
makes the fake page ``GET sensors`` by P hosts.

Usage::

    .venv/bin/python -m tests.perf.bench --sensors 25 --latency-ms 50
    .venv/bin/python -m tests.perf.bench --scale 50,200,1000 --latency-ms 50
    .venv/bin/python -m tests.perf.bench --scale 1000,10000 --scale-scenarios dgi --page-size 100 \
        --parallelism 32 --runs converged
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import collections
import hashlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PERF_DIR = os.path.join(REPO_ROOT, "tests", "perf")
PLAYBOOKS = os.path.join(PERF_DIR, "playbooks")
RESULTS_DIR = os.path.join(PERF_DIR, "results")

# (a) and (b) cost about 1 s of a 2-core machine per sensor and run: N=25 keeps the default run of
# the four scenarios near 2 minutes there (docs/performance.md); N=200 takes about 15 minutes.
DEFAULT_SENSORS = 25
DEFAULT_LATENCY_MS = 50
DEFAULT_FORKS = 5          # ansible-core's default


def _module_default_parallelism():
    """kata_sensors.DEFAULT_PARALLELISM, read from the source (the bench does not import module_utils)."""
    with open(os.path.join(REPO_ROOT, "plugins", "module_utils", "kata_sensors.py")) as handle:
        return int(re.search(r"^DEFAULT_PARALLELISM = (\d+)", handle.read(), re.M).group(1))


DEFAULT_PARALLELISM = _module_default_parallelism()    # kata_prevention's default

# The list every sensor must end with: one SHA256 and one MD5 rule.
BENCH_HASHES = [
    "2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728",
    "44d88612fea8a8f36de82e1278abb02f",
]
BENCH_OBJECTS = [{"file": {"sha256": BENCH_HASHES[0]}}, {"file": {"md5": BENCH_HASHES[1]}}]

SCENARIOS = collections.OrderedDict([
    ("a", {"label": "(a) uri GET + blind POST, inventory hosts, forks", "playbook": "uri_inventory.yml",
           "inventory": "sensors"}),
    ("b", {"label": "(b) kata_prevention single mode, loop", "playbook": "single_loop.yml",
           "inventory": "localhost"}),
    ("c", {"label": "(c) kata_prevention single mode, inventory hosts, forks", "playbook": "single_inventory.yml",
           "inventory": "sensors"}),
    ("d", {"label": "(d) kata_prevention fleet mode (sensors: IDs)", "playbook": "fleet.yml",
           "inventory": "localhost"}),
    # Not in the default set: how much the write verification (read-back GET and settle wait) costs.
    ("e", {"label": "(e) fleet mode, verify_write: false", "playbook": "fleet.yml", "inventory": "localhost",
           "extra_vars": {"bench_verify_write": False}}),
    # Not in the default set: (a) as a loop on localhost instead of inventory hosts and forks.
    ("f", {"label": "(f) uri GET + blind POST, loop", "playbook": "uri_loop.yml", "inventory": "localhost"}),
    # Scale runs: fleet mode over every listed sensor (reads every GET sensors page first).
    ("g", {"label": "(g) fleet mode, sensor_filter: {} (every page)", "playbook": "fleet_filter.yml",
           "inventory": "localhost"}),
    # GitOps policy (issue 14): every host its own two hashes plus an all-hosts list. (p) is the per-host
    # loop that playbooks/prevention_gitops.yml was before kata_prevention_policy; (q) is that playbook now.
    ("p", {"label": "(p) GitOps policy, per-host kata_prevention loop (old playbook)", "playbook": "gitops_loop.yml",
           "inventory": "localhost", "policy": True}),
    ("q", {"label": "(q) GitOps policy, kata_prevention_policy (prevention_gitops.yml)",
           "playbook_path": os.path.join(REPO_ROOT, "playbooks", "prevention_gitops.yml"), "inventory": "localhost",
           "policy": True}),
    ("r", {"label": "(r) GitOps policy, kata_prevention_policy alone (no reports)", "playbook": "policy_module.yml",
           "inventory": "localhost", "policy": True}),
    # Scale runs: the inventory plugin, ansible-inventory --list (not a playbook).
    ("i", {"label": "(i) inventory plugin kata_sensors, ansible-inventory --list", "playbook": None,
           "inventory": None}),
])
DEFAULT_SCENARIOS = "abcd"
RUNS = ("changing", "converged")

RSS_WRAPPER = r'''#!%(python)s
# Interpreter wrapper written by tests/perf/bench.py: runs the real interpreter as a child and
# records the child's peak resident set size (ru_maxrss, KiB on Linux) from os.wait4.
import json, os, sys
REAL = %(python)r
pid = os.fork()
if pid == 0:
    os.execv(REAL, [REAL] + sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
with open(%(log)r, "a") as handle:
    handle.write(json.dumps({"argv": sys.argv[1:], "maxrss_kb": usage.ru_maxrss}) + "\n")
sys.exit(os.waitstatus_to_exitcode(status))
'''


def run_measured(command, **kwargs):
    """Run ``command``; return (returncode, wall seconds, CPU seconds, peak RSS KiB) of its process tree.

    os.wait4 gives the rusage of the child and every descendant it waited for (ansible-playbook waits for its
    workers and module processes), as getrusage(RUSAGE_CHILDREN) would; peak RSS is the largest single process.
    """
    started = time.monotonic()
    proc = subprocess.Popen(command, **kwargs)
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def loadavg():
    try:
        with open("/proc/loadavg") as handle:
            return [float(value) for value in handle.read().split()[:3]]
    except (OSError, ValueError):
        return None


def wait_quiet(max_load, timeout, log=print):
    """Wait until the 1-minute load average is below ``max_load`` (at most ``timeout`` seconds)."""
    deadline = time.time() + timeout
    while True:
        load = loadavg()
        if load is None or load[0] < max_load:
            return load
        if time.time() >= deadline:
            log("load average still %s after %d s; running anyway" % (load, timeout))
            return load
        log("waiting for a quiet machine: load average %s (want 1-min < %.2f)" % (load, max_load))
        time.sleep(15)


def machine():
    try:
        import ansible.release
        ansible_version = ansible.release.__version__
    except ImportError:  # pragma: no cover
        ansible_version = None
    model = None
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "ansible_core": ansible_version, "platform": platform.platform()}


class FakeProcess:
    """The fake Central Node as a separate process, driven through its control API."""

    def __init__(self, workdir, sensors, latency_ms, pki_dir=None, page_size=None):
        self.workdir = workdir
        self.sensors = sensors
        self.latency_ms = latency_ms
        self.page_size = page_size
        self.pki_dir = pki_dir or os.path.join(workdir, "pki")
        self.info_file = os.path.join(workdir, "fake-%d.json" % sensors)
        self.proc = None
        self.info = None
        self.session = None

    def start(self, timeout=60):
        if os.path.exists(self.info_file):
            os.remove(self.info_file)
        self.stdout = open(os.path.join(self.workdir, "fake-%d.log" % self.sensors), "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.central_node", "--pki-dir", self.pki_dir, "--sensors",
             str(self.sensors), "--latency-ms", str(self.latency_ms), "--info-file", self.info_file]
            + (["--page-size", str(self.page_size)] if self.page_size else []),
            cwd=REPO_ROOT, stdout=self.stdout, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("the fake Central Node exited with %s; see %s"
                                   % (self.proc.returncode, self.stdout.name))
            if os.path.exists(self.info_file):
                try:
                    with open(self.info_file) as handle:
                        self.info = json.load(handle)
                    break
                except ValueError:
                    pass  # still being written
            if time.time() > deadline:
                raise RuntimeError("the fake Central Node did not start within %d s" % timeout)
            time.sleep(0.1)
        self.session = requests.Session()
        self.session.cert = (self.info["client_cert"], self.info["client_key"])
        return self

    def stop(self):
        if self.session is not None:
            self.session.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def cpu_s(self):
        """CPU seconds (user + system, every thread) the fake has used so far, from /proc; None elsewhere."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
        except (OSError, ValueError, IndexError):
            return None

    @property
    def sensor_ids(self):
        return [sensor["sensorId"] for sensor in self.info["sensors"]]

    @property
    def api(self):
        return "%s/kata/response_api/v1/%s/" % (self.info["url"], self.info["external_system_id"])

    def control(self, method, name, body=None):
        # verify goes with each request: REQUESTS_CA_BUNDLE would override a Session's verify.
        response = self.session.request(method, self.info["url"] + "/_fake/" + name, json=body, timeout=60,
                                        verify=self.info["ca_path"])
        response.raise_for_status()
        return response.json()

    def seed(self, objects):
        """Every sensor's list set to ``objects``; the all-hosts list emptied; the log cleared."""
        prevention = dict((sensor_id, objects) for sensor_id in self.sensor_ids)
        prevention["all"] = []
        self.control("POST", "state", {"prevention": prevention})
        self.control("DELETE", "log")

    def log(self):
        return self.control("GET", "log")

    def prevention(self):
        return self.control("GET", "state")["prevention"]


def count_requests(log, sensor_ids, latency_ms):
    """Request counts of one run from the fake's log."""
    known = dict((sensor_id.lower(), sensor_id) for sensor_id in sensor_ids)
    per_sensor = dict((sensor_id.lower(), collections.Counter()) for sensor_id in sensor_ids)
    kinds = collections.Counter()
    statuses = collections.Counter()
    times = []
    for entry in log["requests"]:
        resource = entry["path"].rstrip("/").rsplit("/", 1)[-1]
        sensor = (entry.get("query") or {}).get("sensor_id", "").lower()
        statuses[str(entry.get("status"))] += 1
        times.append(entry["time"])
        if resource == "settings" and sensor == "all":
            kinds["%s settings all" % entry["method"]] += 1
        elif resource == "settings" and sensor in known:
            per_sensor[sensor][entry["method"]] += 1
            kinds["%s settings" % entry["method"]] += 1
        else:
            kinds["%s %s" % (entry["method"], resource)] += 1
    histogram = {}
    for method in ("GET", "POST", "DELETE"):
        counts = collections.Counter(counter[method] for counter in per_sensor.values())
        if any(counts.get(value) for value in counts if value):
            histogram[method] = dict((str(value), number) for value, number in sorted(counts.items()))
    total = len(log["requests"])
    writes = sum(1 for entry in log["requests"] if entry["method"] in ("POST", "PUT", "PATCH", "DELETE"))
    return {
        "requests": total,
        "requests_per_sensor": round(total / float(len(sensor_ids)), 3) if sensor_ids else None,
        "writes": writes,
        "kinds": dict(kinds),
        "per_sensor": histogram,   # method -> {requests of that method on one sensor: number of sensors}
        "statuses": dict(statuses),
        "tls_connections": sum(1 for conn in log.get("connections", []) if conn.get("ok")),
        "span_s": round(max(times) - min(times) + latency_ms / 1000.0, 3) if times else 0.0,
    }


def policy_hash(name):
    return hashlib.sha256(name.encode("ascii")).hexdigest()


def bench_policy(sensors):
    """The GitOps policy of the (p)/(q) scenarios: two hashes of its own per host, one for all hosts."""
    policy = {"all": [policy_hash("all hosts")]}
    for index, sensor in enumerate(sensors):
        policy[sensor["host"]] = [policy_hash("host %d a" % index), policy_hash("host %d b" % index)]
    return policy


def policy_state(policy, sensors):
    """The fake's prevention state in which every target holds exactly its policy list."""
    by_host = dict((sensor["host"], sensor["sensorId"]) for sensor in sensors)
    return dict((by_host.get(target, target), [{"file": {"sha256": value}} for value in hashes])
                for target, hashes in policy.items())


def policy_converged(prevention, policy, sensors):
    wanted = policy_state(policy, sensors)
    return all(sorted(str(value).lower() for obj in prevention.get(target) or [] for value in obj["file"].values())
               == sorted(obj["file"]["sha256"] for obj in objects) for target, objects in wanted.items())


def all_converged(prevention, sensor_ids):
    """True when every sensor's list holds every benchmark hash."""
    wanted = set(BENCH_HASHES)
    for sensor_id in sensor_ids:
        hashes = set()
        for obj in prevention.get(sensor_id) or []:
            file_info = obj.get("file", {})
            hashes.update(str(value).lower() for key, value in file_info.items() if key in ("md5", "sha256"))
        if not wanted <= hashes:
            return False
    return True


class Bench:
    """One working directory: collections path, inventory, variables; runs playbooks against a fake."""

    def __init__(self, workdir, fake, forks=DEFAULT_FORKS, parallelism=DEFAULT_PARALLELISM, log=print):
        self.workdir = workdir
        self.fake = fake
        self.forks = forks
        self.parallelism = parallelism
        self.say = log
        self.counter = 0
        root = os.path.join(workdir, "collections")
        namespace = os.path.join(root, "ansible_collections", "kaspersky")
        if not os.path.isdir(namespace):
            os.makedirs(namespace)
            os.symlink(REPO_ROOT, os.path.join(namespace, "edr"))
        self.collections = root
        self.home = os.path.join(workdir, "ansible_home")
        for path in (self.home, os.path.join(self.home, "tmp")):
            if not os.path.isdir(path):
                os.makedirs(path)
        self.rss_log = os.path.join(workdir, "rss.jsonl")
        self.rss_wrapper = os.path.join(workdir, "python-rss")
        with open(self.rss_wrapper, "w") as handle:
            handle.write(RSS_WRAPPER % {"python": sys.executable, "log": self.rss_log})
        os.chmod(self.rss_wrapper, 0o755)
        self.write_inputs()

    def write_inputs(self):
        info = self.fake.info
        tag = len(self.fake.sensor_ids)
        self.inventory = os.path.join(self.workdir, "inventory-%d.json" % tag)
        hosts = dict((sensor["host"], {"sensor_id": sensor["sensorId"]}) for sensor in info["sensors"])
        with open(self.inventory, "w") as handle:
            json.dump({"all": {"children": {"sensors": {"hosts": hosts}}}}, handle)
        self.vars_file = os.path.join(self.workdir, "vars-%d.json" % tag)
        with open(self.vars_file, "w") as handle:
            json.dump({"kata_api": self.fake.api, "kata_client_cert": info["client_cert"],
                       "kata_client_key": info["client_key"], "kata_ca_path": info["ca_path"],
                       "bench_hashes": BENCH_HASHES, "bench_objects": BENCH_OBJECTS,
                       "bench_sensor_ids": self.fake.sensor_ids, "bench_parallelism": self.parallelism,
                       "bench_verify_write": True}, handle)
        self.policy = bench_policy(info["sensors"])
        self.policy_file = os.path.join(self.workdir, "prevention-lists-%d.json" % tag)
        with open(self.policy_file, "w") as handle:
            json.dump(self.policy, handle)

    def env(self, rss=False):
        info = self.fake.info
        env = dict(os.environ)
        for key in list(env):
            if key.startswith(("KATA_", "KSC_", "ANSIBLE_")):
                del env[key]
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections,
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_HOME": self.home,
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.home, "tmp"),
            "ANSIBLE_REMOTE_TMP": os.path.join(self.home, "tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_CALLBACK_PLUGINS": os.path.join(PERF_DIR, "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "bench_timer",
            "ANSIBLE_PYTHON_INTERPRETER": self.rss_wrapper if rss else sys.executable,
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
            "ANSIBLE_FORKS": str(self.forks),
            "PYTHONDONTWRITEBYTECODE": "1",
            "KATA_HOST": info["kata_host"],
            "KATA_PORT": str(info["kata_port"]),
            "KATA_EXTERNAL_SYSTEM_ID": info["external_system_id"],
            "KATA_CLIENT_CERT": info["client_cert"],
            "KATA_CLIENT_KEY": info["client_key"],
            "KATA_CA_PATH": info["ca_path"],
        })
        return env

    def run_inventory(self, run="converged"):
        """One timed ``ansible-inventory --list`` with the kata_sensors plugin; peak RSS of that process."""
        scenario = SCENARIOS["i"]
        sensor_ids = self.fake.sensor_ids
        self.fake.control("DELETE", "log")
        self.counter += 1
        tag = "N%d-%d-i" % (len(sensor_ids), self.counter)
        config = os.path.join(self.workdir, "bench-%s.kata_sensors.yml" % tag)
        with open(config, "w") as handle:
            handle.write("plugin: kaspersky.edr.kata_sensors\n")
        output_file = os.path.join(self.workdir, "inventory-%s.json" % tag)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", config, "--list",
                   "--output", output_file]
        load_before = loadavg()
        fake_cpu = self.fake.cpu_s()
        with open(os.path.join(self.workdir, "ansible-%s.log" % tag), "w") as output:
            returncode, wall, cpu, maxrss = run_measured(command, env=self.env(), cwd=self.workdir, stdout=output,
                                                         stderr=subprocess.STDOUT)
        fake_cpu = self.fake.cpu_s() - fake_cpu if fake_cpu is not None else None
        counts = count_requests(self.fake.log(), sensor_ids, self.fake.latency_ms)
        listed = 0
        if os.path.exists(output_file):
            with open(output_file) as handle:
                listed = len(json.load(handle).get("_meta", {}).get("hostvars", {}))
        result = collections.OrderedDict([
            ("scenario", "i"), ("label", scenario["label"]), ("run", run), ("sensors", len(sensor_ids)),
            ("latency_ms", self.fake.latency_ms), ("rc", returncode),
            ("ok", returncode == 0 and listed == len(sensor_ids)), ("wall_s", round(wall, 3)),
            ("task_s", round(wall, 3)), ("playbook_s", None), ("hosts_listed", listed),
            ("cpu_s", round(cpu, 3)), ("cpu_per_target_ms", round(cpu * 1000.0 / len(sensor_ids), 3)),
            ("fake_cpu_s", round(fake_cpu, 3) if fake_cpu is not None else None),
            ("result_bytes", os.path.getsize(output_file) if os.path.exists(output_file) else None),
        ])
        result.update(counts)
        result["load_before"] = load_before
        result["load_after"] = loadavg()
        result["peak_rss_kb"] = maxrss
        if not result["ok"]:
            result["error"] = "rc=%s, %d of %d hosts listed; see %s" % (
                returncode, listed, len(sensor_ids), output.name)
        self.say("  %-55s %-9s wall %7.2f s  CPU %7.2f s  %6d requests  %d hosts  peak RSS %.1f MiB%s" % (
            scenario["label"], run, wall, cpu, counts["requests"], listed, maxrss / 1024.0,
            "" if result["ok"] else "  FAILED: %s" % result["error"]))
        return result

    def run(self, key, run, rss=False, sensor_ids=None):
        """One timed ansible-playbook run of scenario ``key``; ``run`` is ``changing`` or ``converged``.

        ``sensor_ids`` (fleet scenarios) runs on those sensors only, the start-up measure of the scale runs.
        """
        if key == "i":
            return self.run_inventory(run)
        scenario = SCENARIOS[key]
        subset = sensor_ids is not None
        sensor_ids = self.fake.sensor_ids if sensor_ids is None else sensor_ids
        self.fake.seed([] if run == "changing" else BENCH_OBJECTS)
        if scenario.get("policy") and run == "converged":
            self.fake.control("POST", "state", {"prevention": policy_state(self.policy, self.fake.info["sensors"])})
            self.fake.control("DELETE", "log")
        self.counter += 1
        tag = "N%d-%d-%s-%s" % (len(sensor_ids), self.counter, key, run)
        timings_file = os.path.join(self.workdir, "timings-%s.json" % tag)
        output_file = os.path.join(self.workdir, "ansible-%s.log" % tag)
        inventory = self.inventory if scenario["inventory"] == "sensors" else "localhost,"
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                   "-e", "@" + self.vars_file,
                   scenario.get("playbook_path") or os.path.join(PLAYBOOKS, scenario["playbook"])]
        if scenario.get("extra_vars"):
            command += ["-e", json.dumps(scenario["extra_vars"])]
        if subset:
            command += ["-e", json.dumps({"bench_sensor_ids": sensor_ids})]
        # A play's ansible_python_interpreter (prevention_gitops.yml sets one) beats the environment's.
        command += ["-e", json.dumps({"ansible_python_interpreter": self.rss_wrapper if rss else sys.executable})]
        if scenario.get("policy"):
            command += ["-e", json.dumps({"prevention_gitops_file": self.policy_file,
                                          "prevention_gitops_report_dir": os.path.join(self.workdir, "report")})]
        env = self.env(rss=rss)
        env["BENCH_TIMINGS"] = timings_file
        if rss and os.path.exists(self.rss_log):
            os.remove(self.rss_log)
        load_before = loadavg()
        fake_cpu = self.fake.cpu_s()
        with open(output_file, "w") as output:
            returncode, wall, cpu, tree_maxrss = run_measured(command, env=env, cwd=self.workdir, stdout=output,
                                                              stderr=subprocess.STDOUT)
        fake_cpu = self.fake.cpu_s() - fake_cpu if fake_cpu is not None else None
        log = self.fake.log()
        counts = count_requests(log, sensor_ids, self.fake.latency_ms)
        timings = {}
        if os.path.exists(timings_file):
            with open(timings_file) as handle:
                timings = json.load(handle)
        tasks = [task for task in timings.get("tasks", []) if task.get("end")]
        task_s = round(max(task["end"] for task in tasks) - min(task["start"] for task in tasks), 3) if tasks \
            else None
        if scenario.get("policy"):
            converged = policy_converged(self.fake.prevention(), self.policy, self.fake.info["sensors"])
        else:
            converged = all_converged(self.fake.prevention(), sensor_ids)
        result = collections.OrderedDict([
            ("scenario", key), ("label", scenario["label"]), ("run", run), ("sensors", len(sensor_ids)),
            ("latency_ms", self.fake.latency_ms), ("rc", returncode),
            ("ok", returncode == 0 and converged), ("wall_s", round(wall, 3)), ("task_s", task_s),
            ("playbook_s", round(timings["playbook_end"] - timings["playbook_start"], 3)
             if "playbook_end" in timings else None),
            # The whole ansible-playbook process tree (controller, workers, module); the fake is not in it.
            ("cpu_s", round(cpu, 3)), ("cpu_per_target_ms", round(cpu * 1000.0 / len(sensor_ids), 3)),
            ("fake_cpu_s", round(fake_cpu, 3) if fake_cpu is not None else None),
            ("result_bytes", max([task.get("result_bytes") or 0 for task in tasks] or [0]) or None),
            ("result_bytes_own", max([task.get("result_bytes_own") or 0 for task in tasks] or [0]) or None),
        ])
        result.update(counts)
        result["load_before"] = load_before
        result["load_after"] = loadavg()
        summaries = [task["summary"] for task in tasks if task.get("summary")]
        if summaries:
            result["fleet_summary"] = summaries[-1]
        if rss:
            result["peak_rss_kb"] = self._peak_rss()
        result["tree_peak_rss_kb"] = tree_maxrss   # the largest process of the tree (usually ansible-playbook)
        result["output"] = output_file
        if not result["ok"]:
            failures = [task.get("msg") for task in tasks if task.get("failed")]
            result["error"] = (failures[0] if failures else None) or "rc=%s, converged=%s; see %s" % (
                returncode, converged, output_file)
        self.say("  %-55s %-9s wall %7.2f s  task %7.2f s  CPU %7.2f s  %6d requests%s" % (
            scenario["label"], run, wall, task_s or 0, cpu, counts["requests"],
            "" if result["ok"] else "  FAILED: %s" % result["error"]))
        return result

    def _peak_rss(self):
        if not os.path.exists(self.rss_log):
            return None
        with open(self.rss_log) as handle:
            entries = [json.loads(line) for line in handle if line.strip()]
        module = [entry["maxrss_kb"] for entry in entries if any("kata_prevention" in arg for arg in entry["argv"])]
        return max(module or [entry["maxrss_kb"] for entry in entries] or [None])


def add_ratios(results):
    """``wall_ratio_to_a``/``task_ratio_to_a`` (this / (a)) for every run that (a) also ran."""
    baseline = dict((result["run"], result) for result in results if result["scenario"] == "a")
    for result in results:
        base = baseline.get(result["run"])
        if base and base["wall_s"]:
            result["wall_ratio_to_a"] = round(result["wall_s"] / base["wall_s"], 3)
        if base and base.get("task_s") and result.get("task_s"):
            result["task_ratio_to_a"] = round(result["task_s"] / base["task_s"], 3)


def floor_s(sensors, latency_ms, parallelism, requests_per_sensor=1):
    return sensors * requests_per_sensor * latency_ms / 1000.0 / parallelism


def run_comparison(sensors=DEFAULT_SENSORS, latency_ms=DEFAULT_LATENCY_MS, scenarios=DEFAULT_SCENARIOS,
                   forks=DEFAULT_FORKS, parallelism=DEFAULT_PARALLELISM, runs=RUNS, workdir=None, log=print,
                   plan=None, page_size=None):
    """Run the side-by-side comparison; returns the result document (see docs/performance.md).

    ``plan`` (a list of ``(scenario, run)``) replaces ``scenarios`` x ``runs``.
    """
    plan = list(plan) if plan is not None else [(key, run) for key in scenarios for run in runs]
    scenarios = "".join(key for key in SCENARIOS if any(key == item[0] for item in plan))
    runs = [run for run in RUNS if any(run == item[1] for item in plan)]
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="kaspersky-edr-bench-")
    document = collections.OrderedDict([
        ("kind", "comparison"), ("date", datetime.datetime.now().isoformat(timespec="seconds")),
        ("machine", machine()), ("load_start", loadavg()),
        ("params", {"sensors": sensors, "latency_ms": latency_ms, "forks": forks, "parallelism": parallelism,
                    "scenarios": list(scenarios), "runs": list(runs), "hashes": BENCH_HASHES}),
        ("floor_s", round(floor_s(sensors, latency_ms, parallelism), 3)),
        ("results", []), ("workdir", workdir),
    ])
    started = time.monotonic()
    try:
        with FakeProcess(workdir, sensors, latency_ms, page_size=page_size) as fake:
            bench = Bench(workdir, fake, forks=forks, parallelism=parallelism, log=log)
            for key, run in plan:
                document["results"].append(bench.run(key, run))
    finally:
        if own and all(result["ok"] for result in document["results"]):
            shutil.rmtree(workdir, ignore_errors=True)
            document["workdir"] = None
    add_ratios(document["results"])
    document["acceptance"] = acceptance(document)
    document["load_end"] = loadavg()
    document["total_s"] = round(time.monotonic() - started, 1)
    return document


def run_scale(sizes, latency_ms=DEFAULT_LATENCY_MS, parallelism=DEFAULT_PARALLELISM, runs=RUNS, workdir=None,
              rss=True, log=print, scenarios="d", page_size=None):
    """``scenarios`` (d, g, i) at each N of ``sizes``; peak RSS of the module (or inventory) process with ``rss``.

    ``page_size`` makes the fake page ``GET sensors`` (the clients send no ``max_events``).
    """
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="kaspersky-edr-bench-")
    document = collections.OrderedDict([
        ("kind", "scale"), ("date", datetime.datetime.now().isoformat(timespec="seconds")),
        ("machine", machine()), ("load_start", loadavg()),
        ("params", {"sizes": list(sizes), "latency_ms": latency_ms, "parallelism": parallelism,
                    "runs": list(runs), "hashes": BENCH_HASHES, "rss": rss, "scenarios": list(scenarios),
                    "page_size": page_size}),
        ("results", []), ("workdir", workdir),
    ])
    started = time.monotonic()
    try:
        for size in sizes:
            with FakeProcess(workdir, size, latency_ms, page_size=page_size) as fake:
                bench = Bench(workdir, fake, parallelism=parallelism, log=log)
                startup = None
                if set(scenarios) - set("i"):
                    # Start-up: the fleet playbook on one sensor (ansible-playbook, the module's start, 1 GET).
                    # Run twice and keep the second: the first one also fills the OS file cache.
                    bench.run("d", "converged", sensor_ids=fake.sensor_ids[:1])
                    startup = bench.run("d", "converged", sensor_ids=fake.sensor_ids[:1])
                    startup["startup_s"] = round(startup["wall_s"] - latency_ms / 1000.0, 3)
                    startup["fleet_size"] = size
                    document.setdefault("startup", []).append(startup)
                for key in scenarios:
                    for run in (runs if key != "i" else ["converged"]):
                        result = bench.run(key, run, rss=rss)
                        # (g) and (i) first read the host list, one page after the other.
                        floor = result["kinds"].get("GET sensors", 0) * latency_ms / 1000.0
                        if key != "i":
                            per_sensor = 1.0 if run == "converged" else 3.0 if key != "e" else 2.0
                            floor += floor_s(size, latency_ms, parallelism, per_sensor) + startup["startup_s"]
                        result["floor_s"] = round(floor, 3)
                        document["results"].append(result)
    finally:
        if own and all(result["ok"] for result in document["results"]):
            shutil.rmtree(workdir, ignore_errors=True)
            document["workdir"] = None
    document["load_end"] = loadavg()
    document["total_s"] = round(time.monotonic() - started, 1)
    return document


# ---- output ------------------------------------------------------------------------------------

def _fmt(value, pattern="%.2f"):
    return "-" if value is None else pattern % value


def _load(value):
    return "-" if not value else " ".join("%.2f" % item for item in value)


def describe_counts(result):
    """``GET 1, POST 1 per sensor; +1 GET all`` from the per-sensor histogram."""
    parts = []
    for method, histogram in sorted(result["per_sensor"].items(), key=lambda item: ("GET", "POST", "DELETE")
                                    .index(item[0])):
        parts.append("%s %s" % (method, "/".join(sorted(histogram, key=int))
                                if len(histogram) > 1 else next(iter(histogram))))
    extra = dict((kind, number) for kind, number in result["kinds"].items()
                 if kind not in ("GET settings", "POST settings", "DELETE settings"))
    text = ", ".join(parts)
    if extra:
        text += "; + " + ", ".join("%d %s" % (number, kind) for kind, number in sorted(extra.items()))
    return text


def machine_line(document):
    machine_ = document["machine"]
    return "machine: %s CPUs (%s), Python %s, ansible-core %s; load average %s at start, %s at end" % (
        machine_["cpus"], machine_["cpu_model"], machine_["python"], machine_["ansible_core"],
        _load(document["load_start"]), _load(document.get("load_end")))


def comparison_table(document):
    params = document["params"]
    lines = [
        "kata_prevention benchmark: N=%d sensors, L=%d ms per request, forks=%d, parallelism=%d" % (
            params["sensors"], params["latency_ms"], params["forks"], params["parallelism"]),
        machine_line(document),
        "",
        "| scenario | run | wall s | task s | span s | req/sensor | writes | TLS conns | wall/(a) | task/(a) | "
        "requests per sensor |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in document["results"]:
        lines.append("| %s | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s |" % (
            result["label"] + ("" if result["ok"] else " **FAILED**"), result["run"], _fmt(result["wall_s"]),
            _fmt(result["task_s"]), _fmt(result["span_s"]), _fmt(result["requests_per_sensor"]), result["writes"],
            result["tls_connections"], _fmt(result.get("wall_ratio_to_a"), "%.3f"),
            _fmt(result.get("task_ratio_to_a"), "%.3f"), describe_counts(result)))
    floor = document["floor_s"]
    baseline = dict((result["run"], result) for result in document["results"] if result["scenario"] == "a")
    lines.append("")
    lines.append("floor N*L/parallelism = %d*%d ms/%d = %.2f s (one request per sensor, no client cost)" % (
        params["sensors"], params["latency_ms"], params["parallelism"], floor))
    for result in document["results"]:
        if result["scenario"] not in ("d", "e"):
            continue
        own_floor = floor_s(result["sensors"], result["latency_ms"], params["parallelism"],
                            result["requests"] / float(result["sensors"]))
        text = "%s %s: wall/floor %.1f, task/floor %.1f, span/floor %.1f" % (
            result["label"], result["run"], result["wall_s"] / floor if floor else 0,
            (result["task_s"] or 0) / floor if floor else 0, result["span_s"] / floor if floor else 0)
        if result["run"] == "changing":
            text += " (this run's own floor, %.2f requests/sensor: %.2f s; span/own floor %.1f)" % (
                result["requests_per_sensor"], own_floor, result["span_s"] / own_floor if own_floor else 0)
        base = baseline.get(result["run"])
        if base:
            text += "; %.1fx faster than (a) by wall time" % (base["wall_s"] / result["wall_s"])
            if result.get("task_s") and base.get("task_s"):
                text += ", %.1fx by task time" % (base["task_s"] / result["task_s"])
        lines.append(text)
    if document.get("acceptance"):
        lines.append("acceptance targets of issue 9 (set for N=200, L=50 ms; this run: N=%d, L=%d ms):" % (
            params["sensors"], params["latency_ms"]))
    for check in document.get("acceptance", []):
        lines.append("  %s: %s (%s)" % (check["check"], "met" if check["met"] else "NOT met", check["detail"]))
    lines.append("total benchmark time %.1f s" % document["total_s"])
    return "\n".join(lines)


def acceptance(document, speedup=5.0, floor_factor=2.0):
    """The issue's targets, evaluated on this run: fleet (d) at least ``speedup`` times faster than (a) by
    wall time, for each run; the converged fleet run within ``floor_factor`` of N*L/parallelism, by each time."""
    checks = []
    by_key = dict(((result["scenario"], result["run"]), result) for result in document["results"])
    for run in RUNS:
        fleet, base = by_key.get(("d", run)), by_key.get(("a", run))
        if fleet and base:
            factor = base["wall_s"] / fleet["wall_s"]
            task_factor = base["task_s"] / fleet["task_s"] if fleet.get("task_s") and base.get("task_s") else None
            checks.append({"check": "fleet >= %gx faster than (a), %s run, by wall time" % (speedup, run),
                           "met": factor >= speedup, "value": round(factor, 2),
                           "detail": "%.1fx by wall time (%.2f s vs %.2f s), %s by task time" % (
                               factor, fleet["wall_s"], base["wall_s"],
                               "%.1fx" % task_factor if task_factor else "-")})
    loop, policy = by_key.get(("p", "changing")), by_key.get(("q", "changing"))
    if loop and policy:
        factor = loop["wall_s"] / policy["wall_s"]
        checks.append({"check": "policy module >= 20x faster than the per-host loop, enforcing run, by wall time",
                       "met": factor >= 20, "value": round(factor, 2),
                       "detail": "%.1fx (%.2f s vs %.2f s)" % (factor, policy["wall_s"], loop["wall_s"])})
    fleet, policy = by_key.get(("d", "converged")), by_key.get(("q", "converged"))
    if fleet and policy:
        ratio = policy["wall_s"] / fleet["wall_s"]
        checks.append({"check": "converged policy run within 2x of the converged fleet run, by wall time",
                       "met": ratio <= 2, "value": round(ratio, 2),
                       "detail": "%.2f s vs %.2f s = %.2fx" % (policy["wall_s"], fleet["wall_s"], ratio)})
    fleet, floor = by_key.get(("d", "converged")), document["floor_s"]
    if fleet and floor:
        for measure in ("span_s", "task_s", "wall_s"):
            if fleet.get(measure) is None:
                continue
            ratio = fleet[measure] / floor
            checks.append({"check": "converged fleet within %gx of the floor N*L/parallelism, by %s time" % (
                floor_factor, measure[:-2]), "met": ratio <= floor_factor, "value": round(ratio, 2),
                "detail": "%.2f s = %.1fx the floor %.2f s" % (fleet[measure], ratio, floor)})
    return checks


def scale_table(document):
    params = document["params"]
    lines = [
        "kata_prevention fleet mode scaling: L=%d ms per request, parallelism=%d, fake pages GET sensors by %s" % (
            params["latency_ms"], params["parallelism"], params.get("page_size") or "- (one page)"),
        machine_line(document),
        "",
        "| N | scenario | run | wall s | floor s | wall/floor | CPU ms/target | CPU s | fake CPU s | "
        "peak RSS MiB (module / controller) | result KiB | with invocation KiB | task s | span s | requests | GET sensors | writes | "
        "TLS conns | load before |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in document["results"]:
        floor = result["floor_s"]
        lines.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %d | %d | %d | %d | %s |"
                     % (result["sensors"], result.get("scenario", "d"),
                        result["run"] + ("" if result["ok"] else " **FAILED**"),
                        _fmt(result["wall_s"]), _fmt(floor), _fmt(result["wall_s"] / floor) if floor else "-",
                        _fmt(result.get("cpu_per_target_ms"), "%.3f"), _fmt(result.get("cpu_s")),
                        _fmt(result.get("fake_cpu_s")),
                        _fmt(result["peak_rss_kb"] / 1024.0, "%.1f") if result.get("peak_rss_kb") else "-",
                        _fmt(result["tree_peak_rss_kb"] / 1024.0, "%.1f") if result.get("tree_peak_rss_kb") else "-",
                        _fmt(result["result_bytes_own"] / 1024.0, "%.1f") if result.get("result_bytes_own") else "-",
                        _fmt(result["result_bytes"] / 1024.0, "%.1f") if result.get("result_bytes") else "-",
                        _fmt(result["task_s"]), _fmt(result["span_s"]), result["requests"],
                        result["kinds"].get("GET sensors", 0), result["writes"], result["tls_connections"],
                        _load(result.get("load_before"))))
    lines.append("")
    for startup in document.get("startup", []):
        lines.append("start-up at N=%d: the fleet playbook on 1 sensor, %.2f s wall (less one L), %.2f s CPU"
                     % (startup["fleet_size"], startup["startup_s"], startup["cpu_s"]))
    lines.append("scenarios: d = fleet, sensors: IDs; g = fleet, sensor_filter: {} (reads every GET sensors page); "
                 "i = inventory plugin (ansible-inventory --list; task = wall); q = GitOps policy, "
                 "prevention_gitops.yml (kata_prevention_policy and the two reports); r = kata_prevention_policy alone; "
                 "q and r: two hashes per host plus an all-hosts list")
    lines.append("floor = start-up + N*R*L/parallelism (R requests per sensor: 1 converged, 3 changing: GET, write, "
                 "read-back) + pages*L (the list is read page after page); for (i) pages*L only. CPU = user + system "
                 "time of the whole ansible-playbook (or ansible-inventory) process tree, from os.wait4; the fake is "
                 "a separate process, its CPU is shown apart. Peak RSS: the module process (os.wait4 in an "
                 "interpreter wrapper) and the largest process of the tree; for (i) ansible-inventory. Result: "
                 "the module result as JSON without, then with, the echo of its arguments (invocation: AWX stores "
                 "both in the task's event); for (i) the --list output")
    for check in scale_acceptance(document):
        lines.append("%s: %s (%s)" % (check["check"], "met" if check["met"] else "NOT met", check["detail"]))
    lines.append("total benchmark time %.1f s" % document["total_s"])
    return "\n".join(lines)


def scale_acceptance(document, sensors=10000, task_limit=30.0, rss_limit_mib=256.0):
    """Issue 15: a converged fleet check of 10,000 sensors at parallelism 32, L=50 ms, under 30 s of module
    time and 256 MiB of peak RSS; evaluated on each converged fleet run (d, g) at that N."""
    checks = []
    params = document["params"]
    for result in document["results"]:
        if result["sensors"] != sensors or result.get("scenario") not in ("d", "g") or result["run"] != "converged":
            continue
        rss = (result.get("peak_rss_kb") or 0) / 1024.0
        met = bool(result["ok"] and result["task_s"] is not None and result["task_s"] < task_limit
                   and 0 < rss < rss_limit_mib)
        checks.append({"check": "issue 15: converged fleet (%s) at N=%d, L=%d ms, parallelism %d under %g s module "
                                "time and %g MiB peak RSS" % (result["scenario"], sensors, params["latency_ms"],
                                                              params["parallelism"], task_limit, rss_limit_mib),
                       "met": met, "detail": "%.2f s module (task) time, %.1f MiB" % (result["task_s"] or 0, rss)})
    return checks


def write_json(document, path=None):
    if path is None:
        if not os.path.isdir(RESULTS_DIR):
            os.makedirs(RESULTS_DIR)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        if document["kind"] == "scale":
            name = "scale-%s-L%d-%s.json" % ("-".join(str(size) for size in document["params"]["sizes"]),
                                             document["params"]["latency_ms"], stamp)
        else:
            name = "bench-N%d-L%d-%s.json" % (document["params"]["sensors"], document["params"]["latency_ms"],
                                              stamp)
        path = os.path.join(RESULTS_DIR, name)
    with open(path, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark kata_prevention fleet mode against uri and single mode.")
    parser.add_argument("--sensors", "-n", type=int, default=DEFAULT_SENSORS, help="N (default %(default)s)")
    parser.add_argument("--latency-ms", "-l", type=int, default=DEFAULT_LATENCY_MS,
                        help="L, the fake's delay per request (default %(default)s)")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                        help="letters of the scenarios to run: a b c d, and e (fleet with verify_write: false), "
                             "f (uri as a loop), p, q and r (GitOps policy: old per-host loop, prevention_gitops.yml, the module "
                             "alone); "
                             "default %(default)s")
    parser.add_argument("--runs", default=",".join(RUNS), help="changing,converged (default both)")
    parser.add_argument("--forks", type=int, default=DEFAULT_FORKS, help="ansible forks for (a) and (c)")
    parser.add_argument("--parallelism", type=int, default=DEFAULT_PARALLELISM, help="fleet mode parallelism")
    parser.add_argument("--scale", metavar="N,N,...",
                        help="fleet mode only, at each N (e.g. 50,200,1000), with the peak RSS of the module")
    parser.add_argument("--scale-scenarios", default="d", metavar="LETTERS",
                        help="with --scale: d (fleet, sensor IDs), g (fleet, sensor_filter: {}), i (inventory plugin), "
                             "q and r (GitOps policy with and without reports, a list per host); default %(default)s")
    parser.add_argument("--page-size", type=int, metavar="P", help="the fake pages GET sensors by P hosts")
    parser.add_argument("--json", metavar="PATH", help="where to write the JSON (default tests/perf/results/)")
    parser.add_argument("--wait-quiet", type=int, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the 1-minute load average to drop below --max-load")
    parser.add_argument("--max-load", type=float, default=1.0)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (playbook output, fake log)")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error("unknown scenario(s) %s" % ", ".join(sorted(unknown)))
    runs = [run.strip() for run in args.runs.split(",") if run.strip()]
    if set(runs) - set(RUNS):
        parser.error("--runs takes changing and/or converged")
    workdir = None
    if args.keep:
        workdir = os.path.abspath(args.keep)
        if not os.path.isdir(workdir):
            os.makedirs(workdir)
    if args.wait_quiet:
        wait_quiet(args.max_load, args.wait_quiet)
    print("load average before: %s" % _load(loadavg()))
    sys.stdout.flush()
    if args.scale:
        sizes = [int(size) for size in args.scale.split(",") if size.strip()]
        if set(args.scale_scenarios) - set("dgiqr"):
            parser.error("--scale-scenarios takes the letters d, g, i, q and r")
        document = run_scale(sizes, latency_ms=args.latency_ms, parallelism=args.parallelism, runs=runs,
                             workdir=workdir, scenarios=args.scale_scenarios, page_size=args.page_size)
        table = scale_table(document)
    else:
        document = run_comparison(sensors=args.sensors, latency_ms=args.latency_ms, scenarios=args.scenarios,
                                  forks=args.forks, parallelism=args.parallelism, runs=runs, workdir=workdir,
                                  page_size=args.page_size)
        table = comparison_table(document)
    path = write_json(document, args.json)
    print("")
    print(table)
    print("")
    print("JSON: %s" % os.path.relpath(path) if path.startswith(REPO_ROOT) else "JSON: %s" % path)
    failed = [result for result in document["results"] if not result["ok"]]
    if failed:
        print("FAILED runs (work directory kept: %s):" % document["workdir"])
        for result in failed:
            print("  %s %s: %s" % (result["label"], result["run"], result.get("error")))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
