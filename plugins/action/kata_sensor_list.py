# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ``kaspersky.edr.kata_sensor_list`` (documentation: plugins/modules/kata_sensor_list.py).

Lists the Endpoint Agent hosts in the controller process: no module process is started, which saves
about a second per run (the AnsiballZ start-up of a module) on the path from an alert to an isolation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import (
    kata_connection_spec,
    kata_settings,
    read_options,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, ConfigurationError


def connection(args, environ):
    """KataClient keyword arguments from the task's options, else the KATA_* environment variables: the options,
    fallbacks, defaults and checks of the modules (connection_options), read on the controller."""
    spec = kata_connection_spec()
    unknown = sorted(set(args) - set(spec))
    if unknown:
        raise ConfigurationError("kata_sensor_list does not take %s" % ", ".join(unknown))
    return kata_settings(read_options(spec, args, environ))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        try:
            from ansible_collections.kaspersky.edr.plugins.module_utils.kata import KataClient
        except ImportError as exc:  # requests is missing on the controller
            return dict(result, failed=True, msg="kata_sensor_list needs the Python library requests on the "
                        "controller: %s" % exc)
        try:
            with KataClient(warn=self._display.warning, **connection(self._task.args, os.environ)) as client:
                sensors = client.list_sensors()
        except (ApiError, ConfigurationError) as exc:
            return dict(result, failed=True, changed=False, msg=str(exc))
        result.update(changed=False, sensors=sensors)
        return result
