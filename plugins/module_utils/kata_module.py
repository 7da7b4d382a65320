# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between AnsibleModule and the KATA client: shared options, client set-up, errors.

The option names and env fallbacks here match ``plugins/doc_fragments/kata.py``.
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
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import KataClient

SENSOR_OPTIONS = ("sensor_id", "sensor_hostname", "sensor_ip")


def kata_connection_spec():
    return dict(
        kata_host=dict(type="str", required=True, fallback=(env_fallback, ["KATA_HOST"])),
        kata_port=dict(type="int", default=443, fallback=(env_fallback, ["KATA_PORT"])),
        external_system_id=dict(type="str", required=True, fallback=(env_fallback, ["KATA_EXTERNAL_SYSTEM_ID"])),
        client_cert=dict(type="path", required=True, fallback=(env_fallback, ["KATA_CLIENT_CERT"])),
        client_key=dict(type="path", fallback=(env_fallback, ["KATA_CLIENT_KEY"])),
        client_key_passphrase=dict(type="str", no_log=True, fallback=(env_fallback, ["KATA_CLIENT_KEY_PASSPHRASE"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["KATA_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["KATA_CA_PATH"])),
        request_timeout=dict(type="float", default=30.0),
        retries=dict(type="int", default=3),
        page_size=dict(type="int"),
    )


def sensor_selection_spec():
    return dict(
        sensor_id=dict(type="str"),
        sensor_hostname=dict(type="str"),
        sensor_ip=dict(type="str"),
    )


def check_requests(module):
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)


def validate_connection(module):
    """Range checks of the connection options, before anything is sent."""
    params = module.params
    try:
        check_request_timeout(params["request_timeout"])
    except ConfigurationError as exc:
        module.fail_json(msg=str(exc))
    if not 0 <= params["retries"] <= 10:
        module.fail_json(msg="retries must be 0..10, got %s" % params["retries"])
    if not 1 <= params["kata_port"] <= 65535:
        module.fail_json(msg="kata_port must be 1..65535, got %s" % params["kata_port"])


def kata_client(module):
    """A KataClient from the module's connection options; fail_json on bad settings."""
    check_requests(module)
    validate_connection(module)
    params = module.params
    try:
        return KataClient(
            kata_host=params["kata_host"], kata_port=params["kata_port"],
            external_system_id=params["external_system_id"], client_cert=params["client_cert"],
            client_key=params["client_key"], client_key_passphrase=params["client_key_passphrase"],
            validate_certs=params["validate_certs"], ca_path=params["ca_path"],
            request_timeout=params["request_timeout"], retries=params["retries"], warn=module.warn,
            page_size=params.get("page_size"))
    except ConfigurationError as exc:
        module.fail_json(msg=str(exc))


@contextlib.contextmanager
def api_errors(module, **result):
    """Turn an ApiError into fail_json with its one-line message and details."""
    try:
        yield
    except ApiError as exc:
        module.fail_json(msg=str(exc), api_error=exc.to_dict(), **result)
    except ConfigurationError as exc:
        module.fail_json(msg=str(exc), **result)
