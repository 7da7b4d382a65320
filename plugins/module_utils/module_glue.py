# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between AnsibleModule and the two API clients: connection options, client set-up, errors.

The option names and env fallbacks here match ``plugins/doc_fragments/kata.py`` and
``plugins/doc_fragments/ksc.py``. Every module builds its client here and turns API errors into
``fail_json`` here, so no module checks connection options or formats an error on its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    ApiError,
    ConfigurationError,
    check_request_timeout,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import KataClient
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc import DEFAULT_PORT as KSC_DEFAULT_PORT
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc import KscClient

MAX_RETRIES = 10


def _transport_spec(env_prefix):
    return dict(
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["%s_VALIDATE_CERTS" % env_prefix])),
        ca_path=dict(type="path", fallback=(env_fallback, ["%s_CA_PATH" % env_prefix])),
        request_timeout=dict(type="float", default=30.0),
        retries=dict(type="int", default=3),
    )


def kata_connection_spec():
    spec = dict(
        kata_host=dict(type="str", required=True, fallback=(env_fallback, ["KATA_HOST"])),
        kata_port=dict(type="int", default=443, fallback=(env_fallback, ["KATA_PORT"])),
        external_system_id=dict(type="str", required=True, fallback=(env_fallback, ["KATA_EXTERNAL_SYSTEM_ID"])),
        client_cert=dict(type="path", required=True, fallback=(env_fallback, ["KATA_CLIENT_CERT"])),
        client_key=dict(type="path", fallback=(env_fallback, ["KATA_CLIENT_KEY"])),
        client_key_passphrase=dict(type="str", no_log=True, fallback=(env_fallback, ["KATA_CLIENT_KEY_PASSPHRASE"])),
        page_size=dict(type="int"),
    )
    spec.update(_transport_spec("KATA"))
    return spec


def ksc_connection_spec():
    spec = dict(
        ksc_host=dict(type="str", required=True, fallback=(env_fallback, ["KSC_HOST"])),
        ksc_port=dict(type="int", default=KSC_DEFAULT_PORT, fallback=(env_fallback, ["KSC_PORT"])),
        ksc_username=dict(type="str", required=True, fallback=(env_fallback, ["KSC_USERNAME"])),
        ksc_password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["KSC_PASSWORD"])),
        ksc_domain=dict(type="str", fallback=(env_fallback, ["KSC_DOMAIN"])),
        ksc_internal_user=dict(type="bool", default=False, fallback=(env_fallback, ["KSC_INTERNAL_USER"])),
        ksc_vserver=dict(type="str", fallback=(env_fallback, ["KSC_VSERVER"])),
    )
    spec.update(_transport_spec("KSC"))
    return spec


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


def connection_problems(params, port_option):
    """The first range error of the connection options, or None: checked before anything is sent."""
    if not 1 <= params[port_option] <= 65535:
        return "%s must be 1..65535, got %s" % (port_option, params[port_option])
    try:
        check_request_timeout(params["request_timeout"])
    except ConfigurationError as exc:
        return str(exc)
    if not 0 <= params["retries"] <= MAX_RETRIES:
        return "retries must be 0..%d, got %s" % (MAX_RETRIES, params["retries"])
    return None


def _ksc_problems(params):
    host = (params["ksc_host"] or "").strip()
    if not host or "://" in host or "/" in host:
        return ("ksc_host must be the host name or IP address of the Administration Server (no scheme, port or "
                "path), got %r" % params["ksc_host"])
    for option in ("ksc_username", "ksc_password"):
        if not params[option]:
            return "%s must not be empty" % option
    return None


def _build(module, factory, problems):
    check_requests(module)
    if problems:
        module.fail_json(msg=problems)
    try:
        return factory()
    except ConfigurationError as exc:
        module.fail_json(msg=str(exc))


def kata_client(module):
    """A KataClient from the module's connection options; fail_json on bad settings. Sends nothing."""
    params = module.params
    return _build(module, lambda: KataClient(
        kata_host=params["kata_host"], kata_port=params["kata_port"],
        external_system_id=params["external_system_id"], client_cert=params["client_cert"],
        client_key=params["client_key"], client_key_passphrase=params["client_key_passphrase"],
        validate_certs=params["validate_certs"], ca_path=params["ca_path"],
        request_timeout=params["request_timeout"], retries=params["retries"], warn=module.warn,
        page_size=params.get("page_size")),
        connection_problems(params, "kata_port"))


def ksc_client(module):
    """A KscClient from the module's connection options; fail_json on bad settings. Sends nothing."""
    params = module.params
    return _build(module, lambda: KscClient(
        ksc_host=params["ksc_host"], ksc_port=params["ksc_port"], ksc_username=params["ksc_username"],
        ksc_password=params["ksc_password"], ksc_domain=params["ksc_domain"],
        ksc_internal_user=params["ksc_internal_user"], ksc_vserver=params["ksc_vserver"],
        validate_certs=params["validate_certs"], ca_path=params["ca_path"],
        request_timeout=params["request_timeout"], retries=params["retries"], warn=module.warn),
        connection_problems(params, "ksc_port") or _ksc_problems(params))


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
