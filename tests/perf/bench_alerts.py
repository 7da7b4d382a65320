# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: KATA alert to isolation through the real ansible-rulebook (``make bench-alerts``).

The collection is installed from its tarball; ``ansible-rulebook`` runs the installed
kata_alert_response.yml (shipped defaults, batch window 1 s) against the fake Central Node (in this
process, 50 ms latency per request, 200 hosts). Alerts are real syslog over TCP from another process
(tests/e2e/eda/syslog_sender.py), which stamps the time right after each alert's last byte.

- **floor**: ``ansible-playbook kaspersky.edr.isolate_host -e sensor_hostname=...`` from its start to
  its isolation POST at the fake: ansible-playbook start-up plus the requests (a host lookup, a read,
  the write). The median of ``--floor-runs``.
- ``--playbook path`` (default) sets the rulebook variable ``alert_response_playbook`` to the installed
  playbook's path; ``fqcn`` keeps the rulebook's default, for which ansible-rulebook runs
  ``ansible-galaxy collection list`` twice before every playbook run.
- **single**: ``--singles`` alerts, each for another host, one at a time (the previous run finished):
  last byte on the socket to the isolation POST at the fake. p50, p95, ratio to the floor.
- **storm**: ``--storm-alerts`` alerts over ``--storm-hosts`` hosts (each at least once, shuffled) in
  ``--storm-seconds``: time from the last alert's last byte until every host's isolation POST; each host
  isolated exactly once (one POST per host in the log); no alert lost (the batches the rules fired on hold
  every alert sent). The guard's budget is raised above the storm's hosts for this run.

Usage::

    .venv/bin/python -m tests.perf.bench_alerts [--singles 20] [--storm-alerts 500] [--storm-hosts 200]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tests.e2e.eda.alert_engine import AlertEngine, cef_alert, install_collection, wait_for
from tests.fakes import pki
from tests.fakes.central_node import DEFAULT_EXTERNAL_SYSTEM_ID, FakeCentralNode

PERF_DIR = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(PERF_DIR, "results")
MD5 = "44d88612fea8a8f36de82e1278abb02f"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))]


def isolation_posts(fake):
    return [entry for entry in fake.log("POST") if entry["query"].get("settings_type") == "network_isolation"]


def first_post_for(fake, sensor_id):
    times = [entry["time"] for entry in isolation_posts(fake) if entry["query"]["sensor_id"] == sensor_id]
    return min(times) if times else None


class Bench:
    def __init__(self, workdir, hosts, latency_ms, playbook_by_path=True, log=print):
        self.workdir = workdir
        self.playbook_by_path = playbook_by_path
        self.log = log
        self.paths = pki.generate(os.path.join(workdir, "pki"))
        self.fake = FakeCentralNode(self.paths, sensors=hosts, latency_ms=latency_ms).start()
        self.hosts = hosts
        self.collections = install_collection(os.path.join(workdir, "install"))
        home = os.path.join(workdir, "ansible_home")
        self.env = dict((key, value) for key, value in os.environ.items() if not key.startswith(("KATA_", "ANSIBLE_")))
        self.env.update({
            "ANSIBLE_HOME": home, "ANSIBLE_LOCAL_TEMP": os.path.join(home, "tmp"), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_DEPRECATION_WARNINGS": "false",
            "ANSIBLE_COLLECTIONS_PATH": self.collections, "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "KATA_HOST": "127.0.0.1", "KATA_PORT": str(self.fake.port),
            "KATA_EXTERNAL_SYSTEM_ID": DEFAULT_EXTERNAL_SYSTEM_ID, "KATA_CLIENT_CERT": self.paths["client"],
            "KATA_CLIENT_KEY": self.paths["client_key"], "KATA_CA_PATH": self.paths["ca"],
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        })

    def reset(self):
        latency = self.fake.latency
        self.fake.reset(self.hosts)
        self.fake.latency = latency

    def floor(self, runs):
        times = []
        for index in range(runs):
            self.reset()
            times.append(self.floor_once(self.fake.sensors[index]))
        return times

    def floor_once(self, sensor):
        """isolate_host.yml for ``sensor``: from the process start to its isolation POST at the fake."""
        start = time.time()
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                        "kaspersky.edr.isolate_host", "-e", "sensor_hostname=%s" % sensor["host"]],
                       env=self.env, cwd=self.workdir, check=True, capture_output=True, timeout=300)
        posted = first_post_for(self.fake, sensor["sensorId"])
        self.log("floor run: %.2f s" % (posted - start))
        return posted - start

    def engine(self, name, **rulebook_vars):
        workdir = os.path.join(self.workdir, name)
        os.makedirs(workdir)
        if self.playbook_by_path:
            rulebook_vars.setdefault("alert_response_playbook", os.path.join(
                self.collections, "ansible_collections", "kaspersky", "edr", "playbooks", "alert_response.yml"))
        rulebook_vars.setdefault("isolation_guard_state", os.path.join(workdir, "guard.json"))
        return AlertEngine(workdir, self.collections, self.env, rulebook_vars).start()

    def singles(self, count, floors=None):
        """Single alerts; with ``floors`` (a list), a floor run before each alert is appended to it (same load)."""
        self.reset()
        engine = self.engine("singles")
        latencies = []
        try:
            for index in range(count):
                sensor = self.fake.sensors[index % self.hosts]
                if floors is not None:
                    floors.append(self.floor_once(self.fake.sensors[self.hosts - 1 - index % self.hosts]))
                stamp = os.path.join(engine.workdir, "stamp-%d.json" % index)
                engine.send([cef_alert(sensor["host"], sensor["ip"], "High", [MD5], alert_id="s%d" % index)],
                            stamp=stamp)
                with open(stamp) as handle:
                    sent = json.load(handle)[-1]
                wait_for(lambda: first_post_for(self.fake, sensor["sensorId"]) is not None, 120, engine)
                latencies.append(first_post_for(self.fake, sensor["sensorId"]) - sent)
                # The run finishes (its hash block, the guard's commit) before the next alert.
                wait_for(lambda: len(engine.actions()) > index, 120, engine)
                self.log("single alert %d: %.2f s" % (index + 1, latencies[-1]))
        finally:
            engine.stop()
        return latencies

    def storm(self, alerts, hosts, seconds):
        self.reset()
        engine = self.engine("storm", max_isolations_per_hour=hosts * 2)
        sensors = self.fake.sensors[:hosts]
        chosen = list(sensors) + [random.choice(sensors) for _extra in range(alerts - hosts)]
        random.Random(23).shuffle(chosen)
        messages = [cef_alert(sensor["host"], sensor["ip"], "High", [MD5], alert_id="w%d" % index)
                    for index, sensor in enumerate(chosen)]
        stamp = os.path.join(engine.workdir, "stamp.json")
        try:
            engine.send(messages, gap=float(seconds) / alerts, stamp=stamp)
            with open(stamp) as handle:
                stamps = json.load(handle)
            ids = [sensor["sensorId"] for sensor in sensors]
            wait_for(lambda: all(first_post_for(self.fake, sensor_id) for sensor_id in ids), 600, engine)
            done = max(first_post_for(self.fake, sensor_id) for sensor_id in ids)
            wait_for(lambda: True, 120, engine, quiet=8, log=self.fake.log)
            actions = engine.actions()
        finally:
            engine.stop()
        posts = [entry["query"]["sensor_id"] for entry in isolation_posts(self.fake)]
        received = sum(action["matching_events"]["m"]["kata_batch"]["alerts"] for action in actions
                       if "kata_batch" in action["matching_events"]["m"])
        return {"alerts": alerts, "hosts": hosts, "seconds": seconds, "sent_s": stamps[-1] - stamps[0],
                "done_after_last_alert_s": done - stamps[-1], "runs": len(actions),
                "failed_runs": len([action for action in actions if action["status"] != "successful"]),
                "isolation_posts": len(posts), "hosts_isolated": len(set(posts)),
                "each_host_once": sorted(posts) == sorted(ids), "alerts_received": received,
                "no_alert_lost": received == alerts}

    def close(self):
        self.fake.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--floor-runs", type=int, default=5)
    parser.add_argument("--storm-alerts", type=int, default=500)
    parser.add_argument("--storm-hosts", type=int, default=200)
    parser.add_argument("--storm-seconds", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--playbook", choices=("path", "fqcn"), default="path",
                        help="alert_response_playbook: the installed path (default) or the rulebook's default, "
                             "the FQCN "
                             "(the engine then runs ansible-galaxy twice before each run)")
    parser.add_argument("--interleave", action="store_true",
                        help="one floor run right before each single alert, so both see the same machine load; the "
                             "ratio is then taken against the median of those floor runs")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: floor, singles, storm")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    if args.interleave:
        skip.add("floor")  # measured beside each single alert instead
    workdir = tempfile.mkdtemp(prefix="kaspersky-edr-bench-alerts-")
    bench = Bench(workdir, max(args.storm_hosts, args.singles), args.latency_ms, args.playbook == "path")
    document = {"latency_ms": args.latency_ms, "playbook": args.playbook,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}
    try:
        if "floor" not in skip:
            floor = bench.floor(args.floor_runs)
            document["floor_s"] = statistics.median(floor)
            document["floor_runs_s"] = floor
        if "singles" not in skip:
            floors = [] if args.interleave else None
            singles = bench.singles(args.singles, floors)
            if floors:
                document["floor_s"] = statistics.median(floors)
                document["floor_runs_s"] = floors
                document["floor_interleaved"] = True
            document["single"] = {"runs_s": singles, "p50_s": statistics.median(singles),
                                  "p95_s": percentile(singles, 0.95)}
            if "floor_s" in document:
                document["single"]["p95_ratio"] = document["single"]["p95_s"] / document["floor_s"]
                document["single"]["p50_ratio"] = document["single"]["p50_s"] / document["floor_s"]
        if "storm" not in skip:
            document["storm"] = bench.storm(args.storm_alerts, args.storm_hosts, args.storm_seconds)
    finally:
        bench.close()
        document["loadavg_end"] = os.getloadavg()
    os.makedirs(RESULTS_DIR, exist_ok=True)
    out = os.path.join(RESULTS_DIR, "bench_alerts-%s.json" % time.strftime("%Y%m%d-%H%M%S"))
    with open(out, "w") as handle:
        json.dump(document, handle, indent=1)
    print_table(document)
    print("results: %s" % out)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def print_table(document):
    print("\n| measure | value |\n|---|---|")
    if "floor_s" in document:
        print("| floor (isolate_host.yml start to POST) | %.2f s |" % document["floor_s"])
    single = document.get("single")
    if single:
        print("| single alert p50 / p95 | %.2f s / %.2f s |" % (single["p50_s"], single["p95_s"]))
        if "p95_ratio" in single:
            print("| single alert p50 / p95 ratio to floor (target p95 <= 2) | %.2f / %.2f |"
                  % (single["p50_ratio"], single["p95_ratio"]))
    storm = document.get("storm")
    if storm:
        print("| storm: %d alerts, %d hosts, %.1f s | all isolated %.1f s after the last alert (target <= 30 s), "
              "%d runs |" % (storm["alerts"], storm["hosts"], storm["sent_s"], storm["done_after_last_alert_s"],
                             storm["runs"]))
        print("| storm: isolation POSTs / hosts / each once / alerts received | %d / %d / %s / %d (%s) |"
              % (storm["isolation_posts"], storm["hosts_isolated"], storm["each_host_once"],
                 storm["alerts_received"], "none lost" if storm["no_alert_lost"] else "LOST ALERTS"))


if __name__ == "__main__":
    sys.exit(main())
