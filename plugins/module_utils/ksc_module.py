# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between AnsibleModule and the KSC OpenAPI client: shared options, client set-up, errors.

The option names and env fallbacks here match ``plugins/doc_fragments/ksc.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    ApiError,
    ConfigurationError,
    check_request_timeout,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc import DEFAULT_PORT, KscClient


def ksc_connection_spec():
    return dict(
        ksc_host=dict(type="str", required=True, fallback=(env_fallback, ["KSC_HOST"])),
        ksc_port=dict(type="int", default=DEFAULT_PORT, fallback=(env_fallback, ["KSC_PORT"])),
        ksc_username=dict(type="str", required=True, fallback=(env_fallback, ["KSC_USERNAME"])),
        ksc_password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["KSC_PASSWORD"])),
        ksc_domain=dict(type="str", fallback=(env_fallback, ["KSC_DOMAIN"])),
        ksc_internal_user=dict(type="bool", default=False, fallback=(env_fallback, ["KSC_INTERNAL_USER"])),
        ksc_vserver=dict(type="str", fallback=(env_fallback, ["KSC_VSERVER"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["KSC_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["KSC_CA_PATH"])),
        request_timeout=dict(type="float", default=30.0),
        retries=dict(type="int", default=3),
    )


def check_requests(module):
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)


def validate_connection(module):
    """Range checks of the connection options, before anything is sent."""
    params = module.params
    if not 1 <= params["ksc_port"] <= 65535:
        module.fail_json(msg="ksc_port must be 1..65535, got %s" % params["ksc_port"])
    try:
        check_request_timeout(params["request_timeout"])
    except ConfigurationError as exc:
        module.fail_json(msg=str(exc))
    if not 0 <= params["retries"] <= 10:
        module.fail_json(msg="retries must be 0..10, got %s" % params["retries"])
    host = (params["ksc_host"] or "").strip()
    if not host or "://" in host or "/" in host:
        module.fail_json(msg="ksc_host must be the host name or IP address of the Administration Server "
                         "(no scheme, port or path), got %r" % params["ksc_host"])
    if not params["ksc_username"]:
        module.fail_json(msg="ksc_username must not be empty")
    if not params["ksc_password"]:
        module.fail_json(msg="ksc_password must not be empty")


def ksc_client(module):
    """A KscClient from the module's connection options; fail_json on bad settings. Sends nothing."""
    check_requests(module)
    validate_connection(module)
    params = module.params
    try:
        return KscClient(
            ksc_host=params["ksc_host"], ksc_port=params["ksc_port"], ksc_username=params["ksc_username"],
            ksc_password=params["ksc_password"], ksc_domain=params["ksc_domain"],
            ksc_internal_user=params["ksc_internal_user"], ksc_vserver=params["ksc_vserver"],
            validate_certs=params["validate_certs"], ca_path=params["ca_path"],
            request_timeout=params["request_timeout"], retries=params["retries"], warn=module.warn)
    except ConfigurationError as exc:
        module.fail_json(msg=str(exc))


@contextlib.contextmanager
def api_errors(module, **result):
    """Turn an ApiError into fail_json with its one-line message and details."""
    try:
        yield
    except ApiError as exc:
        if exc.method is None and exc.status is None:
            # Not an HTTP answer (e.g. no host matches target_hostname): the message says it all.
            module.fail_json(msg=str(exc), **result)
        module.fail_json(msg=str(exc), api_error=exc.to_dict(), **result)
    except ConfigurationError as exc:
        module.fail_json(msg=str(exc), **result)
