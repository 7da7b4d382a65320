# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throughput of the kata_alerts parser on one core: ``python -m tests.perf.alerts_parser_bench``.

Times framing (StreamFramer, newline and octet counting mixed) plus parse_message (syslog header,
CEF header, extension with unescaping, hashes, time, the event's fields) over realistic KATA
alerts: the documented file_web key set of about 1 KB with RFC 5424 and RFC 3164 headers, short
alerts, and a few heartbeats and activity records. Prints messages per second of CPU time of this
process (one core; ``time.process_time``, so other jobs on a shared machine do not count against
it) and of wall-clock time, best of N rounds. The target is 20,000 messages/s of CPU time or more.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import time

from tests.kata_alerts_samples import (activity_message, alert_message, cef, heartbeat_message, kata_alerts,
                                       octet_frame, rfc3164, rfc5424)

TARGET = 20000


def sample_messages():
    """A mix of what a Central Node sends: mostly full file_web alerts."""
    full_5424 = rfc5424(cef()).encode()
    full_3164 = rfc3164(cef(severity="Medium")).encode()
    short = [alert_message(host="WS-%03d" % index, alert_id=str(index)) for index in range(8)]
    return [full_5424, full_3164] * 8 + short + [heartbeat_message(), activity_message()]


def stream_of(messages, repeat):
    chunks = []
    for index, message in enumerate(messages * repeat):
        chunks.append(octet_frame(message) if index % 2 else message + b"\n")
    data = b"".join(chunks)
    return [data[start:start + 65536] for start in range(0, len(data), 65536)]


def run_once(chunks):
    framer = kata_alerts.StreamFramer(65536, lambda reason: None)
    parse = kata_alerts.parse_message
    count = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for chunk in chunks:
        for message in framer.feed(chunk):
            parse(message, "10.0.0.5")
            count += 1
    return count, time.process_time() - cpu, time.perf_counter() - wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=600, help="copies of the sample set per round")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)
    messages = sample_messages()
    chunks = stream_of(messages, options.repeat)
    size = sum(len(message) for message in messages) / len(messages)
    best_cpu = best_wall = 0.0
    for _round in range(options.rounds):
        count, cpu, wall = run_once(chunks)
        best_cpu = max(best_cpu, count / cpu)
        best_wall = max(best_wall, count / wall)
    print("kata_alerts parser: %d messages of %.0f bytes on average, best of %d rounds: %.0f messages/s of CPU "
          "time on one core (%.0f messages/s wall clock); target %d: %s"
          % (count, size, options.rounds, best_cpu, best_wall, TARGET, "met" if best_cpu >= TARGET else "NOT MET"))
    return 0 if best_cpu >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
