# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ``kaspersky.edr.isolation_guard`` (documentation: plugins/modules/isolation_guard.py).

Runs in the controller process, so the state file is always on the controller and no module is shipped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.kaspersky.edr.plugins.plugin_utils import isolation_budget

ARGS = {"path", "action", "hosts", "limit", "run_id", "made"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        unknown = sorted(set(args) - ARGS)
        action = args.get("action")
        if unknown:
            return dict(result, failed=True, msg="isolation_guard does not take %s" % ", ".join(unknown))
        if action not in ("reserve", "commit") or not args.get("path") or not args.get("run_id"):
            return dict(result, failed=True, msg="isolation_guard needs path, run_id and action=reserve|commit")
        path = os.path.expanduser(str(args["path"]))
        write = not self._task.check_mode
        try:
            if action == "reserve":
                limit = int(args.get("limit", 50))
                if limit < 0:
                    raise ValueError("limit must be 0 or more")
                hosts = list(args.get("hosts") or [])
                outcome = isolation_budget.reserve(path, hosts, limit, str(args["run_id"]), write=write)
                result.update(outcome, changed=False)
            else:
                outcome = isolation_budget.commit(path, str(args["run_id"]), list(args.get("made") or []),
                                                  write=write)
                result.update(outcome, changed=bool(outcome["recorded"]) and write)
        except (isolation_budget.StateError, ValueError, TypeError, KeyError) as exc:
            return dict(result, failed=True, msg="isolation_guard: %s" % exc)
        result["path"] = path
        return result
