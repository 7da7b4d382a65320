# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Applying a prevention plan to one target through the target runner.

Write verification: a concurrent writer's overwrite is detected and merged again, or reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils import kata_prevention_model as kp
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention import MAX_REMERGES, PreventionResource
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import (
    Target,
    TargetFailed,
    apply_steps,
    apply_target,
)

A = "a" * 64
B = "b" * 64
C = "c" * 64
D = "d" * 64
TARGET = Target("s-1", "WS-001", "s-1")
UI_RULE = {"file": {"sha256": A, "name": "from the web UI"}}


def sha(value):
    return {"file": {"sha256": value}}


class RacingClient:
    """A host list that another writer overwrites right after some of this client's writes.

    ``interloper(objects)`` returns the list the other writer leaves behind, or None to leave it.
    """

    def __init__(self, objects, interloper=None, overwrites=1):
        self.objects = copy.deepcopy(objects)
        self.interloper = interloper
        self.overwrites = overwrites
        self.calls = []

    def get_settings(self, sensor_id, settings_type):
        self.calls.append("GET %s" % sensor_id)
        return {"objects": copy.deepcopy(self.objects)} if self.objects else {}

    def _after_write(self):
        if self.interloper and self.overwrites:
            self.overwrites -= 1
            self.objects = self.interloper(self.objects)

    def post_settings(self, sensor_id, settings_type, settings):
        self.calls.append("POST %s" % sensor_id)
        self.objects = copy.deepcopy(settings["objects"])
        self._after_write()

    def delete_settings(self, sensor_id, settings_type):
        self.calls.append("DELETE %s" % sensor_id)
        self.objects = []
        self._after_write()


def run(client, hashes, check_mode=False, **options):
    options.setdefault("conflict_check", "skip")
    return apply_target(PreventionResource(client, kp.normalize_hashes(hashes), **options), TARGET, check_mode)


def test_verified_write_costs_one_read_back():
    client = RacingClient([UI_RULE])
    result = run(client, [C])
    assert result["changed"] is True and result["verified"] is True and "remerged" not in result
    assert client.calls == ["GET s-1", "POST s-1", "GET s-1"]
    assert client.objects == [UI_RULE, sha(C)]


def test_verify_write_false_skips_the_read_back():
    client = RacingClient([UI_RULE])
    result = run(client, [C], verify_write=False)
    assert client.calls == ["GET s-1", "POST s-1"] and "verified" not in result


def test_a_concurrent_overwrite_is_merged_again_so_both_changes_stay():
    # The other writer read [A] before this run wrote, and its POST [A, D] lands right after ours.
    client = RacingClient([UI_RULE], interloper=lambda objects: [UI_RULE, sha(D)])
    result = run(client, [C])
    assert client.calls == ["GET s-1", "POST s-1", "GET s-1", "POST s-1", "GET s-1"]
    assert client.objects == [UI_RULE, sha(D), sha(C)]
    assert result["remerged"] == 1 and result["verified"] is True
    assert result["added"] == [C] and result["hashes"] == [A, D, C]


def test_another_writers_addition_is_kept_when_this_change_holds():
    client = RacingClient([UI_RULE], interloper=lambda objects: objects + [sha(D)])
    result = run(client, [C])
    assert client.calls == ["GET s-1", "POST s-1", "GET s-1"]
    assert result["hashes"] == [A, C, D] and "remerged" not in result


def test_absent_is_verified_too():
    client = RacingClient([UI_RULE, sha(B)], interloper=lambda objects: [UI_RULE, sha(B)])  # B comes back
    result = run(client, [B], state="absent")
    assert client.objects == [UI_RULE] and result["remerged"] == 1 and result["removed"] == [B]


def test_a_writer_that_keeps_overwriting_fails_the_run_clearly():
    client = RacingClient([UI_RULE], interloper=lambda objects: [UI_RULE, sha(D)], overwrites=99)
    with pytest.raises(TargetFailed) as info:
        run(client, [C])
    message = info.value.msg
    assert message.startswith("Concurrent change detected on WS-001")
    assert "missing: %s" % C in message and "throttle: 1" in message
    assert client.calls.count("POST s-1") == MAX_REMERGES + 1
    assert info.value.result["changed"] is True
    assert client.objects == [UI_RULE, sha(D)]  # nothing of the other writer's was removed


def test_check_mode_never_writes_or_reads_back():
    client = RacingClient([UI_RULE])
    result = run(client, [C], check_mode=True)
    assert result["changed"] is True and client.calls == ["GET s-1"]


def test_the_all_hosts_list_is_read_once_for_many_targets():
    client = RacingClient([])
    prevention = PreventionResource(client, kp.normalize_hashes([C]), conflict_check="fail")
    for sensor_id in ("s-1", "s-2", "s-3"):
        apply_target(prevention, Target(sensor_id, sensor_id, sensor_id), True)
    assert client.calls == ["GET s-1", "GET all", "GET s-2", "GET s-3"]


def test_the_read_back_waits_as_long_as_the_read_to_write_gap():
    ticks = iter([10.0, 10.4])  # read started, write about to start: a 0.4 s gap
    slept = []
    client = RacingClient([UI_RULE])
    apply_target(PreventionResource(client, kp.normalize_hashes([C]), conflict_check="skip", sleep=slept.append,
                                    clock=lambda: next(ticks)), TARGET, False)
    assert slept == [pytest.approx(0.6)]


def test_the_settle_time_is_capped():
    ticks = iter([0.0, 600.0])
    slept = []
    apply_target(PreventionResource(RacingClient([]), kp.normalize_hashes([C]), conflict_check="skip",
                                    sleep=slept.append, clock=lambda: next(ticks)), TARGET, False)
    assert slept == [5.0]


class LostAnswerClient(RacingClient):
    """The POST is applied (or not) but its answer is lost, as with a connection reset after processing."""

    def __init__(self, objects, applied, status=None):
        super(LostAnswerClient, self).__init__(objects)
        self.applied = applied
        self.status = status

    def post_settings(self, sensor_id, settings_type, settings):
        self.calls.append("POST %s" % sensor_id)
        if self.applied:
            self.objects = copy.deepcopy(settings["objects"])
        raise ApiError("POST settings: Connection to cn failed: reset", status=self.status, method="POST")


@pytest.mark.parametrize("status", [None, 502, 504])
def test_a_lost_write_answer_is_settled_by_reading_the_list(status):
    client = LostAnswerClient([UI_RULE], applied=True, status=status)
    result = run(client, [C])
    assert result["changed"] is True and result["verified"] is True
    assert client.calls == ["GET s-1", "POST s-1", "GET s-1"]
    assert "was lost" in result["warnings"][0] and "the change was made" in result["warnings"][0]


def test_a_lost_write_that_did_not_happen_fails_saying_nothing_changed():
    client = LostAnswerClient([UI_RULE], applied=False)
    with pytest.raises(TargetFailed) as info:
        run(client, [C])
    assert "shows it was not written; nothing was changed" in info.value.msg
    assert info.value.result["changed"] is False


@pytest.mark.parametrize("status", [400, 500, 503])
def test_a_refused_write_is_not_read_back(status):
    client = LostAnswerClient([UI_RULE], applied=False, status=status)
    with pytest.raises(TargetFailed) as info:
        run(client, [C])
    assert info.value.msg.startswith("The Central Node refused the new prevention list of WS-001")
    assert client.calls == ["GET s-1", "POST s-1"]


def test_fleet_mode_defers_the_read_back_and_waits_only_what_is_left():
    ticks = iter([0.0, 0.4, 0.5, 1.0])  # read, write, written; verify() comes 0.5 s after the write
    slept = []
    client = RacingClient([UI_RULE], interloper=lambda objects: [UI_RULE, sha(D)])
    calls_when_verifying = []

    def sleep(seconds):
        calls_when_verifying.append(list(client.calls))
        slept.append(seconds)

    prevention = PreventionResource(client, kp.normalize_hashes([C]), conflict_check="skip", sleep=sleep,
                                    clock=lambda: next(ticks, 9.0))
    [(target, result, error)] = apply_steps([(prevention, TARGET, None, {})], 1)
    assert target is TARGET and error is None
    assert calls_when_verifying[0] == ["GET s-1", "POST s-1"]  # the second pass: nothing read back before it
    assert not [key for key in result if key.startswith("_")]  # pending state stays in the runner
    assert result["verified"] is True and result["remerged"] == 1
    assert client.objects == [UI_RULE, sha(D), sha(C)]
    assert slept[0] == pytest.approx(0.1)  # settle 0.6 s, of which 0.5 s already passed
    assert slept[1] == pytest.approx(0.6)  # after a re-merge the full settle time again
