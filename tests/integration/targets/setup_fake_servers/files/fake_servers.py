# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start or stop the fake Central Node and the fake KSC for one integration target.

``start`` runs both fakes (``tests/fakes``) in one background process on 127.0.0.1 (free ports),
waits until both answer, prints their connection settings as JSON and returns. Their request logs are
also served as JSON over plain HTTP on 127.0.0.1 (``<log_url>kata``, ``<log_url>ksc``), so a playbook reads
them with ``lookup('ansible.builtin.url')`` in the controller process, without a client certificate. The background
process stops on ``stop``, on SIGTERM, when the ``ansible-playbook`` process that started it is
gone (so a failed or interrupted run leaves nothing behind), or after ``--max-lifetime`` seconds.

    python fake_servers.py start --state-dir DIR [--sensors 3] [--watch-pid PID]
    python fake_servers.py stop --state-dir DIR
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import errno
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time

INFO = "fake_servers.json"
LOG = "fake_servers.log"


def collection_root():
    """The checkout holding ``tests/fakes``: ansible-test runs a copy of this file from its temp dir inside it."""
    if os.environ.get("KASPERSKY_EDR_ROOT"):
        return os.path.abspath(os.environ["KASPERSKY_EDR_ROOT"])
    path = os.path.dirname(os.path.abspath(__file__))
    while True:
        if os.path.isfile(os.path.join(path, "tests", "fakes", "central_node.py")) and \
                os.path.isfile(os.path.join(path, "galaxy.yml")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            raise SystemExit("fake_servers: no tests/fakes above %s (set KASPERSKY_EDR_ROOT)" % __file__)
        path = parent


def import_fakes(root):
    """The fakes' modules, by their collection names when the checkout is ansible_collections/kaspersky/edr."""
    sys.path.insert(0, root)
    prefix = ""
    parts = root.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "kaspersky"]:
        sys.path.insert(0, os.sep.join(parts[:-3]) or os.sep)
        prefix = "ansible_collections.kaspersky.edr."
    modules = {}
    for name in ("pki", "central_node", "ksc_server"):
        try:
            modules[name] = __import__(prefix + "tests.fakes." + name, fromlist=["_"])
        except ImportError:
            modules[name] = __import__("tests.fakes." + name, fromlist=["_"])
    return modules


def parent_of(pid):
    """``(parent pid, argv)`` of a process, or ``(None, [])`` when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            stat = handle.read()
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            argv = [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
        return int(stat.rsplit(")", 1)[1].split()[1]), argv
    except (IOError, OSError, IndexError, ValueError):
        pass
    try:
        out = subprocess.check_output(["ps", "-o", "ppid=", "-o", "args=", "-p", str(pid)],
                                      universal_newlines=True).strip()
        ppid, dummy, args = out.partition(" ")
        return int(ppid), args.split()
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None, []


def playbook_pid():
    """The outermost ``ansible-playbook`` among this process's ancestors (its workers are forks of it), or None."""
    found = None
    pid = os.getppid()
    for dummy in range(64):
        if pid is None or pid <= 1:
            break
        ppid, argv = parent_of(pid)
        if any(os.path.basename(arg) == "ansible-playbook" for arg in argv[:3]):
            found = pid
        pid = ppid
    return found


def alive(pid):
    """True while the process runs; a zombie (not yet reaped, as under a container's minimal init) is gone."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (IOError, OSError, IndexError):
        return True


def answers(url, context):
    """True when a control request over HTTPS gets an answer."""
    import urllib.request
    try:
        with urllib.request.urlopen(url + "/_fake/log", context=context, timeout=5) as response:
            return response.status == 200
    except (IOError, OSError, ValueError):
        return False


def serve_logs(fakes_by_name):
    """A plain HTTP server on 127.0.0.1 answering ``GET /<name>`` with that fake's request log."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            fake = fakes_by_name.get(self.path.strip("/"))
            body = json.dumps(fake.log() if fake else {"error": "unknown fake"}).encode("utf-8")
            self.send_response(200 if fake else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fake-logs", daemon=True).start()
    return server


def serve(args, fakes, watch_pid):
    pki = fakes["pki"].generate(os.path.join(args.state_dir, "pki"))
    kata = fakes["central_node"].FakeCentralNode(pki, sensors=args.sensors,
                                                 task_completion_seconds=args.task_completion_seconds)
    ksc = fakes["ksc_server"].FakeKscServer(pki)
    kata.start()
    ksc.start()
    client = ssl.create_default_context(cafile=pki["ca"])
    client.load_cert_chain(pki["client"], pki["client_key"])
    deadline = time.time() + 30
    while not (answers(kata.url, client) and answers(ksc.url, client)):
        if time.time() > deadline:
            raise SystemExit("fake_servers: the fakes do not answer")
        time.sleep(0.1)
    logs = serve_logs({"kata": kata, "ksc": ksc})
    stopping = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    info = {
        "pid": os.getpid(), "watch_pid": watch_pid, "state_dir": args.state_dir,
        "log_url": "http://127.0.0.1:%d/" % logs.server_address[1],
        "kata": {"kata_host": kata.host, "kata_port": kata.port,
                 "external_system_id": sorted(kata.external_system_ids)[0], "client_cert": pki["client"],
                 "client_key": pki["client_key"], "ca_path": pki["ca"], "control": kata.url + "/_fake/",
                 "sensors": kata.sensors},
        "ksc": {"ksc_host": ksc.host, "ksc_port": ksc.port, "ksc_username": fakes["ksc_server"].DEFAULT_USER,
                "ksc_password": fakes["ksc_server"].DEFAULT_PASSWORD, "ca_path": pki["ca"],
                "control": ksc.url + "/_fake/",
                "hosts": [dict((key, host[key]) for key in ("KLHST_WKS_HOSTNAME", "KLHST_WKS_DN", "KLHST_WKS_FQDN"))
                          for host in ksc.hosts if not host.get("vserver")]},
        "pki": dict(pki, client_key_passphrase=fakes["pki"].CLIENT_KEY_PASSPHRASE),
    }
    path = os.path.join(args.state_dir, INFO)
    with open(path + ".tmp", "w") as handle:
        json.dump(info, handle, indent=1)
    os.rename(path + ".tmp", path)
    ends = time.time() + args.max_lifetime
    reason = "max lifetime"
    while time.time() < ends:
        if stopping:
            reason = "SIGTERM"
            break
        if watch_pid and not alive(watch_pid):
            reason = "ansible-playbook %d is gone" % watch_pid
            break
        time.sleep(0.2)
    # No shutdown() of the servers (each waits for its loop's next poll): the caller exits the process at once,
    # which closes every socket; the connection info goes first, so `stop` returns when the process is gone.
    print("fake_servers: stopping (%s)" % reason)
    try:
        os.remove(path)
    except OSError:
        pass


def start(args):
    args.state_dir = os.path.abspath(args.state_dir)
    if not os.path.isdir(args.state_dir):
        os.makedirs(args.state_dir)
    info_path = os.path.join(args.state_dir, INFO)
    if os.path.exists(info_path):
        stop(args)
    fakes = import_fakes(collection_root())
    watch_pid = args.watch_pid or playbook_pid()
    log_path = os.path.join(args.state_dir, LOG)
    child = os.fork()
    if child == 0:
        # The background process: off the caller's session and pipes (the command module waits for them).
        os.setsid()
        with open(os.devnull) as devnull, open(log_path, "a") as log:
            os.dup2(devnull.fileno(), 0)
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        code = 0
        try:
            serve(args, fakes, watch_pid)
        except SystemExit as exc:
            print(exc)
            code = 1
        except Exception:  # pylint: disable=broad-except
            import traceback
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        os._exit(code)  # pylint: disable=protected-access
    deadline = time.time() + 60
    while not os.path.exists(info_path):
        done, dummy = os.waitpid(child, os.WNOHANG)
        if done or time.time() > deadline:
            with open(log_path) as handle:
                sys.stderr.write(handle.read())
            if not done:
                os.kill(child, signal.SIGTERM)
            return 1
        time.sleep(0.05)
    with open(info_path) as handle:
        sys.stdout.write(handle.read())
    return 0


def stop(args):
    info_path = os.path.join(os.path.abspath(args.state_dir), INFO)
    try:
        with open(info_path) as handle:
            pid = json.load(handle)["pid"]
    except (IOError, OSError, ValueError, KeyError):
        print(json.dumps({"stopped": None}))
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
    deadline = time.time() + 15
    while alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    if os.path.exists(info_path):
        os.remove(info_path)
    print(json.dumps({"stopped": pid}))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=("start", "stop"))
    parser.add_argument("--state-dir", required=True, help="PKI, connection info and log of the fakes")
    parser.add_argument("--sensors", type=int, default=3, help="sensors of the fake Central Node")
    parser.add_argument("--task-completion-seconds", type=float, default=1.0,
                        help="after how long a run_process task that started at once shows completed")
    parser.add_argument("--watch-pid", type=int, help="stop when this process is gone (default: ansible-playbook)")
    parser.add_argument("--max-lifetime", type=float, default=900, help="stop after this many seconds")
    args = parser.parse_args(argv)
    return start(args) if args.command == "start" else stop(args)


if __name__ == "__main__":
    sys.exit(main())
