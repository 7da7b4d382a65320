# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Syslog senders for the kata_alerts tests (blocking sockets, 127.0.0.1 only).

Run as a program it is the hostile sender of the flood test, in its own process:
``python -m tests.e2e.kata_syslog flood PORT CONNECTIONS`` opens CONNECTIONS connections and holds
them open until its standard input closes, printing ``open N`` once they are made.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl
import sys
import time

HOST = "127.0.0.1"


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_tcp(port, timeout=10.0, alive=lambda: True):
    """Wait until something listens on ``port``; give up early when ``alive()`` turns false."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or not alive():
                raise
            time.sleep(0.05)


def client_tls_context(pki, cert="client", key="client_key"):
    context = ssl.create_default_context(cafile=pki["ca"])
    if cert:
        context.load_cert_chain(pki[cert], pki[key])
    return context


def send_tcp(port, data, tls=None, chunk=None, pause=0.0):
    """Send ``data`` over one connection (in ``chunk``-byte writes when given) and close it."""
    with socket.create_connection((HOST, port), timeout=10) as raw:
        sock = tls.wrap_socket(raw, server_hostname="localhost") if tls else raw
        if chunk:
            for start in range(0, len(data), chunk):
                sock.sendall(data[start:start + chunk])
                if pause:
                    time.sleep(pause)
        else:
            sock.sendall(data)
        sock.close()


def send_udp(port, datagrams):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, (HOST, port))
            time.sleep(0.001)  # do not overrun the receive buffer on a busy machine


def flood(port, connections):
    held = []
    for _attempt in range(connections):
        try:
            held.append(socket.create_connection((HOST, port), timeout=10))
        except OSError:
            pass
    print("open %d" % len(held), flush=True)
    sys.stdin.read()
    for sock in held:
        sock.close()


if __name__ == "__main__":
    if sys.argv[1] == "flood":
        flood(int(sys.argv[2]), int(sys.argv[3]))
