# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``kaspersky.edr.alert_plan`` filter: what playbooks/alert_response.yml does with KATA alerts.

Documentation: alert_plan.yml beside this file. The input comes from whoever can reach the syslog
port, so only values that pass a strict check (host names, IP addresses, hashes, severities) are
copied into the plan; everything else is counted and shown with its unsafe characters replaced, so no
Jinja2 template from an alert ever reaches a variable the playbook renders.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re

from ansible.errors import AnsibleFilterError

SEVERITIES = ("Low", "Medium", "High")
HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
HASH_RE = re.compile(r"^([0-9a-f]{32}|[0-9a-f]{64})$")
SHOWN_RE = re.compile(r"[^A-Za-z0-9._:-]")


def shown(value, limit=64):
    """A value from an alert made safe to print: unsafe characters become ``?``, long values are cut."""
    text = SHOWN_RE.sub("?", str(value))
    return text if len(text) <= limit else text[:limit] + "..."


def clean_host(value):
    return value if isinstance(value, str) and HOST_RE.match(value) else None


def clean_ip(value):
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def clean_severity(value):
    text = str(value).strip().capitalize() if isinstance(value, (str, int)) else ""
    return text if text in SEVERITIES else None


def clean_hashes(values):
    """``(valid lower-case hashes without repeats, number dropped)``."""
    kept, dropped = [], 0
    for value in values if isinstance(values, list) else []:
        text = value.strip().lower() if isinstance(value, str) else ""
        if HASH_RE.match(text):
            if text not in kept:
                kept.append(text)
        else:
            dropped += 1
    return kept, dropped


def host_entries(event):
    """The alerted hosts of a ``{"kata": ...}`` or ``{"kata_batch": ...}`` event, each with its alerts."""
    if not isinstance(event, dict):
        raise AnsibleFilterError("alert_plan: the event must be a dict with the key kata or kata_batch")
    if isinstance(event.get("kata"), dict):
        alert = event["kata"]
        return [{"host": alert.get("host"), "source_ip": alert.get("source_ip"), "alerts": [alert]}]
    batch = event.get("kata_batch")
    if isinstance(batch, dict) and isinstance(batch.get("hosts"), list):
        return [entry for entry in batch["hosts"] if isinstance(entry, dict)]
    raise AnsibleFilterError("alert_plan: the event must be a dict with the key kata (one alert) or kata_batch "
                             "(a dict with a list of hosts)")


def alerts_of(entry):
    """``[(severity, hashes)]`` of a host entry; a batch entry without alerts uses its own fields."""
    alerts = [alert for alert in entry.get("alerts") or [] if isinstance(alert, dict)]
    if alerts:
        return [(alert.get("severity"), alert.get("hashes")) for alert in alerts]
    return [(entry.get("max_severity"), entry.get("hashes"))]


def as_list(value, name, split=False):
    """A list option, also as text (``--env-vars`` gives text): a JSON list, or comma-separated when ``split``."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise AnsibleFilterError("%s: %r is not a JSON list: %s" % (name, value, exc))
    if not text:
        return []
    return [item.strip() for item in text.split(",") if item.strip()] if split else [text]


def compile_protected(patterns):
    patterns = as_list(patterns, "protected_hosts")
    if patterns is None:
        return []
    if not isinstance(patterns, list):
        raise AnsibleFilterError("protected_hosts must be a list of regular expressions, got %r" % (patterns,))
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(str(pattern), re.IGNORECASE))
        except re.error as exc:
            raise AnsibleFilterError("protected_hosts: %r is not a regular expression: %s" % (pattern, exc))
    return compiled


def severity_list(name, values):
    values = as_list(list(values) if isinstance(values, tuple) else values, name, split=True)
    if not isinstance(values, list) or any(clean_severity(value) is None for value in values):
        raise AnsibleFilterError("%s must be a list of %s, got %r" % (name, ", ".join(SEVERITIES), values))
    return set(clean_severity(value) for value in values)


def sensor_ips(sensor):
    value = sensor.get("ip")
    values = value if isinstance(value, list) else [value]
    return [clean_ip(item) for item in values if clean_ip(item)]


def resolve(host, ip, sensors):
    """``(sensor, how, reason)``: the host by name (exact, as the API), else by IP; never a guess."""
    by_name = [sensor for sensor in sensors if host and sensor.get("hostname") == host]
    if len(by_name) == 1:
        return by_name[0], "name", None
    by_ip = [sensor for sensor in sensors if ip and ip in sensor_ips(sensor)]
    if by_name:
        # Several hosts have that name: the IP may pick one of them, never another host.
        by_ip = [sensor for sensor in by_ip if sensor in by_name]
    if len(by_ip) == 1:
        return by_ip[0], "ip", None
    if not host and not ip:
        return None, None, "the alert names no host and no IP address"
    if by_name or len(by_ip) > 1:
        return None, None, "%d Endpoint Agent hosts match" % max(len(by_name), len(by_ip))
    return None, None, "no Endpoint Agent host has this name%s" % (" or IP address" if ip else "")


def plan(event, sensors=None, protected_hosts=None, isolate_on=("High",), block_on=("High", "Medium")):
    """The response to ``event`` (see alert_plan.yml); ``sensors`` is None to only count what needs a host."""
    protected = compile_protected(protected_hosts)
    isolate_on = severity_list("isolate_on", isolate_on)
    block_on = severity_list("block_on", block_on)
    result = {"alerts": 0, "low_alerts": 0, "actionable": 0, "isolate": [], "protected": [], "ignored": [],
              "unresolved": [], "rejected": [], "block_groups": [], "dropped_hashes": 0}
    blocks = {}
    for entry in host_entries(event):
        alerts = alerts_of(entry)
        result["alerts"] += len(alerts)
        host, ip = clean_host(entry.get("host")), clean_ip(entry.get("source_ip"))
        severities, hashes = [], []
        for severity, alert_hashes in alerts:
            severity = clean_severity(severity)
            result["low_alerts"] += severity == "Low"
            severities.append(severity)
            if severity in block_on:
                kept, dropped = clean_hashes(alert_hashes)
                result["dropped_hashes"] += dropped
                hashes.extend(value for value in kept if value not in hashes)
        isolate = any(severity in isolate_on for severity in severities)
        label = host or ip
        if entry.get("host") not in (None, "") and host is None or entry.get("source_ip") not in (None, "") and \
                ip is None:
            result["rejected"].append({"host": shown(entry.get("host") or ""), "source_ip": shown(
                entry.get("source_ip") or ""), "reason": "not a plain host name or IP address"})
            continue
        worst = max((severity for severity in severities if severity), key=SEVERITIES.index, default=None)
        if not isolate and not hashes:
            result["ignored"].append({"host": label or "?", "severity": worst or "?"})
            continue
        result["actionable"] += 1
        if sensors is None:
            continue
        sensor, how, reason = resolve(host, ip, sensors)
        if sensor is None:
            result["unresolved"].append({"host": host, "source_ip": ip, "reason": reason})
            continue
        target = {"sensor_id": shown(sensor["sensor_id"], 128), "host": shown(sensor.get("hostname") or label, 253),
                  "resolved_by": how, "severity": worst}
        names = [name for name in (host, sensor.get("hostname")) if name]
        if isolate and any(pattern.search(name) for pattern in protected for name in names):
            result["protected"].append(target)
        elif isolate:
            result["isolate"].append(target)
        if hashes:
            known = blocks.setdefault(target["sensor_id"], (target, []))[1]
            known.extend(value for value in hashes if value not in known)
    # One prevention fleet run per distinct hash set: each host gets exactly its own alerts' hashes, in one write.
    groups = {}
    for target, hashes in blocks.values():
        groups.setdefault(tuple(sorted(hashes)), []).append(target)
    for hashes, targets in groups.items():
        result["block_groups"].append({"hashes": list(hashes), "sensors": [target["sensor_id"] for target in targets],
                                       "hosts": [target["host"] for target in targets]})
    seen = set()
    result["isolate"] = [target for target in result["isolate"]
                         if target["sensor_id"] not in seen and not seen.add(target["sensor_id"])]
    return result


def alert_plan(event, sensors=None, protected_hosts=None, isolate_on=None, block_on=None):
    return plan(event, sensors, protected_hosts, isolate_on if isolate_on is not None else ["High"],
                block_on if block_on is not None else ["High", "Medium"])


class FilterModule(object):
    def filters(self):
        return {"alert_plan": alert_plan}
