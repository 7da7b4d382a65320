# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which targets a fleet result lists (the ``results`` option); end to end in tests/e2e/test_fleet_results.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import RESULTS_ALL_UP_TO, listed_outcomes


def outcome(name, changed=False, failed=False, warnings=()):
    return {"target": name, "changed": changed, "failed": failed, "warnings": list(warnings)}


def test_changes_keeps_the_changed_the_failed_and_the_warned_in_order():
    outcomes = [outcome("a"), outcome("b", warnings=["careful"]), outcome("c", changed=True), outcome("d"),
                outcome("e", failed=True)]
    assert [item["target"] for item in listed_outcomes(outcomes, "changes")] == ["b", "c", "e"]
    assert listed_outcomes(outcomes, "all") == outcomes


def test_unset_means_all_up_to_the_limit():
    quiet = [outcome(str(index)) for index in range(RESULTS_ALL_UP_TO)]
    assert listed_outcomes(quiet, None) == quiet
    assert listed_outcomes(quiet + [outcome("one more")], None) == []
