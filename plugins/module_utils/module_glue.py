# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between AnsibleModule and the two API clients: argument specs, client set-up, errors.

The connection options (specs and checks) are ``connection_options``; here they become the module's and its
client. Every module builds its client here and turns API errors into ``fail_json`` here, so no module checks
connection options or formats an error on its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import kata_settings, ksc_settings
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import KataClient
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc import KscClient


def module_spec(*parts, **options):
    """An argument spec from shared parts (connection, host selection, fleet) and the module's own options."""
    spec = {}
    for part in parts:
        spec.update(part)
    spec.update(options)
    return spec


def new_module(argument_spec, **kwargs):
    """The AnsibleModule of a kaspersky.edr module: every module supports check mode."""
    return AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **kwargs)


def check_requests(module):
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)


def _client(module, client_class, settings):
    check_requests(module)
    try:
        return client_class(warn=module.warn, **settings(module.params))
    except ConfigurationError as exc:
        module.fail_json(msg=str(exc))


def kata_client(module):
    """A KataClient from the module's connection options; fail_json on bad settings. Sends nothing."""
    return _client(module, KataClient, kata_settings)


def ksc_client(module):
    """A KscClient from the module's connection options; fail_json on bad settings. Sends nothing."""
    return _client(module, KscClient, ksc_settings)


def fail_from(module, exc, **result):
    """fail_json for an ApiError or ConfigurationError, with the API error's details when it is an HTTP answer."""
    if isinstance(exc, ApiError) and not (exc.method is None and exc.status is None):
        module.fail_json(msg=str(exc), api_error=exc.to_dict(), **result)
    module.fail_json(msg=str(exc), **result)


@contextlib.contextmanager
def api_errors(module, **result):
    """Turn an ApiError or ConfigurationError raised inside the block into fail_json."""
    try:
        yield
    except (ApiError, ConfigurationError) as exc:
        fail_from(module, exc, **result)
