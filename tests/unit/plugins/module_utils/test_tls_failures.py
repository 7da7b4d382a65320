# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every TLS failure names its cause: untrusted CA, wrong host name, expired, rejected client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import KataClient
from ansible_collections.kaspersky.edr.tests.fakes.central_node import DEFAULT_EXTERNAL_SYSTEM_ID, FakeCentralNode


@pytest.fixture
def serve_with(pki_paths):
    started = []

    def serve(server_cert):
        paths = dict(pki_paths, server=pki_paths[server_cert], server_key=pki_paths[server_cert + "_key"])
        fake = FakeCentralNode(paths).start()
        started.append(fake)
        return fake

    yield serve
    for fake in started:
        fake.stop()


def list_sensors(fake, pki_paths, **overrides):
    options = dict(kata_host="127.0.0.1", external_system_id=DEFAULT_EXTERNAL_SYSTEM_ID,
                   client_cert=pki_paths["client"], client_key=pki_paths["client_key"], kata_port=fake.port,
                   ca_path=pki_paths["ca"], retries=0)
    options.update(overrides)
    client = KataClient(**options)
    try:
        return client.list_sensors()
    finally:
        client.close()


@pytest.mark.parametrize("server_cert,expected", [
    ("other_server", "could not be verified by the trusted CAs"),
    ("wrong_host_server", "does not match the host name"),
    ("expired_server", "has expired"),
])
def test_server_certificate_problems_are_named(serve_with, pki_paths, server_cert, expected):
    fake = serve_with(server_cert)
    with pytest.raises(ApiError) as info:
        list_sensors(fake, pki_paths)
    assert expected in str(info.value)
    assert fake.log() == []


def test_untrusted_client_certificate_is_named(serve_with, pki_paths):
    fake = serve_with("server")
    with pytest.raises(ApiError) as info:
        list_sensors(fake, pki_paths, client_cert=pki_paths["other_client"], client_key=pki_paths["other_client_key"])
    assert "rejected the client certificate" in str(info.value)
    assert fake.handshakes() == [] and fake.log() == []


def test_validate_certs_false_accepts_any_server_and_warns(serve_with, pki_paths):
    fake = serve_with("expired_server")
    warnings = []
    assert len(list_sensors(fake, pki_paths, validate_certs=False, ca_path=None, warn=warnings.append)) == 3
    assert len(warnings) == 1 and "validate_certs is false" in warnings[0]


def test_validate_certs_is_on_by_default(serve_with, pki_paths):
    fake = serve_with("server")
    with pytest.raises(ApiError) as info:
        list_sensors(fake, pki_paths, ca_path=None)
    assert "could not be verified" in str(info.value)
