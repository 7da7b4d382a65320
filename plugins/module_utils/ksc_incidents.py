# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KSC incidents that queue a KES EDR response, one host at a time (``target_runner`` resource).

:class:`IncidentResource` applies one response (``ksc_incident_body.Response``) to one host: a
pending incident with the same response on the host means nothing to do (unless ``force``);
otherwise ``HostGroup.AddIncident`` and then ``UpdateIncident(KLINCDT_IS_HANDLED=false)``, as the
vendor's sample does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_protocol import KscError
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_incident_body import (
    build_body,
    parse_body,
    same_response,
    serialize_body,
    task_name_hint,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import Target, TargetFailed


def find_pending(client, host_id, task, task_params):
    """The newest pending incident on the host that queues the same response, as ``(incident, body)``, or None."""
    best = None
    for incident in client.pending_incidents(host_id):
        if incident.get("KLINCDT_IS_HANDLED") is True:
            continue
        body = parse_body(incident.get("KLINCDT_BODY"))
        if not same_response(body, host_id, task, task_params):
            continue
        if best is None or (incident.get("KLINCDT_ID") or 0) > (best[0].get("KLINCDT_ID") or 0):
            best = (incident, body)
    return best


def incident_id_of(incident):
    """The ``KLINCDT_ID`` of an incident as KSC lists it, or None when it is not an integer."""
    incident_id = (incident or {}).get("KLINCDT_ID")
    return incident_id if isinstance(incident_id, int) and not isinstance(incident_id, bool) else None


class IncidentPlan:
    def __init__(self, changed, body, pending=None):
        self.changed = changed
        self.body = body
        self.pending = pending


class IncidentResource:
    """One EDR response for one host (``target_runner`` protocol)."""

    def __init__(self, client, response, force=False, diff=False):
        self.client = client
        self.response = response
        self.force = force
        self.diff = diff

    def base_result(self):
        return dict(changed=False, incident_id=None, body=None, pending=False, marked_not_handled=False,
                    task_name_hint=task_name_hint(self.response.area, self.response.task))

    def resolver(self, host_id=None, hostname=None):
        """Log in and find the host: a function returning its :class:`Target` (for ``run_single``)."""
        def resolve():
            self.client.login()
            host = self.client.resolve_host(host_id=host_id, hostname=hostname)
            return Target(host["KLHST_WKS_HOSTNAME"], host["KLHST_WKS_HOSTNAME"], host_id or hostname, record=host)
        return resolve

    # ---- the target_runner protocol ----------------------------------------------------------
    def read(self, target, result):
        result.update(self.base_result(), host=target.record, target_host=target.api_id, warnings=[])
        return None if self.force else find_pending(self.client, target.api_id, self.response.task, self.response.params)

    def plan(self, target, found, result):
        if found is not None:
            plan = IncidentPlan(False, found[1], pending=found[0])
            result.update(incident_id=plan.pending.get("KLINCDT_ID"), body=plan.body, pending=True,
                          task_name_hint=task_name_hint(plan.body.get("responseEventIncidentArea") or self.response.area,
                                                        self.response.task))
            return plan
        plan = IncidentPlan(True, build_body(target.api_id, self.response.task, self.response.params,
                                             self.response.area))
        result.update(changed=True, body=plan.body)
        if self.diff:
            result["diff"] = {"before": "", "after": json.dumps(plan.body, indent=2, sort_keys=False) + "\n",
                              "before_header": "pending responses on %s" % target.api_id,
                              "after_header": "new incident on %s" % target.api_id}
        return plan

    def apply(self, target, plan, result):
        """Create the incident; for a pending one found, finish what an interrupted run may have left undone.

        A run that died between AddIncident and UpdateIncident left an incident the vendor's sequence never
        finished; setting ``KLINCDT_IS_HANDLED=false`` again is idempotent, so a rerun always sends it (one
        request) unless the incident is already handled. It is not a change (``changed`` stays false):
        ``marked_not_handled`` says it was sent.
        """
        if plan.changed:
            result["incident_id"] = self.create(target.api_id, plan.body, result)
            return
        incident_id = incident_id_of(plan.pending)
        if incident_id is None or plan.pending.get("KLINCDT_IS_HANDLED") is True:
            return
        try:
            self.mark_not_handled(incident_id, target.api_id)
        except ApiError as exc:
            raise TargetFailed("Pending incident %d already queues this response, but marking it not handled again "
                               "(as the vendor's sequence does after AddIncident) failed: %s" % (incident_id, exc),
                               result, exc)
        result["marked_not_handled"] = True

    # ---- steps -------------------------------------------------------------------------------
    def created_incident(self, host_id, body):
        """The ID of the pending incident an AddIncident with an unclear outcome created, or None.

        Only used without ``force``: the host had no such pending incident just before, so one now is ours.
        """
        try:
            found = find_pending(self.client, host_id, body["task"], body["params"])
        except ApiError:
            return None
        return incident_id_of(found[0]) if found else None

    def mark_not_handled(self, incident_id, host_id):
        """``UpdateIncident(KLINCDT_IS_HANDLED=false)``: the step the vendor's sample sends after AddIncident."""
        self.client.update_incident(incident_id, {"KLINCDT_IS_HANDLED": False, "KLHST_WKS_HOSTNAME": host_id})

    def create(self, host_id, body, result):
        """AddIncident, then UpdateIncident with KLINCDT_IS_HANDLED false, as the vendor's sample does."""
        try:
            incident_id = self.client.add_incident(host_id, serialize_body(body), self.response.severity)
        except KscError:
            raise
        except ApiError as exc:
            if not (exc.status is None or 200 <= exc.status < 300 or (exc.status >= 500 and exc.status != 503)):
                raise
            # The server (behind a gateway, or before the connection failed) may have created it: look for it
            # instead of sending AddIncident again. A PxgError or a 503 says it was not created.
            incident_id = None if self.force else self.created_incident(host_id, body)
            if incident_id is None:
                raise TargetFailed("%s. The incident may have been created: run the task again, it finds a pending "
                                   "incident instead of creating a second one" % exc, result, exc)
            result["warnings"].append("Creating the incident failed (%s), but KSC shows pending incident %s with this "
                                      "response on the host: the request reached KSC, so it was not sent again."
                                      % (exc, incident_id))
        try:
            self.mark_not_handled(incident_id, host_id)
        except ApiError as exc:
            result["incident_id"] = incident_id
            raise TargetFailed("Incident %d was created but marking it not handled failed: %s" % (incident_id, exc),
                               result, exc)
        return incident_id
