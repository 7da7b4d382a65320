# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options of the two APIs, in one place: their specs and their checks.

Shared the way community.hashi_vault shares its option classes between modules and plugins. Each caller
adapts its own source of values and hands them here:

* the modules (``module_glue``): the specs below are their argument specs, then :func:`kata_settings` or
  :func:`ksc_settings` of ``module.params``;
* the inventory plugin ``kata_sensors``: its configuration (documented by ``kaspersky.edr.kata.plugin``), then
  :func:`kata_settings`;
* the action plugin ``kata_sensor_list``: :func:`read_options` of the task's arguments and the environment by these
  specs, then :func:`kata_settings`.

The settings returned are the clients' keyword arguments, checked and ready for a URL; the clients do not check
them again. The options are documented in ``plugins/doc_fragments/kata.py`` and ``ksc.py`` (a unit test holds the
documentation to these specs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re
import unicodedata

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ConfigurationError

KATA_DEFAULT_PORT = 443
KSC_DEFAULT_PORT = 13299
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
MAX_RETRIES = 10
MAX_REQUEST_TIMEOUT = 86400
MAX_PAGE_SIZE = 10000

_EXTERNAL_ID_FORBIDDEN = re.compile(r"[/?#%\s]")
_HOST_FORBIDDEN = frozenset("/?#@\\%[]\"'<>{}|^`,;")


# ---- specs --------------------------------------------------------------------------------------
def _env(name):
    return (env_fallback, [name])


def _transport_spec(env_prefix):
    return dict(
        validate_certs=dict(type="bool", default=True, fallback=_env("%s_VALIDATE_CERTS" % env_prefix)),
        ca_path=dict(type="path", fallback=_env("%s_CA_PATH" % env_prefix)),
        request_timeout=dict(type="float", default=DEFAULT_REQUEST_TIMEOUT),
        retries=dict(type="int", default=DEFAULT_RETRIES),
    )


def kata_connection_spec():
    """The KATA connection options as an argument spec (doc fragment ``kaspersky.edr.kata``)."""
    spec = dict(
        kata_host=dict(type="str", required=True, fallback=_env("KATA_HOST")),
        kata_port=dict(type="int", default=KATA_DEFAULT_PORT, fallback=_env("KATA_PORT")),
        external_system_id=dict(type="str", required=True, fallback=_env("KATA_EXTERNAL_SYSTEM_ID")),
        client_cert=dict(type="path", required=True, fallback=_env("KATA_CLIENT_CERT")),
        client_key=dict(type="path", fallback=_env("KATA_CLIENT_KEY")),
        client_key_passphrase=dict(type="str", no_log=True, fallback=_env("KATA_CLIENT_KEY_PASSPHRASE")),
        page_size=dict(type="int"),
    )
    spec.update(_transport_spec("KATA"))
    return spec


def ksc_connection_spec():
    """The KSC connection options as an argument spec (doc fragment ``kaspersky.edr.ksc``)."""
    spec = dict(
        ksc_host=dict(type="str", required=True, fallback=_env("KSC_HOST")),
        ksc_port=dict(type="int", default=KSC_DEFAULT_PORT, fallback=_env("KSC_PORT")),
        ksc_username=dict(type="str", required=True, fallback=_env("KSC_USERNAME")),
        ksc_password=dict(type="str", required=True, no_log=True, fallback=_env("KSC_PASSWORD")),
        ksc_domain=dict(type="str", fallback=_env("KSC_DOMAIN")),
        ksc_internal_user=dict(type="bool", default=False, fallback=_env("KSC_INTERNAL_USER")),
        ksc_vserver=dict(type="str", fallback=_env("KSC_VSERVER")),
    )
    spec.update(_transport_spec("KSC"))
    return spec


# The option types of the specs, converted the way AnsibleModule converts them.
_CONVERT = {"str": str, "path": os.path.expanduser, "int": int, "float": float, "bool": boolean}


def read_options(spec, given, environ):
    """The values of ``spec``'s options outside a module: ``given``, else the environment fallback, else the default.

    Empty values count as not set; options left unset are left out. A value of the wrong type is a
    ConfigurationError naming the option.
    """
    values = {}
    for name, option in spec.items():
        value = given.get(name)
        fallback = option.get("fallback")
        if value in (None, "") and fallback:
            value = next((environ[variable] for variable in fallback[1] if environ.get(variable) not in (None, "")),
                         None)
        if value in (None, ""):
            value = option.get("default")
        if value is None:
            continue
        kind = option.get("type", "str")
        try:
            values[name] = _CONVERT[kind](value)
        except (TypeError, ValueError):
            raise ConfigurationError("%s must be a %s, got %r" % (name, kind, value))
    return values


# ---- checks -------------------------------------------------------------------------------------
def required(values, option, variable, why=""):
    """The option's value; a ConfigurationError when it is unset or empty."""
    value = values.get(option)
    if value is None or value == "":
        raise ConfigurationError("%s is required (or set %s)%s" % (option, variable, why))
    return value


def url_host(value, option):
    """``value`` checked as a bare host name or IP address; returned ready for a URL (IPv6 in brackets).

    Anything that would change the URL's meaning (a scheme, port, path, query, fragment, user
    info, whitespace or control characters) fails with a ConfigurationError naming ``option``,
    before any request.
    """
    host = str(value if value is not None else "").strip()
    if not host:
        raise ConfigurationError("%s must not be empty" % option)
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare and "%" not in bare:  # a zone ID (fe80::1%eth0) names an interface of this machine, not a host
        try:
            if ipaddress.ip_address(bare).version == 6:
                return "[%s]" % bare
        except ValueError:
            pass
    elif bare == host and not any(char in _HOST_FORBIDDEN or char.isspace() or not char.isprintable()
                                  for char in host) and not host.startswith(("-", ".")):
        try:
            host.encode("idna")  # what the resolver does: empty or over-long labels fail here
            return host
        except UnicodeError:
            pass
    raise ConfigurationError("%s must be a host name or an IP address, without scheme, port, path or spaces "
                             "(the port has its own option), got %r" % (option, host))


def check_port(value, option):
    """``value`` as a TCP port, or a ConfigurationError naming ``option``."""
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise ConfigurationError("%s must be 1..65535, got %r" % (option, value))
    return port


def check_request_timeout(value):
    """``value`` as seconds, or a ConfigurationError naming ``request_timeout``.

    ``not 0 < x <= max`` also refuses nan; inf or a huge value would overflow the socket timeout.
    """
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not 0 < seconds <= MAX_REQUEST_TIMEOUT:
        raise ConfigurationError("request_timeout must be a positive number of seconds, at most %d, got %r"
                                 % (MAX_REQUEST_TIMEOUT, value))
    return seconds


def check_retries(value):
    """``value`` as a number of retries 0..MAX_RETRIES, or a ConfigurationError naming ``retries``."""
    if not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
        raise ConfigurationError("retries must be 0..%d, got %r" % (MAX_RETRIES, value))
    return value


def check_external_system_id(value):
    """The external system ID: one segment of the API's URL path, so no ``/ ? # %``, whitespace or dot segment."""
    value = str(value)
    if _EXTERNAL_ID_FORBIDDEN.search(value) or any(unicodedata.category(char) == "Cc" for char in value):
        raise ConfigurationError("external_system_id must not contain '/', '?', '#', '%', whitespace or control "
                                 "characters")
    if value in (".", ".."):
        # A dot segment would be removed from the URL and the request would go to another path.
        raise ConfigurationError("external_system_id must not be '.' or '..' (it is one segment of the API's URL "
                                 "path), got %r" % value)
    return value


def check_page_size(value):
    """``page_size`` as an int 1..MAX_PAGE_SIZE, None when unset; a ConfigurationError naming the option."""
    if value is None:
        return None
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_PAGE_SIZE:
        raise ConfigurationError("page_size must be 1..%d (hosts per GET sensors page, sent as max_events), got %r"
                                 % (MAX_PAGE_SIZE, value))
    return number


def check_ksc_domain(value):
    """The domain goes into the KSCBasic header as a quoted string: printable ASCII without ``"`` or ``\\``."""
    if any(char in '"\\' or not " " <= char <= "~" for char in value or ""):
        raise ConfigurationError("ksc_domain must be a domain name in printable ASCII without '\"' or '\\', "
                                 "got %r" % value)
    return value or ""


# ---- settings -----------------------------------------------------------------------------------
def _transport_settings(values, port_option, default_port):
    return dict(
        port=check_port(values.get(port_option, default_port), port_option),
        request_timeout=check_request_timeout(values.get("request_timeout", DEFAULT_REQUEST_TIMEOUT)),
        retries=check_retries(values.get("retries", DEFAULT_RETRIES)),
    )


def _set(settings, values, *names):
    """``settings`` plus the ``names`` that are set in ``values``, as given."""
    settings.update((name, values[name]) for name in names if values.get(name) is not None)
    return settings


def kata_settings(values):
    """``KataClient`` keyword arguments from KATA connection option values; nothing is read or sent.

    Options that are unset (None) or missing are left out, so the client's defaults apply. A wrong value is a
    ConfigurationError naming the option and what it allows.
    """
    host = url_host(required(values, "kata_host", "KATA_HOST"), "kata_host")
    transport = _transport_settings(values, "kata_port", KATA_DEFAULT_PORT)
    settings = dict(
        kata_host=host,
        kata_port=transport["port"],
        external_system_id=check_external_system_id(required(values, "external_system_id",
                                                             "KATA_EXTERNAL_SYSTEM_ID")),
        client_cert=required(values, "client_cert", "KATA_CLIENT_CERT", ": the Central Node only accepts mutual TLS"),
        request_timeout=transport["request_timeout"],
        retries=transport["retries"],
    )
    page_size = check_page_size(values.get("page_size"))
    if page_size is not None:
        settings["page_size"] = page_size
    return _set(settings, values, "client_key", "client_key_passphrase", "validate_certs", "ca_path")


def ksc_settings(values):
    """``KscClient`` keyword arguments from KSC connection option values; nothing is read or sent.

    As :func:`kata_settings`: unset options are left out, a wrong value is a ConfigurationError naming the option.
    """
    host = url_host(required(values, "ksc_host", "KSC_HOST"), "ksc_host")
    transport = _transport_settings(values, "ksc_port", KSC_DEFAULT_PORT)
    settings = dict(
        ksc_host=host,
        ksc_port=transport["port"],
        ksc_username=required(values, "ksc_username", "KSC_USERNAME"),
        ksc_password=required(values, "ksc_password", "KSC_PASSWORD"),
        ksc_domain=check_ksc_domain(values.get("ksc_domain")),
        request_timeout=transport["request_timeout"],
        retries=transport["retries"],
    )
    return _set(settings, values, "ksc_internal_user", "ksc_vserver", "validate_certs", "ca_path")
