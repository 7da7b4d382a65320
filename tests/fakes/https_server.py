# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real threaded HTTPS/1.1 server for the fakes: TLS, keep-alive, request log, faults.

Product fakes subclass :class:`FakeHttpsServer` and implement ``handle_api(request)``.
The base class records every TLS connection (so tests can count handshakes), logs every
API request, injects faults (status codes, ``Retry-After``, latency, dropped connections,
garbled bodies) and serves a small control API under ``/_fake/`` for people and demos.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import json
import re
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Request:
    def __init__(self, method, raw_path, headers, body, conn_id, peer_cert):
        parts = urlsplit(raw_path)
        self.method = method
        self.raw_path = raw_path
        self.path = parts.path
        self.query_string = parts.query
        self.query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body
        self.conn_id = conn_id
        self.peer_cert = peer_cert
        self.json = None
        self.json_error = None
        if body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except ValueError as exc:
                self.json_error = str(exc)


class Response:
    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def payload(self):
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        self.headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode("utf-8")


def json_error(status, message, **extra):
    body = {"message": message}
    body.update(extra)
    return Response(status, body)


class Fault:
    """One injected fault; matches a method and a path regex, fires ``times`` times."""

    ACTIONS = ("drop_before", "drop_after", "truncate", "garbage", "empty")

    def __init__(self, method=None, path=None, status=None, retry_after=None, body=None, action=None,
                 delay=None, times=1, headers=None):
        if action is not None and action not in self.ACTIONS:
            raise ValueError("unknown fault action %r" % action)
        self.method = method.upper() if method else None
        self.path = re.compile(path) if path else None
        self.status = status
        self.retry_after = retry_after
        self.body = body
        self.action = action
        self.delay = delay
        self.times = times
        self.headers = headers or {}
        self.fired = 0

    def matches(self, request):
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method and request.method != self.method:
            return False
        if self.path and not self.path.search(request.path + ("?" + request.query_string if request.query_string
                                                              else "")):
            return False
        return True

    def to_dict(self):
        return {"method": self.method, "path": self.path.pattern if self.path else None, "status": self.status,
                "action": self.action, "times": self.times, "fired": self.fired}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeKasperskyAPI/1.0"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.fake.verbose:
            BaseHTTPRequestHandler.log_message(self, format, *args)

    def _dispatch(self):
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        conn_id = getattr(self.connection, "fake_conn_id", None)
        peer = None
        try:
            peer = self.connection.getpeercert()
        except (AttributeError, ValueError):
            peer = None
        if self.path.startswith("/_fake/"):
            body = self.rfile.read(length) if length else b""
            request = Request(self.command, self.path, self.headers, body, conn_id, peer)
            self._send(fake.handle_control(request))
            return
        fault = fake.take_fault(self.command, self.path)
        if fault is not None and fault.action == "drop_before":
            fake.record(Request(self.command, self.path, self.headers, b"", conn_id, peer), fault="drop_before")
            self.close_connection = True
            self._abort()
            return
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, self.headers, body, conn_id, peer)
        entry = fake.record(request, fault=fault.action if fault else None)
        if fake.latency:
            time.sleep(fake.latency)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            headers = dict(fault.headers)
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            response = Response(fault.status, fault.body if fault.body is not None
                                else {"message": "injected fault: HTTP %d" % fault.status}, headers)
            entry["status"] = response.status
            self._send(response)
            return
        with fake.state_lock:
            try:
                response = fake.handle_api(request)
            except Exception as exc:  # pylint: disable=broad-except
                response = json_error(500, "fake server error: %r" % exc)
        entry["status"] = response.status
        if fault is not None and fault.action == "drop_after":
            self.close_connection = True
            self._abort()
            return
        if fault is not None and fault.body is not None:
            # A body without a status: the request was processed, the answer says something unexpected.
            response.body = fault.body
        if fault is not None and fault.action in ("truncate", "garbage", "empty"):
            payload = response.payload()
            if fault.action == "truncate":
                response.body = payload[: max(1, len(payload) // 2)]
            elif fault.action == "garbage":
                response.body = b"<html><body>502 Bad Gateway from a proxy</body></html>"
                response.headers["Content-Type"] = "text/html"
            else:
                response.body = b""
        self._send(response)

    def _abort(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, response):
        payload = response.payload()
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _dispatch


class _TlsHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, fake):
        self.fake = fake
        ThreadingHTTPServer.__init__(self, address, _Handler)

    def finish_request(self, request, client_address):
        fake = self.fake
        conn_id = next(fake.conn_ids)
        try:
            # Headers and body go out in separate writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every keep-alive request.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            tls = fake.ssl_context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
            tls.settimeout(fake.handshake_timeout)
            tls.do_handshake()
            tls.settimeout(None)
            tls.fake_conn_id = conn_id
        except (ssl.SSLError, OSError) as exc:
            fake.record_connection(conn_id, ok=False, error=str(exc))
            return
        fake.record_connection(conn_id, ok=True, peer=_subject(tls))
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.fake.verbose:
            ThreadingHTTPServer.handle_error(self, request, client_address)


def _subject(tls):
    try:
        cert = tls.getpeercert()
    except ValueError:
        return None
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class FakeHttpsServer:
    """Base of the fakes. Subclasses implement ``handle_api`` and the state helpers."""

    def __init__(self, server_cert, server_key, client_ca=None, host="127.0.0.1", port=0, latency_ms=0,
                 verbose=False):
        self.host = host
        self.port = port
        self.verbose = verbose
        self.latency = latency_ms / 1000.0
        self.handshake_timeout = 10
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.load_cert_chain(server_cert, server_key)
        if client_ca:
            self.ssl_context.verify_mode = ssl.CERT_REQUIRED
            self.ssl_context.load_verify_locations(client_ca)
        self.state_lock = threading.RLock()
        self._log_lock = threading.Lock()
        self.conn_ids = itertools.count(1)
        self.requests = []
        self.connections = []
        self.faults = []
        self._httpd = None
        self._thread = None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self):
        self._httpd = _TlsHttpServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-https", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        return "https://%s:%d" % (self.host, self.port)

    # ---- log ---------------------------------------------------------------------------
    def record(self, request, fault=None):
        """Log a request on arrival; the handler fills in ``status`` once it is known."""
        entry = {"conn": request.conn_id, "method": request.method, "path": request.path,
                 "query": dict(request.query), "json": request.json, "status": None, "fault": fault,
                 "time": time.time(), "raw_path": request.raw_path}
        with self._log_lock:
            self.requests.append(entry)
        return entry

    def record_connection(self, conn_id, ok, peer=None, error=None):
        with self._log_lock:
            self.connections.append({"conn": conn_id, "ok": ok, "peer": peer, "error": error, "time": time.time()})

    def clear_log(self):
        with self._log_lock:
            self.requests = []
            self.connections = []

    def log(self, method=None, path=None):
        """Logged requests, optionally filtered by method and a path regex."""
        with self._log_lock:
            entries = list(self.requests)
        pattern = re.compile(path) if path else None
        return [entry for entry in entries
                if (method is None or entry["method"] == method.upper())
                and (pattern is None or pattern.search(entry["path"]))]

    def writes(self):
        return [entry for entry in self.log() if entry["method"] in ("POST", "PUT", "PATCH", "DELETE")]

    def handshakes(self):
        with self._log_lock:
            return [conn for conn in self.connections if conn["ok"]]

    # ---- faults ------------------------------------------------------------------------
    def add_fault(self, **kwargs):
        fault = Fault(**kwargs)
        with self._log_lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self):
        with self._log_lock:
            self.faults = []

    def take_fault(self, method, raw_path):
        probe = Request(method, raw_path, {}, b"", None, None)
        with self._log_lock:
            for fault in self.faults:
                if fault.matches(probe):
                    fault.fired += 1
                    return fault
        return None

    # ---- control API -------------------------------------------------------------------
    def handle_control(self, request):
        name = request.path[len("/_fake/"):].strip("/")
        if name == "log" and request.method == "GET":
            return Response(200, {"requests": self.log(), "connections": list(self.connections)})
        if name == "log" and request.method == "DELETE":
            self.clear_log()
            return Response(200, {})
        if name == "faults" and request.method == "POST":
            try:
                self.add_fault(**(request.json or {}))
            except (TypeError, ValueError, re.error) as exc:
                return json_error(400, str(exc))
            return Response(200, {"faults": [fault.to_dict() for fault in self.faults]})
        if name == "faults" and request.method == "DELETE":
            self.clear_faults()
            return Response(200, {})
        if name == "state" and request.method == "GET":
            with self.state_lock:
                return Response(200, self.dump_state())
        if name == "state" and request.method == "POST":
            with self.state_lock:
                try:
                    self.load_state(request.json or {})
                except (TypeError, ValueError, KeyError) as exc:
                    return json_error(400, "bad state: %s" % exc)
                return Response(200, self.dump_state())
        return json_error(404, "unknown control endpoint %s %s" % (request.method, request.path))

    # ---- subclass API ------------------------------------------------------------------
    def handle_api(self, request):
        raise NotImplementedError

    def dump_state(self):
        raise NotImplementedError

    def load_state(self, state):
        raise NotImplementedError
