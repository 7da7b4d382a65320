#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kata_sensor_info
short_description: List Endpoint Agent hosts (sensors) of a KATA/KEDR Central Node
version_added: "1.0.0"
description:
  - Lists the Kaspersky Endpoint Agent hosts known to a Kaspersky Anti Targeted Attack Platform
    (KATA/KEDR) Central Node through its Response API, optionally filtered by IP address, host name
    or sensor ID.
  - Optionally adds each host's current network isolation and prevention settings.
  - Never changes anything.
extends_documentation_fragment: [kaspersky.edr.attributes, kaspersky.edr.attributes.info_module, kaspersky.edr.kata]
options:
  sensor_id:
    description:
      - Only the host with this sensor ID.
    type: str
  hostname:
    description:
      - Only hosts with this exact host name (the API's filter is case-sensitive).
    type: str
  ip:
    description:
      - Only hosts with this IP address (an IPv4 or IPv6 address; anything else fails before any request).
    type: str
  include_settings:
    description:
      - Also read these settings for every listed host (one request per host and type).
    type: list
    elements: str
    choices: [network_isolation, prevention]
    default: []
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
"""

EXAMPLES = r"""
- name: List every Endpoint Agent host
  kaspersky.edr.kata_sensor_info:
    kata_host: kata-cn.example.com
    external_system_id: 4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d
    client_cert: /etc/ansible/kata/client.pem
    client_key: /etc/ansible/kata/client.key
    ca_path: /etc/ansible/kata/ca.pem
  delegate_to: localhost
  register: all_sensors

- name: Find one host by name and show its isolation and prevention settings
  kaspersky.edr.kata_sensor_info:
    hostname: WS-001.corp.example
    include_settings:
      - network_isolation
      - prevention
  delegate_to: localhost
  register: ws001

- name: Connection options from the environment (KATA_HOST, KATA_CLIENT_CERT, ...), filter by IP
  kaspersky.edr.kata_sensor_info:
    ip: 10.20.0.2
  delegate_to: localhost
"""

RETURN = r"""
sensors:
  description:
    - The matching hosts, each with every field the API returned plus the normalized keys.
  returned: always
  type: list
  elements: dict
  contains:
    sensor_id:
      description: Sensor ID (from the API's C(sensorId) or equivalent field).
      type: str
      sample: e6aa2842-0000-0000-0000-000000000002
    hostname:
      description: Host name (from C(hostName), C(host), C(name) or equivalent), null if the API has none.
      type: str
      sample: WS-002.corp.example
    ip:
      description: IP address (from C(ip), C(ipAddress), C(ips) or equivalent), null if the API has none.
      type: str
      sample: 10.20.0.3
    settings:
      description:
        - The settings asked for with O(include_settings), keyed by settings type, as the API shows them.
        - An empty dict means no rule of that type.
      type: dict
      returned: when O(include_settings) is not empty
      sample: {"network_isolation": {"autoTurnoffTimeoutInSec": 7200}, "prevention": {"objects": []}}
count:
  description: Number of hosts in RV(sensors).
  returned: always
  type: int
  sample: 3
"""

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import clean_selector
from ansible_collections.kaspersky.edr.plugins.module_utils import kata_sensors
from ansible_collections.kaspersky.edr.plugins.module_utils import connection_options, module_glue


def argument_spec():
    return module_glue.module_spec(
        connection_options.kata_connection_spec(),
        sensor_id=dict(type="str"),
        hostname=dict(type="str"),
        ip=dict(type="str"),
        include_settings=dict(type="list", elements="str", default=[],
                              choices=["network_isolation", "prevention"]),
    )


def main():
    module = module_glue.new_module(argument_spec())
    params = module.params
    if params["ip"] not in (None, ""):
        try:
            params["ip"] = clean_selector("ip", params["ip"])
        except ConfigurationError as exc:
            module.fail_json(msg=str(exc))
    with module_glue.kata_client(module) as client, module_glue.api_errors(module, changed=False):
        sensors = kata_sensors.list_with_settings(client, params["include_settings"], sensor_id=params["sensor_id"],
                                                  hostname=params["hostname"], ip=params["ip"])
    module.exit_json(changed=False, sensors=sensors, count=len(sensors))


if __name__ == "__main__":
    main()
