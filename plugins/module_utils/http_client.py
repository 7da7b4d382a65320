# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP layer of the collection.

Every API client (KATA Central Node, KSC OpenAPI) sends its requests through
:class:`HttpClient`: one keep-alive connection pool per module run (``http_transport``), mutual TLS with an
optionally encrypted key, and the retry policy: which requests are repeated on which failures, with exponential
backoff and ``Retry-After``. A failure becomes an :class:`http_errors.ApiError` (one readable line, see
``http_errors``); the settings come checked from ``connection_options``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import json
import os
import ssl
import time
import traceback

try:
    import requests
    import urllib3
    from requests.utils import quote

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

    def quote(value, safe=""):
        raise NotImplementedError("requests is required")

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import (
    ApiError,
    ConfigurationError,
    describe_connection_error,
    extract_api_message,
    request_reached_server,
    response_error,
    root_cause_text,
    short_text,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.http_transport import Transport, encode_query


RETRY_STATUSES = frozenset((429, 502, 503, 504))
# The Central Node documents HTTP 500 as "Internal server error. Repeat the request later.", so its
# client adds 500 for requests that are safe to repeat (KSC answers 500 for its own refusals instead).
RETRY_STATUSES_WITH_500 = RETRY_STATUSES | frozenset((500,))
# A non-idempotent request that reached the server is only repeated when the server said
# explicitly that it did not process it.
RETRY_STATUSES_UNPROCESSED = frozenset((429, 503))
MAX_RETRY_AFTER = 60.0
MAX_BACKOFF = 30.0


class Closing:
    """``with client:`` closes the client (its ``close()``) at the end of the block."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def encode_path_segment(value):
    """Percent-encode one path segment: ``/ ? # %`` and everything else unsafe.

    ``.`` and ``..`` are encoded too, or they would be removed from the URL as dot segments.
    """
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, parsed.timestamp() - now)


def build_ssl_context(validate_certs=True, ca_path=None, client_cert=None, client_key=None,
                      client_key_passphrase=None):
    """The TLS settings of one run; invalid files fail here, before any request."""
    if ca_path and not os.path.exists(ca_path):
        raise ConfigurationError("ca_path %s does not exist" % ca_path)
    if validate_certs:
        try:
            context = ssl.create_default_context(cafile=ca_path if ca_path and os.path.isfile(ca_path) else None,
                                                 capath=ca_path if ca_path and os.path.isdir(ca_path) else None)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigurationError("ca_path %s is not a readable PEM CA bundle: %s" % (ca_path, exc))
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert:
        for option, path in (("client_cert", client_cert), ("client_key", client_key)):
            if path and not os.path.isfile(path):
                raise ConfigurationError("%s %s does not exist or is not a file" % (option, path))
        try:
            context.load_cert_chain(client_cert, keyfile=client_key or None,
                                    password=(client_key_passphrase or "").encode("utf-8") or _no_passphrase)
        except ssl.SSLError as exc:
            raise ConfigurationError(
                "client_cert/client_key could not be loaded (%s): check that the key matches the certificate, "
                "that the key is PEM (inside client_cert or in client_key) and that client_key_passphrase is "
                "right for an encrypted key" % (getattr(exc, "reason", None) or exc))
        except OSError as exc:
            raise ConfigurationError("client_cert/client_key could not be read: %s" % exc.strerror)
    elif client_key:
        raise ConfigurationError("client_key is set but client_cert is not")
    return context


def _no_passphrase():
    """Password callback for an encrypted key without client_key_passphrase: fail, never prompt."""
    raise ssl.SSLError("the client key is encrypted and client_key_passphrase is not set")


class HttpClient(Closing):
    """Keep-alive HTTPS connections with retries, used by the product-specific clients.

    ``base_url`` ends with a slash; ``path`` arguments are relative to it and appear in
    error messages as given.
    """

    def __init__(self, base_url, validate_certs=True, ca_path=None, client_cert=None, client_key=None,
                 client_key_passphrase=None, timeout=30.0, retries=3, backoff_factor=0.5,
                 max_retry_after=MAX_RETRY_AFTER, error_message=extract_api_message, sleep=time.sleep,
                 user_agent="kaspersky.edr", warn=None, retry_statuses=RETRY_STATUSES):
        if not HAS_REQUESTS:
            raise ConfigurationError("the Python library requests is required")
        self.base_url = base_url
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff_factor = backoff_factor
        # Statuses repeated for a request that is safe to repeat (idempotent); a create is repeated only on
        # RETRY_STATUSES_UNPROCESSED, where the server said it did not process the request.
        self.retry_statuses = frozenset(retry_statuses)
        self.max_retry_after = max_retry_after
        self.error_message = error_message
        self.sleep = sleep
        self.where = base_url.split("//", 1)[-1].split("/", 1)[0]
        # ca_path, never REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE (requests let those override a Session's verify).
        self.verify = (ca_path or True) if validate_certs else False
        # The proxy environment (HTTPS_PROXY, NO_PROXY, ...) is read once here, never per request, and
        # ~/.netrc not at all: a .netrc password is never sent.
        self.proxies = requests.utils.get_environ_proxies(base_url) or None
        context = build_ssl_context(validate_certs, ca_path, client_cert, client_key, client_key_passphrase)
        proxy = requests.utils.select_proxy(base_url, self.proxies) if self.proxies else None
        self.transport = Transport(base_url, context, self.verify, self.timeout, user_agent, proxy=proxy)
        if not validate_certs and warn is not None:
            warn("validate_certs is false: the server certificate of %s is not verified, so anyone on the "
                 "network path can impersonate it" % self.where)

    def close(self):
        self.transport.close()

    def request(self, method, path, params=None, json_body=None, headers=None, idempotent=None,
                data=None, ok_statuses=None):
        """Send one request with retries; return the ``http_transport.Response`` of a 2xx answer.

        ``ok_statuses`` adds statuses that are returned instead of raised (e.g. 404 on a
        lookup). ``idempotent`` defaults to true for everything but POST.
        """
        if idempotent is None:
            idempotent = method.upper() != "POST"
        url = self.base_url + path
        query = encode_query(params) if params else ""
        if query:
            url += "?" + query
        body = None
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            headers = dict(headers or {}, **{"Content-Type": "application/json"})
        elif data is not None:
            body = data
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.transport.send(method.upper(), url, body, headers)
            except requests.exceptions.RequestException as exc:
                retryable = not isinstance(exc, requests.exceptions.SSLError) and \
                    isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)) and \
                    (idempotent or not request_reached_server(exc))
                if retryable and attempt <= self.retries:
                    self.sleep(self._backoff(attempt))
                    continue
                message = describe_connection_error(exc, self.where)
                if attempt > 1:
                    message += " (after %d attempts)" % attempt
                display = self.display_path(path, params)
                raise ApiError("%s %s: %s" % (method, display, message), method=method, path=display)
            except (ValueError, urllib3.exceptions.HTTPError) as exc:
                # Input the URL or header layer refuses (e.g. a host name no resolver accepts): one line.
                display = self.display_path(path, params)
                raise ApiError("%s %s: the request could not be sent to %s: %s" % (
                    method, display, self.where, short_text(root_cause_text(exc))), method=method, path=display)
            status = response.status_code
            if 200 <= status < 300 or (ok_statuses and status in ok_statuses):
                return response
            retry_set = self.retry_statuses if idempotent else RETRY_STATUSES_UNPROCESSED
            if status in retry_set and attempt <= self.retries:
                delay = parse_retry_after(response.headers.get("Retry-After"))
                delay = self._backoff(attempt) if delay is None else min(delay, self.max_retry_after)
                self.sleep(delay)
                continue
            raise response_error(response, method, self.display_path(path, params), attempt, self.error_message)

    def _backoff(self, attempt):
        return min(MAX_BACKOFF, self.backoff_factor * (2 ** (attempt - 1)))

    @staticmethod
    def display_path(path, params):
        if not params:
            return path
        query = "&".join("%s=%s" % (key, quote(str(value), safe="")) for key, value in params.items()
                         if value is not None)
        return "%s?%s" % (path, query) if query else path
