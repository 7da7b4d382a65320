# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network isolation rules of the Central Node, one host at a time (``target_runner`` resource).

:class:`IsolationResource` reads a host's rule, plans it with ``kata_isolation_model`` and writes it
(``POST``, or ``DELETE`` for ``state=absent``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import SETTINGS_ISOLATION
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_isolation_model import plan_isolation
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_sensors import require_windows
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import TargetFailed


class IsolationResource:
    """One run's isolation options; read, plan and write one host's rule (``target_runner`` protocol)."""

    def __init__(self, client, desired, state="present", force=False, diff=False):
        self.client = client
        self.desired = desired
        self.state = state
        self.force = force
        self.diff = diff

    def read(self, target, result):
        result.update(changed=False, sensor_id=target.api_id)
        require_windows(target, result)
        return self.client.get_settings(target.api_id, SETTINGS_ISOLATION)

    def plan(self, target, current, result):
        plan = plan_isolation(current, self.desired, self.state, self.force)
        result.update(changed=plan.changed, isolation=plan.after,
                      api_settings=plan.after_api if plan.after_api is not None else {})
        if self.diff:
            result["diff"] = dict(before=plan.before, after=plan.after)
        return plan

    def apply(self, target, plan, result):
        """POST the rule, or DELETE it; a lost answer may mean it was applied, and a rerun settles it."""
        if not plan.changed:
            return
        try:
            if plan.after_api is None:
                self.client.delete_settings(target.api_id, SETTINGS_ISOLATION)
            else:
                self.client.post_settings(target.api_id, SETTINGS_ISOLATION, plan.after_api)
        except ApiError as exc:
            if not exc.may_have_been_applied:
                raise
            result["changed"] = True
            raise TargetFailed("%s. The isolation rule of %s may or may not have been changed: run the task again, "
                               "it reads the rule and finishes the change or reports that it is done"
                               % (exc, target.label), result, exc)
