# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send syslog messages as a Central Node would, from a process of its own (tests and the alert benchmark).

    python -m tests.e2e.eda.syslog_sender --protocol tcp|udp|tls --port N [--cert C --key K --ca CA]
        [--gap SECONDS] [--stamp FILE] MESSAGES_JSON

TCP and TLS send each message newline-framed on one connection; UDP one datagram per message. ``--gap``
waits between messages. ``--stamp`` writes, per message, the time.time() right after its last byte was
written to the socket (the benchmark's start of the clock).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import socket
import ssl
import sys
import time


def connect(protocol, host, port, cert=None, key=None, ca=None):
    if protocol == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((host, port))
        return sock
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if protocol == "tls":
        context = ssl.create_default_context(cafile=ca)
        if cert:
            context.load_cert_chain(cert, key)
        sock = context.wrap_socket(sock, server_hostname=host)
    return sock


def send(protocol, host, port, messages, gap=0.0, cert=None, key=None, ca=None):
    """Send ``messages`` (text); return the time after each one's last byte went out."""
    stamps = []
    sock = connect(protocol, host, port, cert, key, ca)
    try:
        for index, message in enumerate(messages):
            if index and gap:
                time.sleep(gap)
            data = message.encode("utf-8")
            if protocol == "udp":
                sock.send(data)
            else:
                sock.sendall(data + b"\n")
            stamps.append(time.time())
        if protocol != "udp":
            time.sleep(0.2)  # let the receiver read before the close
    finally:
        sock.close()
    return stamps


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol", choices=("tcp", "udp", "tls"), default="tcp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ca")
    parser.add_argument("--gap", type=float, default=0.0)
    parser.add_argument("--stamp")
    parser.add_argument("messages")
    args = parser.parse_args(argv)
    with open(args.messages) as handle:
        messages = json.load(handle)
    stamps = send(args.protocol, args.host, args.port, messages, args.gap, args.cert, args.key, args.ca)
    if args.stamp:
        with open(args.stamp, "w") as handle:
            json.dump(stamps, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
