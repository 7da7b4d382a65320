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

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.module_glue import connection_problems, kata_connection_spec

# Option -> (environment variable, type), as the modules' connection options (doc fragment kaspersky.edr.kata).
# The option types of the modules' connection spec, converted the way AnsibleModule converts them.
CONVERT = {"str": str, "path": os.path.expanduser, "int": int, "float": float, "bool": boolean}


def _given(name, option, args, environ):
    """The option's value: the task's, else its environment fallback, else its default (as AnsibleModule)."""
    value = args.get(name)
    fallback = option.get("fallback")
    if value in (None, "") and fallback:
        value = next((environ[variable] for variable in fallback[1] if environ.get(variable) not in (None, "")), None)
    return option.get("default") if value in (None, "") else value


def connection(args, environ):
    """KataClient keyword arguments from the task's options, else the KATA_* environment variables: the options,
    fallbacks, defaults and range checks of the modules' connection spec (module_glue), read on the controller."""
    spec = kata_connection_spec()
    unknown = sorted(set(args) - set(spec))
    if unknown:
        raise ConfigurationError("kata_sensor_list does not take %s" % ", ".join(unknown))
    options = {}
    for name, option in spec.items():
        value = _given(name, option, args, environ)
        if value is None:
            continue
        kind = option.get("type", "str")
        try:
            options[name] = CONVERT[kind](value)
        except (TypeError, ValueError):
            raise ConfigurationError("%s must be a %s, got %r" % (name, kind, value))
    problem = connection_problems(options, "kata_port")
    if problem:
        raise ConfigurationError(problem)
    for name in ("client_cert", "client_key", "ca_path"):
        if name in options and not os.path.exists(options[name]):
            raise ConfigurationError("%s %s does not exist" % (name, options[name]))
    return options


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
            client = KataClient(warn=self._display.warning, **connection(self._task.args, os.environ))
            try:
                sensors = client.list_sensors()
            finally:
                client.close()
        except (ApiError, ConfigurationError) as exc:
            return dict(result, failed=True, changed=False, msg=str(exc))
        result.update(changed=False, sensors=sensors)
        return result
