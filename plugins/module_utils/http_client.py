# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP layer of the collection.

Every API client (KATA Central Node, KSC OpenAPI) sends its requests through
:class:`HttpClient`: one keep-alive connection pool per module run (``http_transport``), mutual TLS with an
optionally encrypted key, retries with exponential backoff, and API errors turned into
:class:`ApiError` whose message names the HTTP status, the API's own message, the method
and the path (relative to the API base, so it never carries credentials).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import ipaddress
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

from ansible_collections.kaspersky.edr.plugins.module_utils.http_transport import Transport, encode_query


RETRY_STATUSES = frozenset((429, 502, 503, 504))
# The Central Node documents HTTP 500 as "Internal server error. Repeat the request later.", so its
# client adds 500 for requests that are safe to repeat (KSC answers 500 for its own refusals instead).
RETRY_STATUSES_WITH_500 = RETRY_STATUSES | frozenset((500,))
# A non-idempotent request that reached the server is only repeated when the server said
# explicitly that it did not process it.
RETRY_STATUSES_UNPROCESSED = frozenset((429, 503))
MAX_RETRY_AFTER = 60.0
MAX_REQUEST_TIMEOUT = 86400
MAX_BACKOFF = 30.0
API_MESSAGE_MAX = 500


class ApiError(Exception):
    """An API call failed; ``str()`` is one readable line without secrets."""

    def __init__(self, message, status=None, method=None, path=None, api_message=None, body=None):
        super(ApiError, self).__init__(message)
        self.status = status
        self.method = method
        self.path = path
        self.api_message = api_message
        self.body = body

    def to_dict(self):
        return {"status": self.status, "method": self.method, "path": self.path, "api_message": self.api_message}

    @property
    def may_have_been_applied(self):
        """True when a failed write may still have been applied: no answer, or a gateway's 502/504.

        Any other status is the server's own answer: it refused (4xx, 500) or did not process (503) the request.
        """
        return self.status in (None, 502, 504)


class ConfigurationError(ValueError):
    """Invalid connection settings; raised before any request is sent."""


_HOST_FORBIDDEN = frozenset("/?#@\\%[]\"'<>{}|^`,;")


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
    if ":" in bare:
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


class Closing:
    """``with client:`` closes the client (its ``close()``) at the end of the block."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


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


def encode_path_segment(value):
    """Percent-encode one path segment: ``/ ? # %`` and everything else unsafe.

    ``.`` and ``..`` are encoded too, or they would be removed from the URL as dot segments.
    """
    text = quote(str(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


def extract_api_message(body):
    """Best effort to find the human message inside an error body of unknown shape."""
    if isinstance(body, dict):
        if isinstance(body.get("response"), dict):
            inner = extract_api_message(body["response"])
            if inner:
                return inner
        for key in ("message", "error_description", "errorMessage", "description", "detail", "error", "errors", "msg"):
            value = body.get(key)
            if isinstance(value, (dict, list)):
                nested = extract_api_message(value)
                if nested:
                    return nested
            elif value not in (None, ""):
                return str(value)
        return None
    if isinstance(body, list):
        parts = [extract_api_message(item) for item in body]
        parts = [part for part in parts if part]
        return "; ".join(parts) or None
    if isinstance(body, str) and body.strip():
        return body.strip()
    return None


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


def describe_connection_error(exc, where):
    """Turn a requests/urllib3/ssl exception into one line that names the cause."""
    text = _exception_chain_text(exc)
    lowered = text.lower()
    detail = _short(_root_cause_text(exc))
    if "certificate has expired" in lowered:
        return "TLS error talking to %s: the server certificate has expired (%s)" % (where, detail)
    if "hostname mismatch" in lowered or "doesn't match" in lowered or "not valid for" in lowered:
        return ("TLS error talking to %s: the server certificate does not match the host name "
                "(connect by a name the certificate lists, or fix the certificate): %s" % (where, detail))
    if "certificate verify failed" in lowered:
        return ("TLS error talking to %s: the server certificate could not be verified by the trusted CAs "
                "(set ca_path to the CA bundle that signed it): %s" % (where, detail))
    if any(marker in lowered for marker in (
            "alert certificate required", "alert bad certificate", "alert unknown ca", "alert handshake failure",
            "certificate_required", "bad_certificate", "unknown_ca", "alert certificate unknown",
            "alert access denied", "eof occurred in violation of protocol")):
        return ("TLS error talking to %s: the server rejected the client certificate or closed the TLS "
                "session during the handshake (is client_cert the one registered for this external system, "
                "signed by a CA the server trusts?): %s" % (where, detail))
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "Timed out connecting to %s (request_timeout): %s" % (where, detail)
    if isinstance(exc, requests.exceptions.Timeout):
        return "No answer from %s within request_timeout: %s" % (where, detail)
    if "name or service not known" in lowered or "nodename nor servname" in lowered or \
            "temporary failure in name resolution" in lowered or "failed to resolve" in lowered:
        return "Cannot resolve the host name of %s: %s" % (where, detail)
    if "connection refused" in lowered:
        return "Cannot connect to %s: connection refused (is the host and port right?)" % where
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error talking to %s: %s" % (where, detail)
    return "Connection to %s failed: %s" % (where, detail)


def _exception_chain(exc):
    chain = []
    seen = set()
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        nested = [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
        elif nested:
            current = nested[0]
        else:
            current = current.__cause__ or current.__context__
    return chain


def _exception_chain_text(exc):
    return " | ".join(str(item) for item in _exception_chain(exc) if str(item))


def _root_cause_text(exc):
    """The innermost message, without urllib3's pool and retry wrappers."""
    for item in reversed(_exception_chain(exc)):
        text = str(item)
        if text and "Max retries exceeded" not in text:
            return "%s: %s" % (type(item).__name__, text)
    return str(exc)


def _short(text, limit=300):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _request_reached_server(exc):
    """False only when the failure happened before any byte of the request was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    text = _exception_chain_text(exc).lower()
    return not any(marker in text for marker in (
        "newconnectionerror", "connection refused", "failed to establish a new connection",
        "name or service not known", "failed to resolve"))


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
        timeout = check_request_timeout(timeout)
        if retries is None or int(retries) < 0:
            raise ConfigurationError("retries must be 0 or more, got %r" % (retries,))
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
        self.request_count = 0
        if not validate_certs:
            # The module's own warning below says it once, readably.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        if not validate_certs and warn is not None:
            warn("validate_certs is false: the server certificate of %s is not verified, so anyone on the "
                 "network path can impersonate it" % self.where)

    def close(self):
        self.transport.close()

    def request(self, method, path, params=None, json_body=None, headers=None, idempotent=None,
                data=None, ok_statuses=None):
        """Send one request with retries; return the ``requests.Response`` of a 2xx answer.

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
            self.request_count += 1
            try:
                response = self.transport.send(method.upper(), url, body, headers)
            except requests.exceptions.RequestException as exc:
                retryable = not isinstance(exc, requests.exceptions.SSLError) and \
                    isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)) and \
                    (idempotent or not _request_reached_server(exc))
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
                    method, display, self.where, _short(_root_cause_text(exc))), method=method, path=display)
            status = response.status_code
            if 200 <= status < 300 or (ok_statuses and status in ok_statuses):
                return response
            retry_set = self.retry_statuses if idempotent else RETRY_STATUSES_UNPROCESSED
            if status in retry_set and attempt <= self.retries:
                delay = parse_retry_after(response.headers.get("Retry-After"))
                delay = self._backoff(attempt) if delay is None else min(delay, self.max_retry_after)
                response.close()
                self.sleep(delay)
                continue
            raise self.error_for(response, method, self.display_path(path, params), attempt)

    def error_for(self, response, method, display, attempt=1):
        body = decode_json(response)
        if body is None:
            body = response.text
        api_message = self.error_message(body) if body not in (None, "") else None
        reason = response.reason or ""
        text = "%s %s: HTTP %d %s" % (method, display, response.status_code, reason)
        text = text.rstrip()
        if api_message:
            text += ": %s" % _short(api_message, API_MESSAGE_MAX)
        if attempt > 1:
            text += " (after %d attempts)" % attempt
        return ApiError(text, status=response.status_code, method=method, path=display,
                        api_message=api_message, body=body)

    def _backoff(self, attempt):
        return min(MAX_BACKOFF, self.backoff_factor * (2 ** (attempt - 1)))

    @staticmethod
    def display_path(path, params):
        if not params:
            return path
        query = "&".join("%s=%s" % (key, quote(str(value), safe="")) for key, value in params.items()
                         if value is not None)
        return "%s?%s" % (path, query) if query else path


def decode_json(response):
    """The JSON body of a response, or None when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def require_json(response, method, path):
    """The JSON body of a successful response; a clear ApiError when it is missing or garbled."""
    body = decode_json(response)
    if body is None:
        snippet = _short(response.text or "<empty>", 120)
        raise ApiError("%s %s: HTTP %d but the body is not JSON (truncated or wrong server?): %s"
                       % (method, path, response.status_code, snippet),
                       status=response.status_code, method=method, path=path)
    return body
