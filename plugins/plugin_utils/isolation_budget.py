# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The blast-radius guard's state: isolations made in the last hour, in a JSON file on the controller.

``reserve()`` grants isolations up to the hourly budget and records them as reservations of one run;
``commit()`` turns the run's reservations into isolations for the hosts it really isolated and drops
the rest. Both hold an exclusive ``flock`` on ``<path>.lock`` while they read and rewrite the file
(written to a temporary file, then renamed), so concurrent runs never exceed the budget. A host
isolated in the last hour (or reserved by a running job) does not count twice. Reservations of a
run that died are dropped after ``RESERVATION_TTL`` seconds.

File format (version 1)::

    {"version": 1,
     "isolations": [{"sensor_id": "...", "host": "...", "time": 1764870000.0}],
     "reservations": [{"sensor_id": "...", "host": "...", "time": 1764870000.0, "run": "<run id>"}]}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import fcntl
import json
import os
import tempfile
import time

WINDOW = 3600.0
RESERVATION_TTL = 900.0


class StateError(ValueError):
    """The state file cannot be read or written; the message names the path."""


@contextlib.contextmanager
def locked(path):
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        handle = open(path + ".lock", "a")
    except OSError as exc:
        raise StateError("cannot open the guard's lock file %s.lock: %s" % (path, exc))
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def load(path, now):
    try:
        with open(path) as handle:
            state = json.load(handle)
    except FileNotFoundError:
        state = {}
    except (OSError, ValueError) as exc:
        raise StateError("cannot read the guard's state file %s: %s (fix or remove it; until then nothing "
                         "is isolated)" % (path, exc))
    if not isinstance(state, dict):
        raise StateError("the guard's state file %s does not hold a JSON object" % path)
    isolations = [entry for entry in state.get("isolations") or [] if isinstance(entry, dict)
                  and now - float(entry.get("time", 0)) < WINDOW]
    reservations = [entry for entry in state.get("reservations") or [] if isinstance(entry, dict)
                    and now - float(entry.get("time", 0)) < RESERVATION_TTL]
    return {"version": 1, "isolations": isolations, "reservations": reservations}


def save(path, state):
    directory = os.path.dirname(os.path.abspath(path))
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=".guard-", dir=directory)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except OSError as exc:
        raise StateError("cannot write the guard's state file %s: %s" % (path, exc))


def counted(state):
    """The sensor IDs that count against the budget: isolated in the window or reserved now."""
    return set(entry["sensor_id"].lower() for entry in state["isolations"] + state["reservations"])


def reserve(path, hosts, limit, run_id, write=True, now=None):
    """``{"granted", "deferred", "busy", "used", "limit"}`` for ``hosts`` (dicts with ``sensor_id`` and ``host``).

    ``busy``: hosts another run has reserved and is isolating now (rulebooks run batches in parallel); this
    run leaves them alone, so a host is never isolated twice at once.
    """
    now = time.time() if now is None else now
    with locked(path):
        state = load(path, now)
        used = counted(state)
        in_flight = set(entry["sensor_id"].lower() for entry in state["reservations"] if entry.get("run") != run_id)
        granted, deferred, busy = [], [], []
        for host in hosts:
            key = host["sensor_id"].lower()
            if key in in_flight:
                busy.append(host)
            elif key in used:
                # Isolated in the window: it does not count twice.
                granted.append(dict(host, already_counted=True))
            elif len(used) < limit:
                used.add(key)
                granted.append(dict(host, already_counted=False))
                state["reservations"].append({"sensor_id": host["sensor_id"], "host": host.get("host"),
                                              "time": now, "run": run_id})
            else:
                deferred.append(host)
        if write:
            save(path, state)
        return {"granted": granted, "deferred": deferred, "busy": busy, "used": len(used), "limit": limit}


def commit(path, run_id, made, write=True, now=None):
    """Drop ``run_id``'s reservations and record ``made`` (dicts with ``sensor_id``, ``host``) as isolations."""
    now = time.time() if now is None else now
    with locked(path):
        state = load(path, now)
        state["reservations"] = [entry for entry in state["reservations"] if entry.get("run") != run_id]
        known = set(entry["sensor_id"].lower() for entry in state["isolations"])
        for host in made:
            if host["sensor_id"].lower() in known:
                state["isolations"] = [entry for entry in state["isolations"]
                                       if entry["sensor_id"].lower() != host["sensor_id"].lower()]
            state["isolations"].append({"sensor_id": host["sensor_id"], "host": host.get("host"), "time": now})
        if write:
            save(path, state)
        return {"isolated_last_hour": len(state["isolations"]), "recorded": len(made)}
