# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kata_alerts event source on real sockets (127.0.0.1).

The source runs as ansible-rulebook runs it, ``main(queue, args)`` in an asyncio loop (or as the
KataAlertsSource object behind it, where a test reads its counters), and real syslog comes from
other threads and, for the connection flood, another process: TCP with both framings and many
concurrent senders, UDP, TLS with client certificates (tests/fakes/pki.py). Forged and hostile
senders trigger nothing and the next good alert still arrives. The last test runs the source in the
real ansible-rulebook engine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import random
import socket
import ssl
import subprocess
import sys
import time

import pytest

from tests.e2e.kata_syslog import HOST, client_tls_context, free_port, send_tcp, send_udp, wait_for_tcp
from ansible_collections.kaspersky.edr.tests.kata_alerts_samples import (
    MD5, REPO_ROOT, SHA256, SOURCE_DIR, activity_message, alert_message, heartbeat_message, kata_alerts, octet_frame,
    rfc3164)

ka = kata_alerts


class LogRecorder(logging.Handler):
    def __init__(self):
        super(LogRecorder, self).__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append((record.levelname, record.getMessage()))

    def warnings(self, text=""):
        return [message for level, message in self.messages if level == "WARNING" and text in message]


@contextlib.contextmanager
def recorded_log():
    recorder = LogRecorder()
    ka.LOG.addHandler(recorder)
    level = ka.LOG.level
    ka.LOG.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        ka.LOG.removeHandler(recorder)
        ka.LOG.setLevel(level)


async def started(coroutine, log):
    """Run the source's coroutine as a task; return once it listens."""
    task = asyncio.ensure_future(coroutine)
    deadline = time.monotonic() + 10
    while not any("listening on" in message for _level, message in log.messages):
        if task.done():
            task.result()
        assert time.monotonic() < deadline, log.messages
        await asyncio.sleep(0.02)
    return task


async def stopped(task):
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def next_events(queue, count, timeout=20.0):
    events = []
    deadline = time.monotonic() + timeout
    while len(events) < count:
        try:
            events.append(await asyncio.wait_for(queue.get(), max(0.01, deadline - time.monotonic())))
        except asyncio.TimeoutError:
            raise AssertionError("%d of %d events arrived: %r" % (len(events), count, events))
    return events


async def until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def no_more_events(queue, wait=0.5):
    await asyncio.sleep(wait)
    assert queue.empty(), queue.get_nowait()


def in_thread(function, *args):
    return asyncio.get_running_loop().run_in_executor(None, function, *args)


def run(scenario):
    with recorded_log() as log:
        return asyncio.run(scenario(log))


# ------------------------------------------------------------------ TCP

def test_tcp_both_framings_on_one_connection_and_many_concurrent_senders():
    port = free_port()
    senders, per_sender = 40, 10

    def stream(sender):
        chunks = []
        for index in range(per_sender):
            message = alert_message(host="WS-%02d" % sender, alert_id="%d-%d" % (sender, index),
                                    header=rfc3164 if index % 3 else (lambda body: body))
            chunks.append(octet_frame(message) if index % 2 else message + b"\n")
        return b"".join(chunks)

    async def scenario(log):
        queue = asyncio.Queue()
        task = await started(ka.main(queue, {"host": HOST, "port": str(port)}), log)
        try:
            loop = asyncio.get_running_loop()
            with concurrent.futures.ThreadPoolExecutor(senders) as pool:
                await asyncio.gather(*(loop.run_in_executor(pool, send_tcp, port, stream(sender), None,
                                                            random.Random(sender).choice([None, 1, 7, 100]))
                                       for sender in range(senders)))
            events = await next_events(queue, senders * per_sender)
            await no_more_events(queue)
        finally:
            await stopped(task)
        return events

    events = run(scenario)
    assert sorted(event["kata"]["alert_id"] for event in events) == sorted(
        "%d-%d" % (sender, index) for sender in range(senders) for index in range(per_sender))
    for event in events:
        assert list(event) == ["kata"]
        assert event["kata"]["received_from"] == "127.0.0.1"
        assert event["kata"]["hashes"] == [MD5]
        assert event["kata"]["host"] == "WS-%s" % event["kata"]["alert_id"].split("-")[0].zfill(2)
    # per connection, the order of the messages is kept
    for sender in range(senders):
        ids = [event["kata"]["alert_id"] for event in events if event["kata"]["host"] == "WS-%02d" % sender]
        assert ids == ["%d-%d" % (sender, index) for index in range(per_sender)]


def test_floods_leave_the_source_listening_with_bounded_connections():
    port = free_port()
    settings = ka.parse_args({"host": HOST, "port": port, "max_message_bytes": 4096})

    async def scenario(log):
        queue = asyncio.Queue()
        source = ka.KataAlertsSource(queue, settings)
        task = await started(source.run(), log)
        flood = None
        began = time.monotonic()
        try:
            # garbage, invalid UTF-8, NUL bytes and broken octet counts, then the connection closes
            garbage = os.urandom(50000) + b"\x00\xff\xfe\n" * 100 + b"12 short\n99999 \n"
            await in_thread(send_tcp, port, garbage, None, 997)
            # a sender that never sends a newline, connection kept open
            endless = await in_thread(open_and_send, port, b"A" * 300000)
            # another process opens 1,000 connections and holds them
            flood = subprocess.Popen([sys.executable, "-m", "tests.e2e.kata_syslog", "flood", str(port), "1000"],
                                     cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            line = await in_thread(flood.stdout.readline)
            assert line.startswith(b"open "), line
            await asyncio.sleep(0.3)
            assert len(source.connections) <= settings.max_connections
            good = alert_message(alert_id="after-the-floods")
            await in_thread(send_tcp, port, good + b"\n")
            events = await next_events(queue, 1)
            await no_more_events(queue)
            endless.close()
        finally:
            if flood is not None:
                flood.stdin.close()
                flood.wait(10)
            await stopped(task)
        return source, events, time.monotonic() - began

    with recorded_log() as log:
        source, events, seconds = asyncio.run(scenario(log))
    assert [event["kata"]["alert_id"] for event in events] == ["after-the-floods"]
    assert source.drops.totals["connection_evicted"] >= 1000 - settings.max_connections
    assert source.drops.totals["line_too_long"] >= 1
    assert source.drops.totals["not_cef"] >= 1
    # each reason is warned about at most once per 10 s, with its count
    for reason in ("connection_evicted", "line_too_long", "not_cef"):
        assert 1 <= len(log.warnings("kata_alerts: %s:" % reason)) <= 1 + int(seconds // 10), log.messages


def open_and_send(port, data):
    sock = socket.create_connection((HOST, port), timeout=10)
    sock.sendall(data)
    return sock


# ------------------------------------------------------------------ UDP

def test_udp_one_message_per_datagram_with_heartbeats_and_activity_records():
    port = free_port()
    alert = alert_message(alert_id="udp-1")

    async def scenario(log):
        queue = asyncio.Queue()
        args = {"host": HOST, "port": port, "protocol": "udp", "heartbeats": True, "activity_log": True,
                "max_message_bytes": 2048}
        task = await started(ka.main(queue, args), log)
        try:
            datagrams = [b"garbage \xff\x00", b"x" * 3000, alert + b"\n", heartbeat_message(), activity_message(),
                         alert_message(alert_id="udp-2")]
            await in_thread(send_udp, port, datagrams)
            events = await next_events(queue, 4)
            await no_more_events(queue)
        finally:
            await stopped(task)
        return events, log

    events, log = run_with_log(scenario)
    assert [list(event) for event in events] == [["kata"], ["kata"], ["kata"], ["kata"]]
    assert [events[0]["kata"]["alert_id"], events[3]["kata"]["alert_id"]] == ["udp-1", "udp-2"]
    assert events[1]["kata"]["heartbeat"] is True
    assert list(events[2]["kata"]) == ["activity"] and events[2]["kata"]["activity"]["alert_type"] == "alerts"
    assert log.warnings("kata_alerts: oversized:") and log.warnings("kata_alerts: not_cef:")


def run_with_log(scenario):
    with recorded_log() as log:
        return asyncio.run(scenario(log))


# ------------------------------------------------------------------ spoofed alerts

@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_a_sender_outside_allowed_senders_triggers_nothing(protocol):
    port = free_port()

    async def scenario(log):
        results = []
        for allowed in (["10.9.9.9", "192.168.0.0/16"], ["127.0.0.0/8"]):
            queue = asyncio.Queue()
            args = {"host": HOST, "port": port, "protocol": protocol, "allowed_senders": allowed}
            log.messages[:] = []
            task = await started(ka.main(queue, args), log)
            try:
                message = alert_message(alert_id="from-127.0.0.1")
                if protocol == "udp":
                    await in_thread(send_udp, port, [message])
                else:
                    await in_thread(send_tcp, port, message + b"\n")
                if allowed == ["127.0.0.0/8"]:
                    events = await next_events(queue, 1)
                else:
                    await until(lambda: log.warnings("sender_not_allowed"))
                    events = []
                await no_more_events(queue)
                results.append((events, log.warnings("sender_not_allowed")))
            finally:
                await stopped(task)
        return results

    (refused, refused_warnings), (accepted, accepted_warnings) = run_with_log(scenario)
    assert refused == [] and len(refused_warnings) == 1 and "'127.0.0.1'" in refused_warnings[0]
    assert [event["kata"]["alert_id"] for event in accepted] == ["from-127.0.0.1"] and accepted_warnings == []


def test_tls_client_auth_refuses_untrusted_clients_and_plain_tcp(pki_paths):
    port = free_port()
    args = {"host": HOST, "port": port, "protocol": "tls", "certfile": pki_paths["server"],
            "keyfile": pki_paths["server_key"], "ca_certs": pki_paths["ca"], "client_auth": True}

    def try_send(data, tls):
        try:
            send_tcp(port, data, tls)
            return "sent"
        except (ssl.SSLError, OSError) as exc:
            return type(exc).__name__

    async def scenario(log):
        queue = asyncio.Queue()
        task = await started(ka.main(queue, args), log)
        try:
            untrusted = client_tls_context(pki_paths, "other_client", "other_client_key")
            no_cert = client_tls_context(pki_paths, cert=None)
            attempts = [
                await in_thread(try_send, alert_message(alert_id="untrusted") + b"\n", untrusted),
                await in_thread(try_send, alert_message(alert_id="no-cert") + b"\n", no_cert),
                await in_thread(try_send, alert_message(alert_id="plain-tcp") + b"\n", None),
            ]
            await asyncio.sleep(0.5)
            await in_thread(send_tcp, port, octet_frame(alert_message(alert_id="trusted")), client_tls_context(pki_paths))
            events = await next_events(queue, 1)
            await no_more_events(queue)
        finally:
            await stopped(task)
        return attempts, events

    attempts, events = run_with_log(scenario)
    assert [event["kata"]["alert_id"] for event in events] == ["trusted"], attempts


def test_tls_without_client_auth_is_warned_about(pki_paths):
    args = {"host": "0.0.0.0", "port": 6514, "protocol": "tls", "certfile": pki_paths["server"],
            "keyfile": pki_paths["server_key"]}
    assert "without client_auth" in ka.exposure_warning(ka.parse_args(args))
    assert ka.exposure_warning(ka.parse_args(dict(args, client_auth=True, ca_certs=pki_paths["ca"]))) is None


# ------------------------------------------------------------------ batches

def test_a_batch_window_sends_the_first_alert_at_once_and_groups_the_burst_behind_it():
    port = free_port()

    async def scenario(log):
        queue = asyncio.Queue()
        task = await started(ka.main(queue, {"host": HOST, "port": port, "batch_window": 0.5,
                                             "heartbeats": "true"}), log)
        try:
            burst = b"".join(alert_message(host="WS-%d" % (index % 3), alert_id=str(index),
                                           digest=SHA256 if index % 2 else MD5,
                                           severity=("Low", "High")[index == 4]) + b"\n" for index in range(6))
            started_at = time.monotonic()
            await in_thread(send_tcp, port, burst + heartbeat_message() + b"\n")
            events = await next_events(queue, 3)
            waited = time.monotonic() - started_at
            await no_more_events(queue)
        finally:
            await stopped(task)
        return events, waited

    events, waited = run_with_log(scenario)
    first = events[0]["kata_batch"]   # leading edge: the first alert does not wait for the window
    assert first["alerts"] == 1 and [host["host"] for host in first["hosts"]] == ["WS-0"]
    assert events[1]["kata"]["heartbeat"] is True  # never batched
    batch = events[2]["kata_batch"]
    assert batch["alerts"] == 5 and batch["window"] == 0.5 and batch["hashes"] == [SHA256, MD5]
    assert [(host["host"], [alert["alert_id"] for alert in host["alerts"]], host["max_severity"])
            for host in batch["hosts"]] == [("WS-1", ["1", "4"], "High"), ("WS-2", ["2", "5"], "Low"),
                                            ("WS-0", ["3"], "Low")]
    assert 0.4 <= waited < 15


def test_a_storm_becomes_few_batches_as_the_window_doubles():
    """40 alerts over 2 s with a 0.2 s window: fixed windows would make 10 or more batches; doubling windows
    (0.2, 0.4, 0.8, 1.6 s) make about 5. Every alert arrives exactly once."""
    port = free_port()

    def trickle():
        with socket.create_connection((HOST, port), timeout=10) as sock:
            for index in range(40):
                sock.sendall(alert_message(host="WS-%d" % index, alert_id=str(index)) + b"\n")
                time.sleep(0.05)

    async def scenario(log):
        queue = asyncio.Queue()
        task = await started(ka.main(queue, {"host": HOST, "port": port, "batch_window": 0.2}), log)
        try:
            await in_thread(trickle)
            events = []
            while sum(event["kata_batch"]["alerts"] for event in events) < 40:
                events.append(await asyncio.wait_for(queue.get(), 10))
            await no_more_events(queue)
        finally:
            await stopped(task)
        return events

    events = run_with_log(scenario)
    ids = [alert["alert_id"] for event in events for host in event["kata_batch"]["hosts"] for alert in host["alerts"]]
    assert sorted(ids, key=int) == [str(index) for index in range(40)]
    assert events[0]["kata_batch"]["alerts"] == 1
    assert len(events) <= 7, [event["kata_batch"]["alerts"] for event in events]


# ------------------------------------------------------------------ the real engine

RULEBOOK = os.path.join(REPO_ROOT, "tests", "e2e", "eda", "kata_alerts_rulebook.yml")


def rulebook_for(tmp_path, source_name):
    """The test rulebook with its source named ``source_name``."""
    with open(RULEBOOK) as handle:
        text = handle.read()
    assert "    - kata_alerts:\n" in text
    path = tmp_path / "rulebook.yml"
    path.write_text(text.replace("    - kata_alerts:\n", "    - %s:\n" % source_name))
    return str(path)


@pytest.mark.toolchain
@pytest.mark.parametrize("loaded_as", ["checkout", "collection"])
def test_the_source_in_the_real_ansible_rulebook(tmp_path, collections_root, loaded_as):
    """From a checkout (``-S`` and the short name) and from the collection (its FQCN, no ``-S``)."""
    from tests.e2e.eda.engine import BIN, AuditServer, java_home, rulebook_command  # pylint: disable=import-outside-toplevel
    port = free_port()
    (tmp_path / "vars.yml").write_text("kata_alerts_port: %d\n" % port)
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    env = dict(os.environ, JAVA_HOME=java_home(), PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_HOME=str(tmp_path / "ansible_home"))
    if loaded_as == "checkout":
        source_args = ["--rulebook", RULEBOOK, "--source-dir", SOURCE_DIR]
    else:
        source_args = ["--rulebook", rulebook_for(tmp_path, "kaspersky.edr.kata_alerts")]
    audit = AuditServer()
    try:
        with open(str(tmp_path / "out"), "w+") as out:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [rulebook_command()] + source_args + ["--inventory", str(tmp_path / "inventory.yml"),
                                                      "--vars", str(tmp_path / "vars.yml"), "--websocket-url", audit.url],
                env=env, cwd=str(tmp_path), stdout=out, stderr=subprocess.STDOUT)
            try:
                try:
                    wait_for_tcp(port, timeout=120, alive=lambda: proc.poll() is None)
                except OSError:
                    pass  # the engine ended: its output below says why
                send_tcp(port, alert_message(alert_id="engine-1", host="WS-ENGINE") + b"\n")
                deadline = time.monotonic() + 120
                while not audit.actions() and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
            finally:
                proc.kill()
                proc.wait()
            out.seek(0)
            output = out.read()
        actions = audit.actions()
    finally:
        audit.close()
    assert actions, output[-5000:]
    action = actions[0]
    assert (action["rule"], action["action"], action["status"]) == ("A KATA alert", "debug", "successful"), action
    kata = action["matching_events"]["m"]["kata"]
    assert (kata["alert_id"], kata["host"], kata["hashes"], kata["severity"]) == ("engine-1", "WS-ENGINE", [MD5], "High")


def test_a_full_batch_goes_out_early_and_an_open_batch_at_shutdown():
    port = free_port()

    async def scenario(log):
        queue = asyncio.Queue()
        task = await started(ka.main(queue, {"host": HOST, "port": port, "batch_window": 600,
                                             "batch_max_alerts": 3}), log)
        try:
            burst = b"".join(alert_message(alert_id=str(index)) + b"\n" for index in range(5))
            await in_thread(send_tcp, port, burst)
            early = await next_events(queue, 2, timeout=10)
            await no_more_events(queue)
        finally:
            await stopped(task)
        return early + [queue.get_nowait() for _event in range(queue.qsize())]

    first, full, at_shutdown = run_with_log(scenario)
    assert [alert["alert_id"] for alert in first["kata_batch"]["hosts"][0]["alerts"]] == ["0"]
    assert full["kata_batch"]["alerts"] == 3
    assert [alert["alert_id"] for alert in at_shutdown["kata_batch"]["hosts"][0]["alerts"]] == ["4"]
