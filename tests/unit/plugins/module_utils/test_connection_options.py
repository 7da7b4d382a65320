# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options layer (module_utils/connection_options.py): specs, documentation, checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
import yaml

from ansible_collections.kaspersky.edr.plugins.doc_fragments import kata as kata_fragment
from ansible_collections.kaspersky.edr.plugins.doc_fragments import ksc as ksc_fragment
from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import (
    MAX_RETRIES,
    kata_connection_spec,
    kata_settings,
    ksc_connection_spec,
    ksc_settings,
    read_options,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ConfigurationError

KATA = {"kata_host": "kata.example", "external_system_id": "id", "client_cert": "/etc/kata/client.pem"}
KSC = {"ksc_host": "ksc.example", "ksc_username": "u", "ksc_password": "p"}


def documented(fragment, section="DOCUMENTATION"):
    return yaml.safe_load(getattr(fragment.ModuleDocFragment, section))["options"]


@pytest.mark.parametrize("spec,fragment", [(kata_connection_spec(), kata_fragment),
                                           (ksc_connection_spec(), ksc_fragment)])
def test_module_documentation_is_the_spec(spec, fragment):
    docs = documented(fragment)
    assert sorted(docs) == sorted(spec)
    for name, option in spec.items():
        doc = docs[name]
        assert doc.get("type", "str") == option.get("type", "str"), name
        assert doc.get("default") == option.get("default"), name
        assert bool(doc.get("required")) == bool(option.get("required")), name
        fallback = re.findall(r"If not set, the value of the E\(([A-Z_]+)\) environment variable is used",
                              " ".join(doc["description"]))
        assert fallback == (option["fallback"][1] if "fallback" in option else []), name


def test_inventory_documentation_is_the_spec():
    """The inventory plugin reads the same options and variables (paths as strings: an empty value means unset)."""
    spec, docs = kata_connection_spec(), documented(kata_fragment, "PLUGIN")
    assert sorted(docs) == sorted(spec)
    for name, option in spec.items():
        doc = docs[name]
        assert doc.get("type", "str") == {"path": "str"}.get(option.get("type"), option.get("type", "str")), name
        assert doc.get("default") == option.get("default"), name
        assert [env["name"] for env in doc.get("env", [])] == (option["fallback"][1] if "fallback" in option else [])


@pytest.mark.parametrize("values,expected", [
    ({"kata_port": 0}, r"^kata_port must be 1\.\.65535, got 0$"),
    ({"kata_port": 65536}, r"^kata_port must be 1\.\.65535"),
    ({"retries": -1}, r"^retries must be 0\.\.10, got -1$"),
    ({"retries": MAX_RETRIES + 1}, r"^retries must be 0\.\.10, got 11$"),
    ({"request_timeout": 0}, r"^request_timeout must be a positive number of seconds, at most 86400"),
    ({"request_timeout": float("nan")}, r"^request_timeout must be"),
    ({"request_timeout": float("inf")}, r"^request_timeout must be"),
    ({"request_timeout": 86400.5}, r"^request_timeout must be"),
    ({"kata_host": "https://kata.example"}, r"^kata_host must be a host name or an IP address, without scheme"),
    ({"kata_host": "kata.example:443"}, r"^kata_host must be a host name"),
    ({"kata_host": None}, r"^kata_host is required \(or set KATA_HOST\)$"),
    ({"external_system_id": "a/b"}, r"^external_system_id must not contain"),
    ({"external_system_id": ".."}, r"^external_system_id must not be '\.' or '\.\.'"),
    ({"client_cert": ""}, r"^client_cert is required \(or set KATA_CLIENT_CERT\): the Central Node only accepts"),
    ({"page_size": 0}, r"^page_size must be 1\.\.10000"),
])
def test_kata_checks_name_the_option_and_the_allowed_values(values, expected):
    with pytest.raises(ConfigurationError, match=expected):
        kata_settings(dict(KATA, **values))


@pytest.mark.parametrize("values,expected", [
    ({"ksc_host": "https://ksc.example"}, r"^ksc_host must be a host name or an IP address, without scheme"),
    ({"ksc_host": "ksc.example/api"}, r"^ksc_host must be a host name"),
    ({"ksc_port": 70000}, r"^ksc_port must be 1\.\.65535"),
    ({"retries": 11}, r"^retries must be 0\.\.10"),
    ({"request_timeout": -1}, r"^request_timeout must be"),
    ({"ksc_username": ""}, r"^ksc_username is required \(or set KSC_USERNAME\)$"),
    ({"ksc_password": None}, r"^ksc_password is required \(or set KSC_PASSWORD\)$"),
    ({"ksc_domain": 'a"b'}, r"^ksc_domain must be a domain name in printable ASCII"),
])
def test_ksc_checks_name_the_option_and_the_allowed_values(values, expected):
    with pytest.raises(ConfigurationError, match=expected):
        ksc_settings(dict(KSC, **values))


def test_settings_are_the_client_arguments_ready_for_a_url():
    assert kata_settings(dict(KATA, kata_host=" ::1 ", kata_port=8443, client_key=None, page_size=50)) == {
        "kata_host": "[::1]", "kata_port": 8443, "external_system_id": "id", "client_cert": "/etc/kata/client.pem",
        "request_timeout": 30.0, "retries": 3, "page_size": 50}
    assert ksc_settings(dict(KSC, ksc_internal_user=True, validate_certs=False)) == {
        "ksc_host": "ksc.example", "ksc_port": 13299, "ksc_username": "u", "ksc_password": "p", "ksc_domain": "",
        "request_timeout": 30.0, "retries": 3, "ksc_internal_user": True, "validate_certs": False}


def test_read_options_takes_the_value_then_the_environment_then_the_default():
    environ = {"KSC_HOST": "env.example", "KSC_PORT": "1234", "KSC_INTERNAL_USER": "yes", "KSC_USERNAME": ""}
    assert read_options(ksc_connection_spec(), {"ksc_host": "given.example", "ksc_username": ""}, environ) == {
        "ksc_host": "given.example", "ksc_port": 1234, "ksc_internal_user": True, "validate_certs": True,
        "request_timeout": 30.0, "retries": 3}
    with pytest.raises(ConfigurationError, match="^retries must be a int"):
        read_options(ksc_connection_spec(), {"retries": "many"}, {})
