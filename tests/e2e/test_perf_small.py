# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tiny run of the benchmark (tests/perf/bench.py): request counts, never times.

The benchmark's own code starts the fake Central Node as a separate process, runs the real
playbooks of tests/perf/playbooks with ansible-playbook and counts the requests from the fake's
log, so this test also keeps ``make bench`` working.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.kaspersky.edr.tests.perf import bench

N = 10


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bench")
    document = bench.run_comparison(
        sensors=N, latency_ms=2, workdir=str(workdir), log=lambda *args: None,
        plan=[("a", "converged"), ("d", "changing"), ("d", "converged")])
    results = dict(((result["scenario"], result["run"]), result) for result in document["results"])
    return document, results


def test_every_run_succeeded_and_left_every_sensor_with_the_list(small_bench):
    document, _results = small_bench
    assert [(result["scenario"], result["run"]) for result in document["results"]] == [
        ("a", "converged"), ("d", "changing"), ("d", "converged")]
    for result in document["results"]:
        assert result["ok"], result
        assert result["statuses"] == {"200": result["requests"]}, result


def test_converged_fleet_costs_one_get_settings_per_sensor_and_no_write(small_bench):
    result = small_bench[1][("d", "converged")]
    assert result["per_sensor"] == {"GET": {"1": N}}
    assert result["kinds"] == {"GET settings": N}
    assert result["requests"] == N and result["writes"] == 0
    assert result["fleet_summary"] == {"total": N, "changed": 0, "unchanged": N, "failed": 0}
    assert result["tls_connections"] <= bench.DEFAULT_PARALLELISM


def test_changing_fleet_costs_get_post_and_read_back_per_sensor_plus_one_all_hosts_get(small_bench):
    result = small_bench[1][("d", "changing")]
    assert result["per_sensor"] == {"GET": {"2": N}, "POST": {"1": N}}
    assert result["kinds"] == {"GET settings": 2 * N, "POST settings": N, "GET settings all": 1}
    assert result["requests"] == 3 * N + 1 and result["writes"] == N
    assert result["fleet_summary"] == {"total": N, "changed": N, "unchanged": 0, "failed": 0}


def test_uri_baseline_gets_and_posts_blindly_even_when_converged(small_bench):
    result = small_bench[1][("a", "converged")]
    assert result["per_sensor"] == {"GET": {"1": N}, "POST": {"1": N}}
    assert result["requests"] == 2 * N and result["writes"] == N
    assert result["tls_connections"] == 2 * N   # one module process, one TLS handshake per request


def test_report_table_and_json(small_bench, tmp_path):
    document = small_bench[0]
    table = bench.comparison_table(document)
    assert "| (a) uri GET + blind POST" in table and "| (d) kata_prevention fleet mode" in table
    assert "floor N*L/parallelism" in table
    path = bench.write_json(document, str(tmp_path / "bench.json"))
    with open(path) as handle:
        saved = json.load(handle)
    assert saved["params"]["sensors"] == N
    assert saved["results"] == json.loads(json.dumps(document["results"]))
    # The ratios compare each run with (a)'s run of the same kind: (d) converged / (a) converged; (d)'s
    # changing run has no (a) counterpart in this plan, so it has no ratio.
    by_key = dict(((result["scenario"], result["run"]), result) for result in saved["results"])
    fleet, base = by_key[("d", "converged")], by_key[("a", "converged")]
    assert fleet["wall_s"] > 0 and base["wall_s"] > 0
    assert fleet["wall_ratio_to_a"] == round(fleet["wall_s"] / base["wall_s"], 3)
    assert "wall_ratio_to_a" not in by_key[("d", "changing")]
    assert "%.3f" % fleet["wall_ratio_to_a"] in table
