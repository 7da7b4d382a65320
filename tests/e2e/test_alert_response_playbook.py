# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/alert_response.yml with event files against the fake Central Node (no rulebook engine).

Every assertion about what was done comes from the fake's request log: which isolation and prevention
settings were written, for which sensor, and how many module runs the reads and writes came from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import urllib.parse

import pytest

from tests.conftest import REPO_ROOT

PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "alert_response.yml")
MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
OTHER_MD5 = "0123456789abcdef0123456789abcdef"


def alert(severity, host=None, ip=None, hashes=(MD5,)):
    kata = {"alert_type": "file_web", "name": "File from web detected", "severity": severity,
            "hashes": list(hashes), "product": "Kaspersky Anti Targeted Attack Platform"}
    if host:
        kata["host"] = host
    if ip:
        kata["source_ip"] = ip
    return kata


def batch(*alerts):
    hosts = {}
    for kata in alerts:
        entry = hosts.setdefault(kata.get("host") or kata.get("source_ip"), {"alerts": [], "hashes": []})
        for key in ("host", "source_ip"):
            if key in kata:
                entry[key] = kata[key]
        entry["alerts"].append(kata)
        entry["hashes"] += [value for value in kata["hashes"] if value not in entry["hashes"]]
    return {"kata_batch": {"hosts": list(hosts.values()), "alerts": len(alerts), "window": 2,
                           "hashes": sorted(set(value for kata in alerts for value in kata["hashes"]))}}


@pytest.fixture
def respond(run_playbook, tmp_path):
    """Run the playbook with an event (written to a file, as -e @event.json) and policy extra vars."""
    state = str(tmp_path / "guard" / "isolation_guard.json")

    def run(event, check=False, **policy):
        event_file = tmp_path / "event.json"
        event_file.write_text(json.dumps(event))
        extra_vars = {"isolation_guard_state": state}
        extra_vars.update(policy)
        result = run_playbook(playbook=PLAYBOOK, extra_vars=extra_vars, check=check,
                              args=["-e", "@%s" % event_file])
        assert result.rc == 0, result
        return result

    run.state = state
    return run


def sensors(central_node):
    return [(sensor["host"], sensor["ip"], sensor["sensorId"]) for sensor in central_node.sensors]


def writes(central_node, settings_type):
    return [(entry["method"], entry["query"]["sensor_id"]) for entry in central_node.writes()
            if entry["query"].get("settings_type") == settings_type]


def report(result):
    return result.result("Report the response")["msg"]


def test_high_alert_isolates_and_blocks(respond, central_node):
    (ws1, _ip1, id1), _second, _third = sensors(central_node)
    result = respond({"kata": alert("High", ws1, hashes=[MD5, SHA256])}, isolation_hours=8)
    assert writes(central_node, "network_isolation") == [("POST", id1)]
    assert writes(central_node, "prevention") == [("POST", id1)]
    assert central_node.get_isolation(id1)["autoTurnoffTimeoutInSec"] == 8 * 3600
    assert sorted(list(obj["file"].values())[0] for obj in central_node.get_prevention(id1)) == sorted([MD5, SHA256])
    assert "Isolated for 8 h: %s" % ws1 in report(result)


def test_medium_alert_blocks_only(respond, central_node):
    (ws1, _ip1, id1), _second, _third = sensors(central_node)
    respond({"kata": alert("Medium", ws1)})
    assert writes(central_node, "network_isolation") == []
    assert writes(central_node, "prevention") == [("POST", id1)]


def test_low_alert_does_nothing_but_is_counted(respond, central_node):
    (ws1, _ip1, _id1), _second, _third = sensors(central_node)
    result = respond({"kata": alert("Low", ws1)})
    assert central_node.log() == []  # not even the host lookup
    assert report(result)[0].startswith("KATA alerts: 1 (1 Low), hosts to act on: 0")
    assert "Ignored (no action for their severity): %s" % ws1 in report(result)


def test_protected_host_is_blocked_never_isolated(respond, central_node):
    (ws1, _ip1, id1), (ws2, _ip2, id2), _third = sensors(central_node)
    result = respond(batch(alert("High", ws1), alert("High", ws2)), protected_hosts=["^ws-001\\."])
    assert writes(central_node, "network_isolation") == [("POST", id2)]
    assert sorted(writes(central_node, "prevention")) == sorted([("POST", id1), ("POST", id2)])
    assert "Protected, blocked but never isolated: %s" % ws1 in report(result)


def test_protected_host_found_by_ip_is_never_isolated(respond, central_node):
    """The regexes are matched against the Central Node's name of the host too, not only the alert's."""
    _first, (ws2, ip2, id2), _third = sensors(central_node)
    respond({"kata": alert("High", ip=ip2)}, protected_hosts=[ws2.replace(".", "\\.")])
    assert writes(central_node, "network_isolation") == []
    assert writes(central_node, "prevention") == [("POST", id2)]


def test_unresolvable_host_is_reported_and_the_others_go_on(respond, central_node):
    (ws1, _ip1, id1), _second, _third = sensors(central_node)
    result = respond(batch(alert("High", "WS-999.corp.example"), alert("High", ws1)))
    assert writes(central_node, "network_isolation") == [("POST", id1)]
    assert writes(central_node, "prevention") == [("POST", id1)]
    assert "Not found on the Central Node: WS-999.corp.example (no Endpoint Agent host has this name)" \
        in report(result)


def test_host_found_by_ip_when_the_name_is_unknown_or_missing(respond, central_node):
    _first, (_ws2, ip2, id2), (_ws3, ip3, id3) = sensors(central_node)
    respond(batch(alert("High", "ws-002", ip=ip2), alert("High", ip=ip3)))
    assert sorted(writes(central_node, "network_isolation")) == sorted([("POST", id2), ("POST", id3)])
    # One listing of the hosts for the whole run, none per alert.
    assert len(central_node.log("GET", r"/sensors$")) == 1


def test_blast_radius_guard_defers_the_isolation_past_the_budget(respond, central_node):
    (ws1, _ip1, id1), (ws2, _ip2, id2), (ws3, _ip3, id3) = sensors(central_node)
    respond(batch(alert("High", ws1), alert("High", ws2)), max_isolations_per_hour=2)
    assert sorted(writes(central_node, "network_isolation")) == sorted([("POST", id1), ("POST", id2)])
    central_node.clear_log()
    # A later run (another alert): the budget is used up, so the third host is left to a person,
    # but its hashes are still blocked; a host already isolated this hour does not count again.
    result = respond(batch(alert("High", ws3), alert("High", ws1, hashes=[OTHER_MD5])), max_isolations_per_hour=2)
    assert writes(central_node, "network_isolation") == []
    assert sorted(writes(central_node, "prevention")) == sorted([("POST", id3), ("POST", id1)])
    assert "For a person (max_isolations_per_hour=2 reached), not isolated: %s" % ws3 in report(result)
    assert "Already isolated: %s" % ws1 in report(result)
    with open(respond.state) as handle:
        assert sorted(entry["sensor_id"] for entry in json.load(handle)["isolations"]) == sorted([id1, id2])


def test_guard_counts_only_isolations_made(respond, central_node):
    (ws1, _ip1, id1), (ws2, _ip2, id2), _third = sensors(central_node)
    central_node.set_isolation(id1, {"autoTurnoffTimeoutInSec": 4 * 3600, "excludedRules": []})  # isolated by hand
    respond(batch(alert("High", ws1), alert("High", ws2)), check=True, max_isolations_per_hour=1)
    assert central_node.writes() == [] and not os.path.exists(respond.state)  # check mode: nothing recorded
    respond(batch(alert("High", ws1), alert("High", ws2)), max_isolations_per_hour=2)
    with open(respond.state) as handle:
        assert [entry["sensor_id"] for entry in json.load(handle)["isolations"]] == [id2]


def test_broken_guard_state_stops_isolation_but_not_the_hash_blocks(run_playbook, respond, central_node):
    (ws1, _ip1, id1), _second, _third = sensors(central_node)
    os.makedirs(os.path.dirname(respond.state))
    with open(respond.state, "w") as handle:
        handle.write("{broken")
    event = {"kata": alert("High", ws1)}
    result = run_playbook(playbook=PLAYBOOK, extra_vars={"isolation_guard_state": respond.state, "kata": event["kata"]})
    assert result.rc != 0
    assert writes(central_node, "network_isolation") == []
    assert writes(central_node, "prevention") == [("POST", id1)]
    assert any(line.startswith("Isolation FAILED") and respond.state in line for line in report(result))


def test_batch_is_one_isolation_run_and_one_prevention_run(respond, central_node):
    (ws1, _ip1, id1), (ws2, _ip2, id2), (ws3, _ip3, id3) = sensors(central_node)
    event = batch(alert("High", ws1), alert("High", ws2), alert("High", ws2), alert("High", ws3),
                  alert("Medium", ws3))
    result = respond(event)
    ids = sorted([id1, id2, id3])
    assert sorted(sensor for _method, sensor in writes(central_node, "network_isolation")) == ids
    assert sorted(sensor for _method, sensor in writes(central_node, "prevention")) == ids
    log = central_node.log()
    isolation = [entry for entry in log if entry["query"].get("settings_type") == "network_isolation"]
    prevention = [entry for entry in log if entry["query"].get("settings_type") == "prevention"]
    # One run each: every isolation request comes before every prevention request, over connections of their own,
    # and the prevention run reads the all-hosts list (its conflict check) exactly once.
    assert max(entry["time"] for entry in isolation) <= min(entry["time"] for entry in prevention)
    assert not set(entry["conn"] for entry in isolation) & set(entry["conn"] for entry in prevention)
    assert [entry["query"]["sensor_id"] for entry in prevention if entry["method"] == "GET"].count("all") == 1
    assert len(central_node.log("GET", r"/sensors$")) == 1
    isolation_runs = [entry for entry in result.results if entry["task"] == "Isolate the hosts (one fleet run)"]
    assert len(isolation_runs) == 1 and isolation_runs[0]["result"]["summary"]["changed"] == 3

    # The same batch again: converged, nothing is written.
    central_node.clear_log()
    result = respond(event)
    assert central_node.writes() == []
    assert "Already isolated: %s" % ", ".join([ws1, ws2, ws3]) in report(result)


def test_each_host_gets_only_its_own_hashes(respond, central_node):
    """Hosts are grouped by hash set: one prevention run per set, and no host gets another host's hash."""
    (ws1, _ip1, id1), (ws2, _ip2, id2), (ws3, _ip3, id3) = sensors(central_node)
    respond(batch(alert("Medium", ws1, hashes=[MD5]), alert("Medium", ws2, hashes=[MD5]),
                  alert("Medium", ws3, hashes=[SHA256])))
    reads_of_all = [entry for entry in central_node.log("GET") if entry["query"].get("sensor_id") == "all"]
    assert len(reads_of_all) == 2  # two hash sets, two runs
    assert [obj["file"]["md5"] for obj in central_node.get_prevention(id1)] == [MD5]
    assert [obj["file"]["md5"] for obj in central_node.get_prevention(id2)] == [MD5]
    assert [obj["file"]["sha256"] for obj in central_node.get_prevention(id3)] == [SHA256]


def test_hostile_values_from_the_rulebook_are_never_rendered(respond, central_node, tmp_path):
    """kata_event (as the rulebook passes it): templates in alert fields are data, bad names start nothing."""
    (ws1, _ip1, id1), _second, _third = sensors(central_node)
    marker = tmp_path / "rendered"
    hostile = "{{ lookup('ansible.builtin.pipe', 'touch %s') }}" % marker
    event = batch(alert("High", hostile), alert("High", ws1, hashes=[MD5, hostile, "{{ 7 * 6 }}"]))
    event["kata_batch"]["hosts"][1]["alerts"][0]["name"] = hostile
    event["kata_batch"]["hosts"][1]["alerts"][0]["cef"] = {"cs1": hostile}
    result = respond({"kata_event": urllib.parse.quote(json.dumps(event))})
    assert not marker.exists()
    assert writes(central_node, "network_isolation") == [("POST", id1)]
    assert [obj["file"]["md5"] for obj in central_node.get_prevention(id1)] == [MD5]
    assert any(line.startswith("Rejected (not a plain host name or IP): ") for line in report(result))
