# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP 500 "Internal server error. Repeat the request later." (issue 15), from the fake's request log.

The Central Node client repeats a 500 for requests that are safe to repeat (every GET, the settings
POST that replaces the whole rule, the settings DELETE) with the usual backoff; a task create is not
repeated (the module settles it by reading back). The KSC client keeps 500 as a final answer: KSC
uses it for its own refusals.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import RETRY_STATUSES, HttpClient
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError

TASK_ID = "7d3c1f0e-2b4a-4c5d-8e6f-0a1b2c3d4e5f"
ISOLATION = {"autoTurnoffTimeoutInSec": 7200, "excludedRules": []}


@pytest.fixture
def sleeps(client_sleeps):
    return client_sleeps


@pytest.fixture
def kata(kata_client_factory):
    return kata_client_factory


def statuses(central_node, method, path):
    return [entry["status"] for entry in central_node.log(method, path)]


def test_get_sensors_500_is_repeated_with_backoff(kata, central_node, sleeps):
    central_node.add_fault(method="GET", path=r"/sensors$", status=500, times=2)
    assert len(kata().list_sensors()) == 3
    assert statuses(central_node, "GET", r"/sensors$") == [500, 500, 200]
    assert sleeps == [0.5, 1.0]


def test_get_settings_500_is_repeated(kata, central_node, sleeps):
    sid = central_node.sensors[0]["sensorId"]
    central_node.add_fault(method="GET", path=r"/settings\?", status=500, times=1)
    assert kata().get_settings(sid, "network_isolation") == {}
    assert statuses(central_node, "GET", r"/settings$") == [500, 200]
    assert sleeps == [0.5]


def test_get_task_500_is_repeated(kata, central_node):
    central_node.add_fault(method="GET", path=r"/tasks/", status=500, times=1)
    assert kata().get_task(TASK_ID) is None
    assert statuses(central_node, "GET", r"/tasks/") == [500, 404]


def test_settings_post_500_is_repeated_it_replaces_the_whole_rule(kata, central_node):
    sid = central_node.sensors[0]["sensorId"]
    central_node.add_fault(method="POST", path=r"/settings\?", status=500, times=1)
    kata().post_settings(sid, "network_isolation", ISOLATION)
    assert statuses(central_node, "POST", r"/settings$") == [500, 200]
    assert central_node.get_isolation(sid) == ISOLATION


def test_settings_delete_500_is_repeated(kata, central_node):
    sid = central_node.sensors[0]["sensorId"]
    central_node.set_isolation(sid, ISOLATION)
    central_node.add_fault(method="DELETE", path=r"/settings\?", status=500, times=2)
    kata().delete_settings(sid, "network_isolation")
    assert statuses(central_node, "DELETE", r"/settings$") == [500, 500, 200]
    assert central_node.get_isolation(sid) is None


def test_task_create_500_is_not_repeated(kata, central_node, sleeps):
    sid = central_node.sensors[0]["sensorId"]
    central_node.add_fault(method="POST", path=r"/tasks/", status=500, times=1)
    with pytest.raises(ApiError) as info:
        kata().create_task(TASK_ID, sid, {"execCommand": "cmd.exe", "schedule": {"startNow": True}})
    assert info.value.status == 500 and "HTTP 500" in str(info.value) and "after" not in str(info.value)
    assert info.value.may_have_been_applied is False
    assert statuses(central_node, "POST", r"/tasks/") == [500]
    assert sleeps == []
    assert central_node.tasks == {}


def test_persistent_500_stops_after_retries_with_the_last_error(kata, central_node, sleeps):
    central_node.add_fault(method="GET", path=r"/sensors$", status=500, times=None)
    with pytest.raises(ApiError) as info:
        kata(retries=2).list_sensors()
    assert str(info.value).startswith("GET sensors: HTTP 500")
    assert str(info.value).endswith("(after 3 attempts)")
    assert statuses(central_node, "GET", r"/sensors$") == [500, 500, 500]
    assert sleeps == [0.5, 1.0]


def test_retries_zero_reports_the_first_500(kata, central_node, sleeps):
    central_node.add_fault(method="GET", path=r"/sensors$", status=500, times=1)
    with pytest.raises(ApiError, match=r"^GET sensors: HTTP 500"):
        kata(retries=0).list_sensors()
    assert sleeps == []


def test_500_retry_keeps_the_connection(kata, central_node):
    central_node.add_fault(method="GET", path=r"/sensors$", status=500, times=2)
    kata().list_sensors()
    assert len(central_node.handshakes()) == 1


def test_plain_http_client_does_not_repeat_500(central_node, pki_paths, sleeps):
    """The default retry set (used by the KSC client) leaves 500 alone."""
    assert 500 not in RETRY_STATUSES
    client = HttpClient(central_node.base_url, ca_path=pki_paths["ca"], client_cert=pki_paths["client"],
                        client_key=pki_paths["client_key"], timeout=5, retries=3, sleep=sleeps.append)
    central_node.add_fault(method="GET", path=r"/sensors$", status=500, times=1)
    with pytest.raises(ApiError, match="HTTP 500"):
        client.request("GET", "sensors")
    client.close()
    assert statuses(central_node, "GET", r"/sensors$") == [500]
    assert sleeps == []
