# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one target runner: read -> plan -> check mode -> write -> verify, for one target or many.

Every module that changes something on a target (``kata_isolation``, ``kata_prevention``,
``kata_prevention_policy``, ``kata_run_process``) hands a *resource* and its targets to this file.
Single-host mode is a fleet of one: :func:`run_single` and :func:`run_fleet` both call
:func:`apply_target`, so errors, warnings, diff and check mode have one implementation.

A resource is an object with these methods (see ``kata_isolation.IsolationResource`` for the
smallest one):

``new_result(target)``
    the result dict of a target before anything is read.
``read(target, result)``
    the target's current state (a request).
``plan(target, current, result)``
    what to do, an object with a ``changed`` attribute; no request.
``record(result, plan, final)``
    fill the return values (and ``diff``) from ``plan`` and the state the target ends with.
``check(target, plan, result)``
    checks before a write (may read other targets, may raise :class:`TargetFailed`).
``write(target, plan, result)``
    the write; True when the write is to be verified, False when it settled itself.
``repair(target, plan, result)``
    only for a target that needs no change, never in check mode: an idempotent request that finishes
    what an interrupted earlier run left undone (``ksc_incidents``); it does not count as a change.
``needs_finish(plan, wrote)`` / ``finish(target, plan, result, elapsed, since_write)``
    the verifying read-back (or wait); fleets run it in a second pass so that its wait never holds
    up the first pass.
``single_result(result)``
    the single-mode result as documented for the module.

Per-target failures are :class:`TargetFailed` (the resource explains) or ``ApiError`` (the
client explains); a fleet collects them per target and fails at the end, listing them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.module_glue import fail_from

# Without the ``results`` option a fleet lists every target up to this size, and above it only the
# targets that changed, failed or warned: a result of 100 targets is about 70 KB of JSON, one that AWX
# stores as one job event and shows readably; 10,000 targets are about 7 MB (docs/performance.md).
RESULTS_ALL_UP_TO = 100


class Target:
    """One target of a run: its ID (a sensor ID, ``all`` for the all-hosts list, a KSC host ID), a readable
    label, the input that named it and, when it was looked up, its record as the API listed it."""

    def __init__(self, sensor_id, label, given, record=None):
        self.sensor_id = sensor_id
        self.label = label
        self.given = given
        self.record = record

    def __repr__(self):
        return "Target(%r)" % self.label


class TargetFailed(Exception):
    """One target failed in a way the resource explains; ``result`` holds what is known so far."""

    def __init__(self, msg, result=None, api_error=None):
        super(TargetFailed, self).__init__(msg)
        self.msg = msg
        self.result = result or {}
        self.api_error = api_error


class BaseResource:
    """Defaults of the resource protocol: no pre-write check, no read-back, single result as is."""

    clock = staticmethod(time.monotonic)

    def check(self, target, plan, result):
        pass

    def repair(self, target, plan, result):
        pass

    def needs_finish(self, plan, wrote):
        return False

    def finish(self, target, plan, result, elapsed, since_write):
        return result

    def single_result(self, result):
        return result


def apply_target(resource, target, check_mode, result=None, defer_finish=False):
    """The result dict of one target; TargetFailed or ApiError when it fails.

    With ``defer_finish`` the read-back is left in ``result["_pending"]`` for :func:`finish_target`.
    """
    if result is None:
        result = resource.new_result(target)
    else:
        result.update(resource.new_result(target))
    started = resource.clock()
    current = resource.read(target, result)
    plan = resource.plan(target, current, result)
    resource.record(result, plan, plan)
    if plan.changed:
        resource.check(target, plan, result)
        if check_mode:
            return result
    elif not check_mode:
        resource.repair(target, plan, result)
    elapsed = resource.clock() - started
    wrote = resource.write(target, plan, result) if plan.changed else False
    if not resource.needs_finish(plan, wrote):
        return result
    if not defer_finish:
        return resource.finish(target, plan, result, elapsed, 0.0)
    result["_pending"] = (plan, elapsed, resource.clock())
    return result


def finish_target(resource, target, result):
    pending = result.pop("_pending", None)
    if pending is None:
        return result
    plan, elapsed, written = pending
    return resource.finish(target, plan, result, elapsed, resource.clock() - written)


def run_parallel(targets, work, parallelism):
    """``[(target, result, error)]`` in target order; ``work(target)`` returns a result dict.

    ``error`` is an ApiError or TargetFailed; anything else propagates, because it is a bug and must
    show its traceback.
    """
    def one(target):
        try:
            return target, work(target), None
        except (ApiError, TargetFailed) as exc:
            return target, None, exc

    if parallelism <= 1 or len(targets) <= 1:
        return [one(target) for target in targets]
    # Each worker takes the next target itself: no Future, queue or wake-up per target (a thread pool's
    # hand-offs were a fifth of a converged fleet's CPU at 10,000 targets).
    done = [None] * len(targets)
    bugs = []
    lock = threading.Lock()
    indexes = iter(range(len(targets)))

    def worker():
        while True:
            with lock:
                index = None if bugs else next(indexes, None)
            if index is None:
                return
            try:
                done[index] = one(targets[index])
            except BaseException as exc:  # a bug: stop taking targets, raise it below with its traceback
                with lock:
                    bugs.append(exc)
                return

    threads = [threading.Thread(target=worker) for _index in range(min(parallelism, len(targets)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if bugs:
        raise bugs[0]
    return done


def emit_warnings(module, result):
    """Emit (and remove) the ``warnings`` a per-target result collected."""
    for warning in result.pop("warnings", []):
        module.warn(warning)


def target_outcome(target, result, error):
    """One entry of ``sensor_results``: the target's result, or what is known of it and why it failed."""
    if error is None:
        outcome = dict(result, sensor=target.given, failed=False)
    else:
        outcome = dict(getattr(error, "result", None) or {}, sensor=target.given, failed=True, msg=str(error))
        outcome.setdefault("changed", False)
        api_error = error.api_error if isinstance(error, TargetFailed) else error
        if api_error is not None:
            outcome["api_error"] = api_error.to_dict()
    outcome.update(target=target.label, sensor_id=target.sensor_id)
    return outcome


def apply_all(resource, targets, check_mode, parallelism):
    """``[(target, result, error)]`` of every target: a first pass, then the deferred read-backs.

    ``resource`` is one resource for every target, or a function ``target -> resource``.
    """
    resource_of = resource if callable(resource) else (lambda target: resource)
    done = run_parallel(targets, lambda target: apply_target(resource_of(target), target, check_mode,
                                                             defer_finish=True), parallelism)

    def second_pass(entry):
        target, result, error = entry
        if error is not None:
            raise error
        return finish_target(resource_of(target), target, result)

    if any(error is None and "_pending" in result for _target, result, error in done):
        done = [(entry[0], result, error) for entry, result, error in run_parallel(done, second_pass, parallelism)]
    return done


def lists_every_target(results, total):
    """True when a fleet result lists every target (``results: all``, or unset on a fleet of at most
    RESULTS_ALL_UP_TO targets); otherwise it lists only those that changed, failed or warned."""
    if results is None:
        return total <= RESULTS_ALL_UP_TO
    return results == "all"


def listed_outcomes(outcomes, results):
    """The outcomes a fleet result lists, in their order (see :func:`lists_every_target`).

    Call it before :func:`summarize`, which takes the warnings out of the outcomes.
    """
    if lists_every_target(results, len(outcomes)):
        return list(outcomes)
    return [outcome for outcome in outcomes if outcome["changed"] or outcome["failed"] or outcome.get("warnings")]


def summarize(module, outcomes, ignore_errors):
    """``(result, failed)`` of a fleet: ``changed``, the outcomes, ``summary`` and ``diff``; warnings emitted."""
    for outcome in outcomes:
        emit_warnings(module, outcome)
    diffs = [outcome.pop("diff") for outcome in outcomes if "diff" in outcome and outcome["changed"]]
    for outcome in outcomes:
        outcome.pop("diff", None)
    failed = [outcome for outcome in outcomes if outcome["failed"]]
    changed = [outcome for outcome in outcomes if outcome["changed"]]
    result = dict(changed=bool(changed), summary=dict(
        total=len(outcomes), changed=len(changed), failed=len(failed),
        unchanged=len(outcomes) - len(changed) - len([item for item in failed if not item["changed"]])))
    if module._diff:
        result["diff"] = diffs
    if failed and ignore_errors:
        for outcome in failed:
            module.warn("%s: %s" % (outcome["target"], outcome["msg"]))
    return result, failed


def fail_fleet(module, failed, total, noun, result):
    module.fail_json(msg="%d of %d %s failed (the others were processed): %s" % (
        len(failed), total, noun, "; ".join("%s: %s" % (item["target"], item["msg"]) for item in failed)), **result)


def run_fleet(module, resource, targets, errors, parallelism, ignore_errors, results=None):
    """The module result of a fleet run; ``errors`` are ``[(given, message)]`` of targets that did not resolve.

    ``results`` is the module option (``all``, ``changes`` or None: see :func:`lists_every_target`).
    Fails the module at the end, listing every failed sensor, unless ``ignore_errors``.
    """
    done = apply_all(resource, targets, module.check_mode, parallelism)
    outcomes = [target_outcome(target, result, error) for target, result, error in done]
    outcomes.extend(dict(sensor=given, target=given, failed=True, changed=False, msg=message)
                    for given, message in errors)
    listed = listed_outcomes(outcomes, results)
    result, failed = summarize(module, outcomes, ignore_errors)
    result.update(sensor_results=listed, failed_sensors=[item["target"] for item in failed])
    if failed and not ignore_errors:
        fail_fleet(module, failed, len(outcomes), "sensors", result)
    return result


def run_single(module, resource, resolve, base=None):
    """The module result of one target (a fleet of one); fail_json with what is known when it fails.

    ``resolve()`` returns the :class:`Target` (it may send a request); ``base`` is the result reported
    when even that fails.
    """
    result = dict(base or {}, changed=False)
    try:
        target = resolve()
        apply_target(resource, target, module.check_mode, result=result)
    except TargetFailed as exc:
        result.update(exc.result)
        emit_warnings(module, result)
        if exc.api_error is not None:
            result["api_error"] = exc.api_error.to_dict()
        module.fail_json(msg=exc.msg, **resource.single_result(result))
    except (ApiError, ConfigurationError) as exc:
        # The server's own error answer (or none before a write): nothing was changed.
        result["changed"] = False
        emit_warnings(module, result)
        fail_from(module, exc, **resource.single_result(result))
    emit_warnings(module, result)
    return resource.single_result(result)
