# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal automation controller (AWX) API for ansible-rulebook's ``run_job_template``.

Serves the job templates of docs/awx/job_templates (their names, organization ``Default``,
``ask_variables_on_launch`` as defined there) under the legacy ``/api/v2/`` paths
ansible-rulebook uses, records every launch (template name and request body) and reports each
job ``successful`` on the first poll. Plain HTTP on 127.0.0.1.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
JOB_TEMPLATES = os.path.join(REPO_ROOT, "docs", "awx", "job_templates")
ORGANIZATION = "Default"
TOKEN = "fake-controller-token"


def job_templates():
    templates = []
    for index, name in enumerate(sorted(os.listdir(JOB_TEMPLATES)), start=1):
        with open(os.path.join(JOB_TEMPLATES, name)) as handle:
            definition = yaml.safe_load(handle)
        templates.append({
            "id": index, "type": "job_template", "name": definition["name"],
            "summary_fields": {"organization": {"id": 1, "name": ORGANIZATION}},
            "related": {"launch": "/api/v2/job_templates/%d/launch/" % index},
            "ask_limit_on_launch": False, "ask_labels_on_launch": False, "ask_inventory_on_launch": False,
            "ask_variables_on_launch": bool(definition.get("ask_variables_on_launch", False)),
        })
    return templates


class FakeController:
    def __init__(self):
        self.templates = job_templates()
        self.launches = []
        self.lock = threading.Lock()
        controller = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def authorized(self):
                if self.headers.get("Authorization") != "Bearer %s" % TOKEN:
                    self.reply(401, {"detail": "Authentication credentials were not provided."})
                    return False
                return True

            def do_GET(self):  # pylint: disable=invalid-name
                if not self.authorized():
                    return
                url = urlsplit(self.path)
                query = dict((key, values[0]) for key, values in parse_qs(url.query).items())
                if url.path == "/api/v2/config/":
                    return self.reply(200, {"version": "24.6.1"})
                if url.path == "/api/v2/unified_job_templates/":
                    found = [jt for jt in controller.templates if jt["name"] == query.get("name")]
                    return self.reply(200, {"count": len(found), "next": None, "results": found})
                if url.path == "/api/v2/jobs/":
                    ids = [int(job_id) for job_id in query.get("id__in", "").split(",") if job_id]
                    return self.reply(200, {"count": len(ids), "next": None, "results": [
                        {"id": job_id, "status": "successful", "created": "2026-01-01T00:00:00Z", "artifacts": {},
                         "url": "/api/v2/jobs/%d/" % job_id} for job_id in ids]})
                return self.reply(404, {"detail": "Not found."})

            def do_POST(self):  # pylint: disable=invalid-name
                if not self.authorized():
                    return
                match = re.match(r"^/api/v2/job_templates/(\d+)/launch/$", urlsplit(self.path).path)
                template = [jt for jt in controller.templates if match and jt["id"] == int(match.group(1))]
                if not template:
                    return self.reply(404, {"detail": "Not found."})
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with controller.lock:
                    controller.launches.append({"template": template[0]["name"], "body": body})
                    job_id = len(controller.launches)
                return self.reply(201, {"id": job_id, "job": job_id, "url": "/api/v2/jobs/%d/" % job_id,
                                        "status": "pending"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
