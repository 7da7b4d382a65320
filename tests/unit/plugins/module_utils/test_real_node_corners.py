# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the issue 15 corners: marked-off isolation rules, the OS rule, the refused all-hosts read,
and the KSC repair of a pending incident (stubbed clients, no server)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils import kata_isolation_model as ki
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_isolation import IsolationResource
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_prevention import PreventionResource
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_sensors import (
    non_windows_os,
    require_windows,
    sensor_os,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_incident_body import Response
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_incidents import IncidentPlan, IncidentResource
from ansible_collections.kaspersky.edr.plugins.module_utils.target_runner import Target, TargetFailed, apply_target

B = "b" * 64
RULE = {"autoTurnoffTimeoutInSec": 7200, "excludedRules": [{"direction": "both", "remoteIpv4Address": "10.0.0.5"}]}


# ---- isolation: a rule marked off is no rule ----------------------------------------------------------
@pytest.mark.parametrize("marker", [
    {"enabled": False}, {"enabled": "FALSE"}, {"isEnabled": False}, {"active": False}, {"isActive": False},
    {"disabled": True}, {"isDisabled": "true"}, {"expired": True}, {"isExpired": True},
    {"state": "disabled"}, {"state": " Expired "}, {"status": "INACTIVE"}, {"ruleState": "expired"},
    {"ruleStatus": "disabled"},
])
def test_marked_off_rule_is_not_isolated(marker):
    settings = dict(RULE, **marker)
    assert ki.rule_inactive(settings)
    assert not ki.rule_exists(settings)
    assert ki.isolation_from_api(settings) == {}
    assert ki.plan_isolation(settings, {}, "absent").changed is False
    plan = ki.plan_isolation(settings, ki.make_isolation(7200, []), "present")
    assert plan.changed is True and plan.after_api == {"autoTurnoffTimeoutInSec": 7200, "excludedRules": []}


@pytest.mark.parametrize("marker", [{"enabled": True}, {"active": "yes"}, {"disabled": False}, {"state": "active"},
                                    {"status": "enabled"}, {"state": None}, {"expired": 0}])
def test_other_markers_leave_the_rule_as_read(marker):
    settings = dict(RULE, **marker)
    assert ki.rule_inactive(settings) is None
    assert ki.rule_exists(settings)
    assert ki.isolation_from_api(settings)["auto_turnoff_timeout"] == 7200


# ---- the OS rule ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("record,name,blocked", [
    ({"os": "Windows 10 Enterprise"}, "Windows 10 Enterprise", False),
    ({"osName": "Microsoft WINDOWS Server 2019"}, "Microsoft WINDOWS Server 2019", False),
    ({"platform": "Linux"}, "Linux", True),
    ({"osType": "macOS"}, "macOS", True),
    ({"operatingSystem": {"name": "CentOS 7"}}, "CentOS 7", True),
    ({"osVersion": "Ubuntu 22.04"}, "Ubuntu 22.04", True),
    ({"os": "", "platform": "Linux"}, "Linux", True),
    ({"os": "  "}, None, False),
    ({}, None, False),
    (None, None, False),
])
def test_sensor_os(record, name, blocked):
    assert sensor_os(record) == name
    assert (non_windows_os(record) is not None) is blocked


def test_require_windows_names_host_and_os():
    require_windows(Target("s-1", "WS-1", "s-1"))                                 # no record: unknown, proceeds
    require_windows(Target("s-1", "WS-1", "s-1", record={"os": "Windows 11"}))
    with pytest.raises(TargetFailed) as caught:
        require_windows(Target("s-1", "WS-1 (sensor s-1)", "WS-1", record={"os": "Debian 12"}), {"changed": False})
    assert "only on Windows agents; WS-1 (sensor s-1) runs Debian 12" in caught.value.msg


class Client:
    """Records calls; ``GET settings?sensor_id=all`` is refused with ``refuse``."""

    def __init__(self, refuse=405, lists=None):
        self.refuse = refuse
        self.lists = lists or {}
        self.calls = []

    def get_settings(self, sensor_id, settings_type):
        self.calls.append(("GET", sensor_id))
        if sensor_id == "all" and self.refuse:
            raise ApiError("GET settings?sensor_id=all&settings_type=prevention: HTTP %d: refused" % self.refuse,
                           status=self.refuse, method="GET")
        return {"objects": list(self.lists.get(sensor_id, []))}

    def post_settings(self, sensor_id, settings_type, settings):
        self.calls.append(("POST", sensor_id))
        self.lists[sensor_id] = settings["objects"]

    def delete_settings(self, sensor_id, settings_type):
        self.calls.append(("DELETE", sensor_id))

    def list_sensors(self, **_filters):
        return [{"sensor_id": "s-1", "hostname": "WS-1", "os": "Windows 10"},
                {"sensor_id": "s-2", "hostname": "LX-2", "os": "Ubuntu 22.04"}]


def test_linux_host_fails_before_any_request():
    client = Client()
    target = Target("s-2", "LX-2", "LX-2", record={"os": "Ubuntu 22.04"})
    with pytest.raises(TargetFailed):
        apply_target(PreventionResource(client, [{"kind": "sha256", "value": B}]), target, False)
    with pytest.raises(TargetFailed):
        apply_target(IsolationResource(client, ki.make_isolation(7200, [])), target, False)
    assert client.calls == []


def test_refused_all_hosts_read_is_a_warning_for_a_host():
    client = Client(refuse=404)
    result = apply_target(PreventionResource(client, [{"kind": "sha256", "value": B}], verify_write=False),
                          Target("s-1", "WS-1", "s-1"), False)
    assert result["changed"] is True and result["conflicts_unknown"] is True
    assert "could not be done" in result["warnings"][0]
    assert client.calls == [("GET", "s-1"), ("GET", "all"), ("POST", "s-1")]


@pytest.mark.parametrize("status", [401, 500])
def test_other_errors_of_the_all_hosts_read_still_fail(status):
    client = Client(refuse=status)
    with pytest.raises(ApiError):
        apply_target(PreventionResource(client, [{"kind": "sha256", "value": B}]), Target("s-1", "WS-1", "s-1"),
                     False)


def test_all_hosts_unknown_exclusive_writes_merge_fails():
    desired = [{"kind": "sha256", "value": B}]
    all_target = Target("all", "all hosts", "all hosts")
    client = Client()
    result = apply_target(PreventionResource(client, desired, exclusive=True), all_target, False)
    assert result["current_unknown"] is True and result["changed"] is True
    # The conflict check reads only the Windows host's list; no read-back of the all-hosts list.
    assert client.calls == [("GET", "all"), ("GET", "s-1"), ("POST", "all")]

    client = Client()
    check = apply_target(PreventionResource(client, desired), all_target, True)
    assert check["current_unknown"] is True and "fails" in check["warnings"][0]
    with pytest.raises(TargetFailed) as caught:
        apply_target(PreventionResource(client, desired), all_target, False)
    assert "Nothing was changed" in caught.value.msg
    assert not [call for call in client.calls if call[0] != "GET"]


# ---- KSC: repair of a pending incident -------------------------------------------------------------------
class KscClient:
    def __init__(self):
        self.updates = []

    def update_incident(self, incident_id, data):
        self.updates.append((incident_id, data))


@pytest.mark.parametrize("handled,sent", [(False, True), (None, True), (True, False)])
def test_repair_marks_a_pending_incident_not_handled(handled, sent):
    client = KscClient()
    resource = IncidentResource(client, Response("isolateHost", {"action": 1}, "Ansible", 2))
    incident = {"KLINCDT_ID": 7, "KLINCDT_IS_HANDLED": handled}
    if handled is None:
        del incident["KLINCDT_IS_HANDLED"]
    result = resource.base_result()
    resource.apply(Target("h-1", "h-1", "WS-1"), IncidentPlan(False, {}, pending=incident), result)
    assert result["marked_not_handled"] is sent
    assert client.updates == ([(7, {"KLINCDT_IS_HANDLED": False, "KLHST_WKS_HOSTNAME": "h-1"})] if sent else [])
