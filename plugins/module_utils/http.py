# -*- coding: utf-8 -*-
# Temporary alias while the collection is being integrated; removed before release.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import *  # noqa: F401,F403 pylint: disable=wildcard-import,unused-wildcard-import
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import (  # noqa: F401
    _exception_chain_text, _request_reached_server, _root_cause_text, _short, _TlsAdapter)
