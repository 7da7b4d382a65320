#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kata_isolation
short_description: Isolate an Endpoint Agent host from the network through a KATA/KEDR Central Node
version_added: "1.0.0"
description:
  - Creates, changes or deletes the network isolation rule of one Kaspersky Endpoint Agent host
    through the Response API of a Kaspersky Anti Targeted Attack Platform (KATA/KEDR) Central Node.
  - Reads the host's current rule first (one C(GET settings) request, plus one C(GET sensors) request
    when the host is given by name or IP) and sends one C(POST) only when the isolation time or the set
    of exclusions differs. The order of O(exclusions) does not matter.
  - The isolation time is given in seconds (O(auto_turnoff_timeout)) or in hours
    (O(auto_turnoff_timeout_hours)). Seconds values below one hour are refused, so an hours value put
    into the seconds field (a mistake the vendor's Postman collection makes) never reaches the Central Node.
  - The Central Node does not delete a rule when its isolation time runs out. A later run with the same
    settings therefore reports no change although the host is no longer isolated; use O(force=true) to
    isolate it again.
  - Fleet mode (O(sensors) or O(sensor_filter)) applies the same rule, or its removal, to many hosts in one
    module run over one kept-alive connection pool, O(parallelism) hosts at a time, with one C(GET) per host and a
    write only where a host differs. Per-host failures are reported together at the end.
extends_documentation_fragment: [kaspersky.edr.attributes, kaspersky.edr.kata, kaspersky.edr.kata.sensor,
                                 kaspersky.edr.kata.fleet]
options:
  state:
    description:
      - V(present) isolates the host with the given time and exclusions.
      - V(absent) deletes the host's isolation rule, which ends the isolation. Nothing is sent when the host
        has no rule. O(auto_turnoff_timeout), O(auto_turnoff_timeout_hours), O(exclusions) and O(force) are
        refused with V(absent).
    type: str
    choices: [present, absent]
    default: present
  auto_turnoff_timeout:
    description:
      - How long the isolation lasts, in B(seconds); the API's C(autoTurnoffTimeoutInSec).
      - Allowed range 3600..35996400 (1..9999 hours). For example V(7200) is two hours.
      - Values below 3600 are refused with a hint to use O(auto_turnoff_timeout_hours).
      - Required with O(state=present) unless O(auto_turnoff_timeout_hours) is set; mutually exclusive with it.
    type: int
  auto_turnoff_timeout_hours:
    description:
      - How long the isolation lasts, in B(hours), 1..9999. Sent to the API as O(auto_turnoff_timeout_hours) * 3600 seconds.
      - Mutually exclusive with O(auto_turnoff_timeout).
    type: int
  exclusions:
    description:
      - Traffic that keeps flowing while the host is isolated (the API's C(excludedRules)).
      - The module manages the complete list. The order does not matter and repeated items are ignored with a warning.
      - Each item must set at least one of O(exclusions[].remote_address), O(exclusions[].protocol),
        O(exclusions[].local_ports) or O(exclusions[].remote_ports); an item with only a direction would let all
        traffic in that direction through.
      - An empty list or no value means no exclusions; exclusions a current rule has are then removed.
    type: list
    elements: dict
    suboptions:
      direction:
        description:
          - Direction of the traffic that is not blocked.
        type: str
        choices: [inbound, outbound, both]
        default: both
      protocol:
        description:
          - IANA IP protocol number, 0..255 (for example V(6) TCP, V(17) UDP, V(1) ICMP).
          - Not set means all protocols.
        type: int
      remote_address:
        description:
          - One IPv4 or IPv6 address of the remote host; sent as C(remoteIpv4Address) or C(remoteIpv6Address).
          - No prefix lengths or host names.
        type: str
      local_ports:
        description:
          - Local port range, the API's C(localPortRange). Only with O(exclusions[].direction=inbound) or
            O(exclusions[].direction=outbound); the API refuses port ranges for bidirectional rules.
        type: dict
        suboptions:
          from:
            description: First port, 1..65535.
            type: int
            required: true
          to:
            description: Last port, 1..65535, not less than O(exclusions[].local_ports.from). Defaults to O(exclusions[].local_ports.from).
            type: int
      remote_ports:
        description:
          - Remote port range, the API's C(remotePortRange), with the same rules as O(exclusions[].local_ports).
        type: dict
        suboptions:
          from: {description: "First remote port, 1..65535.", type: int, required: true}
          to: {description: "Last remote port, 1..65535, at least O(exclusions[].remote_ports.from) (the default).", type: int}
  force:
    description:
      - Send the rule even when the current rule already matches. This starts the isolation time again and
        isolates a host whose earlier isolation has run out (the Central Node keeps expired rules).
      - Always reports a change.
    type: bool
    default: false
  sensors:
    description:
      - Fleet mode. The hosts to isolate (or release, with O(state=absent)) in this one module run, all with the
        same settings.
      - A string is a sensor ID, used as given (no lookup). A dict names one host with exactly one key,
        C(sensor_id), C(sensor_hostname) (exact, case-sensitive) or C(sensor_ip).
      - Host names and IPs are resolved with one C(GET sensors) request for the whole run; a name or IP that matches
        no host, or several, is a failure of that entry only. Entries that resolve to the same sensor are handled once.
    type: list
    elements: raw
  sensor_filter:
    description:
      - Fleet mode. Every host that the Central Node lists with these filters (one C(GET sensors) request).
      - Keys C(hostname) and C(ip), passed to the API's C(host) and C(ip) filters. V({}) selects every host, for
        example to release every isolated host with O(state=absent).
    type: dict
attributes:
  check_mode:
    support: full
    details: Reads the current rule and reports what would change; never sends a C(POST) or C(DELETE).
  diff_mode:
    support: full
    details: Shows the rule before and after the run in module option names.
notes:
  - Exactly one of O(sensor_id), O(sensor_hostname), O(sensor_ip), O(sensors) or O(sensor_filter) selects the
    host or hosts.
  - Every option is checked before the first request; an invalid value fails with a message naming the option
    and the allowed range.
  - The API answers a C(POST) without the resulting settings, so after a change RV(api_settings) is the body the
    module sent.
seealso:
  - module: kaspersky.edr.kata_sensor_info
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
"""

EXAMPLES = r"""
# The connection options (kata_host, external_system_id, client_cert, client_key, ca_path) are set once
# per play with module_defaults group/kaspersky.edr.kata, or come from the KATA_* environment variables;
# kaspersky.edr.kata_sensor_info's examples show them.

- name: Isolate a host for 4 hours, keep the KSC server and DNS reachable
  kaspersky.edr.kata_isolation:
    sensor_hostname: WS-001.corp.example
    auto_turnoff_timeout_hours: 4
    exclusions:
      - remote_address: 10.0.0.10          # KSC server, any protocol, both directions
      - direction: outbound
        protocol: 17                       # UDP
        remote_address: 10.0.0.53
        remote_ports:
          from: 53
          to: 53
  delegate_to: localhost

- name: Isolate by sensor ID for two hours (7200 seconds); connection options from KATA_* variables
  kaspersky.edr.kata_isolation:
    sensor_id: e6aa2842-fb29-fa7c-84f2-4c2009bfc2d3
    auto_turnoff_timeout: 7200
  delegate_to: localhost

- name: Isolate again although the rule is unchanged (its time ran out, or restart the timer)
  kaspersky.edr.kata_isolation:
    sensor_ip: 10.20.0.2
    auto_turnoff_timeout_hours: 8
    force: true
  delegate_to: localhost

- name: End the isolation (deletes the rule if there is one)
  kaspersky.edr.kata_isolation:
    sensor_hostname: WS-001.corp.example
    state: absent
  delegate_to: localhost

- name: Fleet mode - isolate several hosts at once for 8 hours
  kaspersky.edr.kata_isolation:
    sensors:
      - e6aa2842-0000-0000-0000-000000000001
      - sensor_hostname: WS-002.corp.example
      - sensor_ip: 10.20.0.7
    auto_turnoff_timeout_hours: 8
  delegate_to: localhost

- name: Fleet mode - release every isolated host the Central Node lists (hosts without a rule are not written)
  kaspersky.edr.kata_isolation:
    sensor_filter: {}
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
sensor_id:
  description: Sensor ID of the host (as given, or as resolved from the host name or IP).
  returned: single-host mode
  type: str
  sample: e6aa2842-0000-0000-0000-000000000001
isolation:
  description:
    - The host's isolation rule after the run (in check mode, what it would be), in module option names.
    - An empty dict when the host has no rule.
  returned: single-host mode
  type: dict
  contains:
    auto_turnoff_timeout:
      description: Isolation time in seconds; null if the API's value is not a number.
      type: int
      sample: 14400
    auto_turnoff_timeout_hours:
      description: The same time in hours.
      type: float
      sample: 4.0
    exclusions:
      description: The exclusions with defaults applied; keys that are not set are null.
      type: list
      elements: dict
      sample:
        - direction: outbound
          protocol: 17
          remote_address: 10.0.0.53
          local_ports: null
          remote_ports: {"from": 53, "to": 53}
  sample:
    auto_turnoff_timeout: 14400
    auto_turnoff_timeout_hours: 4.0
    exclusions:
      - direction: both
        protocol: null
        remote_address: 10.0.0.10
        local_ports: null
        remote_ports: null
api_settings:
  description:
    - The rule after the run as the API shows it (C(autoTurnoffTimeoutInSec), C(excludedRules)).
    - Without a change, the settings the Central Node returned; after a change (or in check mode), the settings
      the module sent (or would send). An empty dict when the host has no rule.
  returned: single-host mode
  type: dict
  sample:
    autoTurnoffTimeoutInSec: 14400
    excludedRules:
      - direction: both
        remoteIpv4Address: 10.0.0.10
sensor_results:
  description:
    - Fleet mode. One result per host (with O(results=changes) only the hosts that changed, failed or warned), in
      the order of O(sensors) (or of the Central Node's list), with the keys
      of the single-host result (RV(sensor_id), RV(isolation), RV(api_settings)) plus C(sensor) (the entry as
      given), C(target) (host name and sensor ID), C(changed), C(failed) and, for a failed host, C(msg).
  returned: fleet mode
  type: list
  elements: dict
  sample: [{"sensor": "WS-001.corp.example", "sensor_id": "e6aa2842-0000-0000-0000-000000000001",
            "target": "WS-001.corp.example (sensor e6aa2842-0000-0000-0000-000000000001)", "changed": false,
            "failed": false, "isolation": {}, "api_settings": {}}]
failed_sensors:
  description: Fleet mode. The hosts that failed.
  returned: fleet mode
  type: list
  elements: str
  sample: []
summary:
  description: Fleet mode. How many hosts were handled, changed (or would be, in check mode), left unchanged and failed.
  returned: fleet mode
  type: dict
  sample: {"total": 40, "changed": 2, "unchanged": 38, "failed": 0}
"""

from ansible_collections.kaspersky.edr.plugins.module_utils.kata_isolation import IsolationResource
from ansible_collections.kaspersky.edr.plugins.module_utils.kata_isolation_model import (
    DEFAULT_DIRECTION,
    DIRECTIONS,
    IsolationOptionError,
    validate_options,
)
from ansible_collections.kaspersky.edr.plugins.module_utils import kata_sensors
from ansible_collections.kaspersky.edr.plugins.module_utils import connection_options, module_glue

SELECTION_CHOICES = ("sensor_id, sensor_hostname or sensor_ip to choose the host, or sensors or sensor_filter for "
                     "several hosts")


def port_range_spec():
    return dict(type="dict", options={"from": dict(type="int", required=True), "to": dict(type="int")})


def argument_spec():
    return module_glue.module_spec(
        connection_options.kata_connection_spec(), kata_sensors.sensor_selection_spec(), kata_sensors.fleet_spec(),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        auto_turnoff_timeout=dict(type="int"),
        auto_turnoff_timeout_hours=dict(type="int"),
        exclusions=dict(type="list", elements="dict", options=dict(
            direction=dict(type="str", default=DEFAULT_DIRECTION, choices=list(DIRECTIONS)),
            protocol=dict(type="int"),
            remote_address=dict(type="str"),
            local_ports=port_range_spec(),
            remote_ports=port_range_spec(),
        )),
        force=dict(type="bool", default=False),
    )


def main():
    module = module_glue.new_module(argument_spec())
    params = module.params
    try:
        option, value = kata_sensors.select_target(params, SELECTION_CHOICES)
        desired, warnings = validate_options(params)
        selection = kata_sensors.parse_fleet(option, value, params["parallelism"])
    except (IsolationOptionError, kata_sensors.FleetInputError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    for warning in warnings:
        module.warn(warning)
    with module_glue.kata_client(module) as client:
        resource = IsolationResource(client, desired, state=params["state"], force=params["force"], diff=module._diff)
        result = kata_sensors.run_selection(module, client, resource, option, value, selection)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
