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

# Option -> (environment variable, type), as the modules' connection options (doc fragment kaspersky.edr.kata).
OPTIONS = {
    "kata_host": ("KATA_HOST", str), "kata_port": ("KATA_PORT", int),
    "external_system_id": ("KATA_EXTERNAL_SYSTEM_ID", str), "client_cert": ("KATA_CLIENT_CERT", str),
    "client_key": ("KATA_CLIENT_KEY", str), "client_key_passphrase": ("KATA_CLIENT_KEY_PASSPHRASE", str),
    "validate_certs": ("KATA_VALIDATE_CERTS", boolean), "ca_path": ("KATA_CA_PATH", str),
    "request_timeout": (None, float), "retries": (None, int), "page_size": (None, int),
}
DEFAULTS = {"kata_port": 443, "validate_certs": True, "request_timeout": 30.0, "retries": 3}


def connection(args, environ):
    """KataClient keyword arguments from the task's options, else the KATA_* environment variables."""
    unknown = sorted(set(args) - set(OPTIONS))
    if unknown:
        raise ConfigurationError("kata_sensor_list does not take %s" % ", ".join(unknown))
    options = {}
    for name, (variable, kind) in OPTIONS.items():
        value = args.get(name)
        if value in (None, "") and variable:
            value = environ.get(variable)
        if value in (None, ""):
            value = DEFAULTS.get(name)
        if value is not None:
            try:
                options[name] = kind(value)
            except (TypeError, ValueError):
                raise ConfigurationError("%s must be a %s, got %r" % (name, getattr(kind, "__name__", kind), value))
    for name in ("client_cert", "client_key", "ca_path"):
        if name in options:
            options[name] = os.path.expanduser(options[name])
            if not os.path.exists(options[name]):
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
