# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of the KATA/KEDR Central Node Response API.
    DOCUMENTATION = r"""
options:
  kata_host:
    description:
      - Host name or IP address of the Central Node.
      - If not set, the value of the E(KATA_HOST) environment variable is used.
    type: str
    required: true
  kata_port:
    description:
      - HTTPS port of the Central Node Response API.
      - If not set, the value of the E(KATA_PORT) environment variable is used.
    type: int
    default: 443
  external_system_id:
    description:
      - ID of the external system registered in KATA for this client certificate.
      - Usually a UUID, but any value without V(/), V(?), V(#), V(%) or whitespace is accepted.
      - If not set, the value of the E(KATA_EXTERNAL_SYSTEM_ID) environment variable is used.
    type: str
    required: true
  client_cert:
    description:
      - Path to the PEM client certificate registered for the external system (mutual TLS).
      - The private key may be in the same file.
      - If not set, the value of the E(KATA_CLIENT_CERT) environment variable is used.
    type: path
    required: true
  client_key:
    description:
      - Path to the PEM private key of O(client_cert), when it is not inside that file.
      - If not set, the value of the E(KATA_CLIENT_KEY) environment variable is used.
    type: path
  client_key_passphrase:
    description:
      - Passphrase of an encrypted O(client_key).
      - If not set, the value of the E(KATA_CLIENT_KEY_PASSPHRASE) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the Central Node's TLS certificate.
      - Set to V(false) only for a lab; the module then warns.
      - If not set, the value of the E(KATA_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM CA bundle (file or directory) that signed the Central Node's certificate.
      - Takes precedence over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE).
      - If not set, the value of the E(KATA_CA_PATH) environment variable is used.
    type: path
  request_timeout:
    description:
      - Seconds to wait for each HTTP request; more than 0 and at most 86400.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is repeated after a connection error or HTTP 429, 500, 502, 503 or 504,
        with exponential backoff and the server's C(Retry-After) (capped at 60 seconds).
      - Reads and the settings writes (which replace or delete the whole rule) are safe to repeat.
        Requests that create something (run-process tasks) are repeated only when they did not
        reach the server or the server answered 429 or 503; after HTTP 500 the module reads back instead.
    type: int
    default: 3
  page_size:
    description:
      - Hosts per page when listing the Endpoint Agent hosts (C(GET sensors)), sent as C(max_events); 1 to 10000.
      - Unset by default, so the Central Node chooses. Whatever the page size, every page is read, following
        the answer's C(continuation_token) until an answer has none, over the same kept-alive connection.
      - A token repeated by the server or more than 1000 pages fail the task instead of looping.
    type: int
requirements:
  - requests
notes:
  - "The modules run on the controller (or any host that can reach the Central Node): use
    C(delegate_to: localhost) or a local connection."
  - Use the C(group/kaspersky.edr.kata) action group in C(module_defaults) to set the connection
    options once.
"""

    SENSOR = r"""
options:
  sensor_id:
    description:
      - ID of the Endpoint Agent host (sensor). Compared case-insensitively.
      - Exactly one of O(sensor_id), O(sensor_hostname) or O(sensor_ip) is required.
    type: str
  sensor_hostname:
    description:
      - Host name of the Endpoint Agent host, exactly as the Central Node lists it (case-sensitive).
      - Resolved with one C(GET sensors?host=) request; zero or several matches fail and list the candidates.
    type: str
  sensor_ip:
    description:
      - IP address of the Endpoint Agent host.
      - Resolved with one C(GET sensors?ip=) request; zero or several matches fail and list the candidates.
    type: str
"""

    # The connection options for controller plugins (inventory), read from the plugin's
    # configuration or the same KATA_* environment variables the modules fall back to.
    # The paths are strings: an empty value (as AWX injects for an unused field) means unset.
    # Options of the modules that handle many targets in one run (fleet mode, policies).
    FLEET = r"""
options:
  parallelism:
    description:
      - How many hosts are handled at the same time, each over a kept-alive connection of one shared pool.
        1..32 (the pool size).
      - For C(kata_isolation) and C(kata_prevention), only in fleet mode.
    type: int
    default: 16
  ignore_sensor_errors:
    description:
      - By default the task fails at the end when any host failed (after every other host was processed), listing
        each failed host and why.
      - V(true) reports the failed hosts as warnings and in the per-host results instead, and the task succeeds.
      - For C(kata_isolation) and C(kata_prevention), only in fleet mode.
    type: bool
    default: false
  results:
    description:
      - Which hosts the per-host results list (C(sensor_results), or C(targets) of C(kata_prevention_policy)).
        The C(summary) counts always cover every host.
      - V(all) lists every host.
      - V(changes) lists only the hosts that changed (or would, in check mode), failed or got a warning.
      - Not set, V(all) for up to 100 hosts and V(changes) above. AWX and automation controller store a task's
        result as one job event, about 0.7 KB per host with V(all) (7 MB at 10,000 hosts), against a few
        hundred bytes for a converged fleet with V(changes), which also costs the controller less CPU to
        return and process.
      - For C(kata_isolation) and C(kata_prevention), only in fleet mode; single-host results are unchanged.
    type: str
    choices: [all, changes]
"""

    PLUGIN = r"""
options:
  kata_host:
    description:
      - Host name or IP address of the Central Node.
    type: str
    required: true
    env:
      - name: KATA_HOST
  kata_port:
    description:
      - HTTPS port of the Central Node Response API.
    type: int
    default: 443
    env:
      - name: KATA_PORT
  external_system_id:
    description:
      - ID of the external system registered in KATA for this client certificate.
      - Usually a UUID, but any value without V(/), V(?), V(#), V(%) or whitespace is accepted.
    type: str
    required: true
    env:
      - name: KATA_EXTERNAL_SYSTEM_ID
  client_cert:
    description:
      - Path to the PEM client certificate registered for the external system (mutual TLS).
      - The private key may be in the same file.
    type: str
    required: true
    env:
      - name: KATA_CLIENT_CERT
  client_key:
    description:
      - Path to the PEM private key of O(client_cert), when it is not inside that file.
    type: str
    env:
      - name: KATA_CLIENT_KEY
  client_key_passphrase:
    description:
      - Passphrase of an encrypted O(client_key).
      - Prefer the environment variable or an C(!vault) encrypted value over plain text in the file.
    type: str
    env:
      - name: KATA_CLIENT_KEY_PASSPHRASE
  validate_certs:
    description:
      - Verify the Central Node's TLS certificate.
      - Set to V(false) only for a lab; the plugin then warns.
    type: bool
    default: true
    env:
      - name: KATA_VALIDATE_CERTS
  ca_path:
    description:
      - PEM CA bundle (file or directory) that signed the Central Node's certificate.
      - Takes precedence over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE).
    type: str
    env:
      - name: KATA_CA_PATH
  request_timeout:
    description:
      - Seconds to wait for each HTTP request; more than 0 and at most 86400.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is repeated after a connection error or HTTP 429, 500, 502, 503 or 504,
        with exponential backoff and the server's C(Retry-After) (capped at 60 seconds).
    type: int
    default: 3
  page_size:
    description:
      - Hosts per page when listing the Endpoint Agent hosts (C(GET sensors)), sent as C(max_events); 1 to 10000.
      - Unset by default, so the Central Node chooses. Every page is read, following the answer's
        C(continuation_token); a repeated token or more than 1000 pages fail instead of looping.
    type: int
requirements:
  - requests
"""
