# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client factories for fixtures: build clients with test defaults, close them all at the end."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib


@contextlib.contextmanager
def client_factory(build, **defaults):
    """``make(**overrides)`` builds ``build(**defaults)`` with the overrides; every client built is closed on exit."""
    clients = []

    def make(**overrides):
        options = dict(defaults)
        options.update(overrides)
        client = build(**options)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.close()
