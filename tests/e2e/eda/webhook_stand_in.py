# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test stand-in for the ``ansible.eda.webhook`` event source (tests/e2e/test_eda_rulebook_engine.py).

The test copies this file to ``<dir>/ansible.eda.webhook.py`` and runs ``ansible-rulebook -S <dir>``:
for a source named ``ansible.eda.webhook`` ansible-rulebook loads ``<source dir>/ansible.eda.webhook.py``
before it looks for the ansible.eda collection, so the rulebook runs unchanged.

Instead of listening on a port, it delivers the alerts listed in the JSON file named by
``EDA_TEST_ALERTS`` (a list of ``{"token": ..., "payload": ...}``), as the real webhook would deliver
them: only with the right bearer token, shaped ``{"payload": <body>, "meta": {"endpoint": ...,
"headers": {...}}}``. Each alert carries its index in the ``X-Test-Alert`` header. It then waits until
the file named by ``EDA_TEST_STOP`` exists and returns, which shuts the rulebook down.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import json
import os

# The arguments ansible.eda.webhook takes (anything else is a typo in the rulebook).
WEBHOOK_ARGS = {"host", "port", "token", "certfile", "keyfile", "password", "cafile", "hmac_secret",
                "hmac_algo", "hmac_header", "hmac_format", "eda_feedback_queue"}


async def main(queue, args):
    unknown = set(args) - WEBHOOK_ARGS
    if unknown:
        raise ValueError("ansible.eda.webhook does not take %s" % ", ".join(sorted(unknown)))
    if "host" not in args or "port" not in args:
        raise ValueError("ansible.eda.webhook needs host and port")
    int(args["port"])
    with open(os.environ["EDA_TEST_ALERTS"]) as handle:
        alerts = json.load(handle)
    for index, alert in enumerate(alerts):
        headers = {"Content-Type": "application/json", "X-Test-Alert": str(index)}
        if args.get("token") is not None:
            # The webhook answers 401 and delivers nothing when the bearer token is wrong.
            if alert.get("token") != args["token"]:
                continue
            headers["Authorization"] = "Bearer %s" % alert["token"]
        await queue.put({"payload": alert["payload"], "meta": {"endpoint": "endpoint", "headers": headers}})
    stop = os.environ["EDA_TEST_STOP"]
    while not os.path.exists(stop):
        await asyncio.sleep(0.1)
