# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the fake Kaspersky Security Center (registered from tests/conftest.py).

``ksc``: the fake with fresh hosts, no incidents, no sessions and an empty log per test.
``ksc_env``: KSC_* environment variables pointing the modules at it (env fallbacks).
``ksc_client``: a factory of KscClient objects talking to it (unit tests).
``param_long``, ``param_binary``, ``param_params``: typed values of the wire protocol (the client itself only sends
datetimes, ``ksc_protocol.param_datetime``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.kaspersky.edr.tests.client_factory import client_factory
from ansible_collections.kaspersky.edr.tests.fakes.ksc_server import DEFAULT_PASSWORD, DEFAULT_USER, FakeKscServer


def param_long(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("paramLong needs an integer, got %r" % (value,))
    return {"type": "long", "value": value}


def param_binary(value):
    if isinstance(value, bytes):
        value = base64.b64encode(value).decode("ascii")
    elif not isinstance(value, str):
        raise TypeError("paramBinary needs bytes or a base64 string, got %r" % (value,))
    return {"type": "binary", "value": value}


def param_params(value):
    if not isinstance(value, dict):
        raise TypeError("paramParams needs a dict, got %r" % (value,))
    return {"type": "params", "value": value}


@pytest.fixture(scope="session")
def ksc_server(pki_paths):
    fake = FakeKscServer(pki_paths)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def ksc(ksc_server):
    """The fake KSC with its default hosts, no incidents and an empty log for each test."""
    ksc_server.latency = 0
    ksc_server.reset()
    return ksc_server


@pytest.fixture
def ksc_env(ksc, pki_paths):
    """Connection settings as environment variables (the modules' env fallbacks)."""
    return {
        "KSC_HOST": "127.0.0.1",
        "KSC_PORT": str(ksc.port),
        "KSC_USERNAME": DEFAULT_USER,
        "KSC_PASSWORD": DEFAULT_PASSWORD,
        "KSC_CA_PATH": pki_paths["ca"],
    }


@pytest.fixture
def ksc_client(ksc, pki_paths):
    """Build KscClient objects for the fake (closed at the end of the test)."""
    from ansible_collections.kaspersky.edr.plugins.module_utils.ksc import KscClient

    with client_factory(KscClient, ksc_host="127.0.0.1", ksc_port=ksc.port, ksc_username=DEFAULT_USER,
                        ksc_password=DEFAULT_PASSWORD, ca_path=pki_paths["ca"], request_timeout=5, retries=2,
                        sleep=lambda seconds: None) as make:
        yield make
