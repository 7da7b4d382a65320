# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of the Kaspersky Security Center OpenAPI.
    DOCUMENTATION = r"""
options:
  ksc_host:
    description:
      - Host name or IP address of the Kaspersky Security Center Administration Server.
      - If not set, the value of the E(KSC_HOST) environment variable is used.
    type: str
    required: true
  ksc_port:
    description:
      - Port of the KSC OpenAPI.
      - If not set, the value of the E(KSC_PORT) environment variable is used.
    type: int
    default: 13299
  ksc_username:
    description:
      - Account the modules log in with (KSC basic authentication, C(KSCBasic)).
      - Use a dedicated account with only the rights the responses need; the vendor warns that the
        account data is not protected by the integration.
      - If not set, the value of the E(KSC_USERNAME) environment variable is used.
    type: str
    required: true
  ksc_password:
    description:
      - Password of O(ksc_username).
      - If not set, the value of the E(KSC_PASSWORD) environment variable is used.
    type: str
    required: true
  ksc_domain:
    description:
      - Domain of O(ksc_username) for a domain account; leave empty for a local or internal account.
      - If not set, the value of the E(KSC_DOMAIN) environment variable is used.
    type: str
  ksc_internal_user:
    description:
      - Whether O(ksc_username) is an internal KSC user (created in KSC itself, the usual case for
        KSC for Linux) rather than an operating system or domain account.
      - If not set, the value of the E(KSC_INTERNAL_USER) environment variable is used.
    type: bool
    default: false
  ksc_vserver:
    description:
      - Name of the KSC virtual Administration Server to work on; empty for the primary server.
      - If not set, the value of the E(KSC_VSERVER) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the Administration Server's TLS certificate.
      - Set to V(false) only for a lab; the module then warns.
      - If not set, the value of the E(KSC_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM CA bundle (file or directory) that signed the Administration Server's certificate, for example
        the server's own C(klserver.cer) converted to PEM.
      - Takes precedence over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE).
      - If not set, the value of the E(KSC_CA_PATH) environment variable is used.
    type: path
  request_timeout:
    description:
      - Seconds to wait for each HTTP request; more than 0 and at most 86400.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is repeated after a connection error or HTTP 429, 502, 503 or 504,
        with exponential backoff and the server's C(Retry-After) (capped at 60 seconds).
      - Calls that create something (C(HostGroup.AddIncident)) are repeated only when they did not
        reach the server or the server answered 429 or 503.
    type: int
    default: 3
requirements:
  - requests
notes:
  - The modules speak the KSC OpenAPI wire protocol themselves; the vendor's KlAkOAPI package is not needed.
  - "The modules run on the controller (or any host that can reach the Administration Server): use
    C(delegate_to: localhost) or a local connection."
  - Use the C(group/kaspersky.edr.ksc) action group in C(module_defaults) to set the connection
    options once.
"""
