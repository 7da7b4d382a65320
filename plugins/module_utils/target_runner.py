# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one target runner: read -> plan -> (check mode stops here) -> apply -> verify, for one target or many.

Every module that changes something on a target (``kata_isolation``, ``kata_prevention``,
``kata_prevention_policy``, ``kata_run_process``, ``ksc_edr_response``) hands a *resource* and its
targets to this file. Single-host mode is a fleet of one: :func:`run_single` and :func:`run_fleet`
both go through :func:`plan_target` and :func:`apply_target`, so errors, warnings, diff and check
mode have one implementation.

A resource is an object with these methods (see ``kata_isolation.IsolationResource`` for the
smallest one); each fills the target's result dict with the return values it knows:

``read(target, result)``
    the target's current state (requests that only read); it first puts into ``result`` what a
    failure of the target reports.
``plan(target, current, result)``
    what to do, an object with a ``changed`` attribute, and its return values (and ``diff``); it may
    read more (a conflict check, a wait for a task) but never writes.
``apply(target, plan, result)``
    never in check mode, for every target planned: carries the plan out (a plan that changes nothing
    needs nothing, except where the resource finishes what an interrupted run left undone); True
    when the write is to be verified.
``verify(target, plan, result, elapsed, since_write)``, optional
    the read-back (or wait) after a write; ``elapsed`` is the time from the read to the write,
    ``since_write`` the time since the write. Fleets run it in a second pass so that its wait never
    holds up the first pass; until then the runner, not the result, keeps what it needs.

:func:`plan_target` and :func:`plan_all` only read and plan (check mode, and the first pass of the
prevention policy, which applies its plans later with :func:`apply_steps`).

Per-target failures are :class:`TargetFailed` (the resource explains) or ``ApiError`` (the
client explains); a fleet collects them per target and fails at the end, listing them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.module_glue import fail_from

# Without the ``results`` option a fleet lists every target up to this size, and above it only the
# targets that changed, failed or warned: a result of 100 targets is about 70 KB of JSON, one that AWX
# stores as one job event and shows readably; 10,000 targets are about 7 MB (docs/performance.md).
RESULTS_ALL_UP_TO = 100


class Target:
    """One target of a run: ``api_id``, what the API names it by (a sensor ID, ``all`` for the all-hosts list,
    a KSC host ID, or None for a task that is named by its own ID), a readable label, the input that named it
    and, when it was looked up, its record as the API listed it."""

    def __init__(self, api_id, label, given, record=None):
        self.api_id = api_id
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


def _clock(resource):
    return getattr(resource, "clock", time.monotonic)


def plan_target(resource, target, result):
    """Read and plan one target, writing nothing: its plan; ``result`` holds the planned return values."""
    return resource.plan(target, resource.read(target, result), result)


class _Verify:
    """A verify left for a fleet's second pass, with what it needs (kept here, never in the result)."""

    def __init__(self, resource, target, plan, result, elapsed):
        self.resource, self.target, self.plan, self.result, self.elapsed = resource, target, plan, result, elapsed
        self.written = _clock(resource)()

    def __call__(self):
        self.resource.verify(self.target, self.plan, self.result, self.elapsed,
                             _clock(self.resource)() - self.written)
        return self.result


def _apply(resource, target, plan, result, started, defer):
    """Carry ``plan`` out and verify it now, or return the verify (``defer``); None when there is none left."""
    elapsed = _clock(resource)() - started
    if not resource.apply(target, plan, result):
        return None
    if defer:
        return _Verify(resource, target, plan, result, elapsed)
    resource.verify(target, plan, result, elapsed, 0.0)
    return None


def apply_target(resource, target, check_mode=False, result=None):
    """The result dict of one target (in check mode only read and planned); TargetFailed or ApiError when it fails."""
    result = {} if result is None else result
    if check_mode:
        plan_target(resource, target, result)
        return result
    started = _clock(resource)()
    _apply(resource, target, plan_target(resource, target, result), result, started, defer=False)
    return result


def run_parallel(items, work, parallelism):
    """``[(item, result, error)]`` in the order of ``items`` (targets or steps); ``work(item)`` returns a result dict.

    ``error`` is an ApiError or TargetFailed; anything else propagates, because it is a bug and must
    show its traceback.
    """
    def one(item):
        try:
            return item, work(item), None
        except (ApiError, TargetFailed) as exc:
            return item, None, exc

    if parallelism <= 1 or len(items) <= 1:
        return [one(item) for item in items]
    # Each worker takes the next item itself: no Future, queue or wake-up per target (a thread pool's
    # hand-offs were a fifth of a converged fleet's CPU at 10,000 targets).
    done = [None] * len(items)
    bugs = []
    lock = threading.Lock()
    indexes = iter(range(len(items)))

    def worker():
        while True:
            with lock:
                index = None if bugs else next(indexes, None)
            if index is None:
                return
            try:
                done[index] = one(items[index])
            except BaseException as exc:  # a bug: stop taking items, raise it below with its traceback
                with lock:
                    bugs.append(exc)
                return

    threads = [threading.Thread(target=worker) for _index in range(min(parallelism, len(items)))]
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
    outcome.update(target=target.label, sensor_id=target.api_id)
    return outcome


def plan_all(resource, targets, parallelism):
    """Read and plan every target, writing nothing: ``[(target, result, error)]`` and ``{target: plan}``."""
    plans = {}

    def work(target):
        result = {}
        plans[target] = plan_target(resource, target, result)
        return result

    return run_parallel(targets, work, parallelism), plans


def apply_steps(steps, parallelism):
    """``[(target, result, error)]`` of ``steps``, ``[(resource, target, plan, result)]``, carried out in parallel.

    ``plan`` is one that :func:`plan_all` made (with its ``result``), or None to read and plan the target
    now. The verifies run in a second pass.
    """
    later = {}

    def first(step):
        resource, target, plan, result = step
        started = _clock(resource)()
        if plan is None:
            plan = plan_target(resource, target, result)
        verify = _apply(resource, target, plan, result, started, defer=True)
        if verify is not None:
            later[target] = verify
        return result

    done = [(step[1], result, error) for step, result, error in run_parallel(steps, first, parallelism)]
    if not later:
        return done
    verified = dict((target, (result, error)) for target, result, error in run_parallel(
        [target for target, _result, _error in done if target in later], lambda target: later[target](), parallelism))
    return [(target,) + verified.get(target, (result, error)) for target, result, error in done]


def apply_all(resource, targets, parallelism, check_mode=False):
    """``[(target, result, error)]`` of every target: read, plan and (outside check mode) apply, then verify."""
    if check_mode:
        return plan_all(resource, targets, parallelism)[0]
    return apply_steps([(resource, target, None, {}) for target in targets], parallelism)


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
    # In the list of a fleet's diffs each one is headed by its target, unless the resource gave its own headers.
    diffs = [dict(dict(before_header=outcome["target"], after_header=outcome["target"]), **outcome.pop("diff"))
             for outcome in outcomes if "diff" in outcome and outcome["changed"]]
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
    done = apply_all(resource, targets, parallelism, module.check_mode)
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
    result = dict(base or {})
    result["changed"] = False
    try:
        target = resolve()
        apply_target(resource, target, module.check_mode, result=result)
    except TargetFailed as exc:
        result.update(exc.result)
        emit_warnings(module, result)
        if exc.api_error is not None:
            result["api_error"] = exc.api_error.to_dict()
        module.fail_json(msg=exc.msg, **result)
    except (ApiError, ConfigurationError) as exc:
        # The server's own error answer (or none before a write): nothing was changed.
        result["changed"] = False
        emit_warnings(module, result)
        fail_from(module, exc, **result)
    emit_warnings(module, result)
    return result
