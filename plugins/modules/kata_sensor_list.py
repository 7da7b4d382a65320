#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kata_sensor_list
short_description: List every Endpoint Agent host of a KATA/KEDR Central Node, in the controller process
version_added: "1.0.0"
description:
  - Lists the Endpoint Agent hosts (one C(GET sensors), every page) and returns them as
    M(kaspersky.edr.kata_sensor_info) does, with the normalized keys C(sensor_id), C(hostname) and C(ip).
  - An action plugin, it runs in the controller process and starts no module process, which saves about a
    second per run; C(playbooks/alert_response.yml) uses it on the path from an alert to an isolation. For
    filters and settings use M(kaspersky.edr.kata_sensor_info).
  - The connection options are those of the other modules, with the same E(KATA_*) environment variables, read
    on the controller; C(module_defaults) of C(group/kaspersky.edr.kata) apply.
extends_documentation_fragment: [kaspersky.edr.attributes, kaspersky.edr.attributes.info_module, kaspersky.edr.kata]
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
"""

EXAMPLES = r"""
- name: List the Endpoint Agent hosts (connection options from KATA_* variables)
  kaspersky.edr.kata_sensor_list:
  register: listing
"""

RETURN = r"""
sensors:
  description: Every host with the API's fields kept plus C(sensor_id), C(hostname) and C(ip).
  returned: success
  type: list
  elements: dict
"""
