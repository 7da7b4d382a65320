# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy environment is read once per client, not on every request (CPU per request, issue 15)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import HttpClient


def make(pki_paths, base_url="https://kata.example:443/api/"):
    return HttpClient(base_url, ca_path=pki_paths["ca"], client_cert=pki_paths["client"],
                      client_key=pki_paths["client_key"])


def test_https_proxy_from_the_environment_is_kept(pki_paths, monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    client = make(pki_paths)
    assert client.proxies == {"https": "http://proxy.example:3128"}
    # The requests go through that proxy: the transport's pool is the proxy's.
    assert client.transport.manager.proxy.host == "proxy.example" and client.transport.manager.proxy.port == 3128
    client.close()


def test_no_proxy_for_the_central_node(pki_paths, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "kata.example")
    client = make(pki_paths)
    assert client.proxies is None
    client.close()


def test_requests_do_not_read_the_environment_again(central_node, pki_paths):
    client = make(pki_paths, central_node.base_url)
    with mock.patch("requests.sessions.get_environ_proxies") as environ, \
            mock.patch("requests.sessions.get_netrc_auth") as netrc:
        for _index in range(3):
            client.request("GET", "sensors")
    client.close()
    assert environ.call_count == 0 and netrc.call_count == 0
    assert len(central_node.log("GET")) == 3
