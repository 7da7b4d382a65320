# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Record task start and end times for the benchmark in tests/perf
description:
  - Benchmark helper only, not part of the collection. Writes one JSON document to the file named by the
    E(BENCH_TIMINGS) environment variable, with the playbook start and end and, per task, its start time, the time
    of its last host result, the number of results and the fleet module's summary and result size (bytes of JSON).
options: {}
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.data = {"playbook_start": time.time(), "tasks": []}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.data["tasks"].append({"name": task.get_name(), "start": time.time(), "end": None, "results": 0,
                                   "failed": 0, "summary": None})

    def _result(self, result, failed):
        if not self.data["tasks"]:
            return
        entry = self.data["tasks"][-1]
        entry["end"] = time.time()
        entry["results"] += 1
        entry["failed"] += 1 if failed else 0
        summary = result._result.get("summary")
        if isinstance(summary, dict):
            entry["summary"] = summary
            # What AWX would store as the task's job event: the module result as JSON.
            entry["result_bytes"] = len(json.dumps(result._result, default=str))
            # ... and without the echo of the module's arguments (a sensors list of its own size).
            entry["result_bytes_own"] = len(json.dumps(dict((key, value) for key, value in result._result.items()
                                                            if key != "invocation"), default=str))
        if failed and "msg" in result._result and not entry.get("msg"):
            entry["msg"] = str(result._result["msg"])[:2000]

    def v2_runner_on_ok(self, result):
        self._result(result, False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, True)

    def v2_runner_on_unreachable(self, result):
        self._result(result, True)

    def v2_playbook_on_stats(self, stats):
        self.data["playbook_end"] = time.time()
        path = os.environ.get("BENCH_TIMINGS")
        if path:
            with open(path, "w") as handle:
                json.dump(self.data, handle)
