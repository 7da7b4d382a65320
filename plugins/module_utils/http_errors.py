# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can go wrong talking to an API, as one readable line without secrets.

:class:`ConfigurationError` for settings refused before any request, :class:`ApiError` for a request that failed:
its message names the HTTP status, the API's own message (found in an error body of any shape), the method and the
path relative to the API base (so it never carries credentials), or, without an answer, the cause of the connection
failure (TLS, DNS, refused, timeout).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import requests
except ImportError:  # reported by http_client (HAS_REQUESTS)
    pass


API_MESSAGE_MAX = 500


class ConfigurationError(ValueError):
    """Invalid settings or input, named by option; raised before any request is sent."""


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


def describe_connection_error(exc, where):
    """Turn a requests/urllib3/ssl exception into one line that names the cause."""
    text = _exception_chain_text(exc)
    lowered = text.lower()
    detail = short_text(root_cause_text(exc))
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


def root_cause_text(exc):
    """The innermost message, without urllib3's pool and retry wrappers."""
    for item in reversed(_exception_chain(exc)):
        text = str(item)
        if text and "Max retries exceeded" not in text:
            return "%s: %s" % (type(item).__name__, text)
    return str(exc)


def short_text(text, limit=300):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def request_reached_server(exc):
    """False only when the failure happened before any byte of the request was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    text = _exception_chain_text(exc).lower()
    return not any(marker in text for marker in (
        "newconnectionerror", "connection refused", "failed to establish a new connection",
        "name or service not known", "failed to resolve"))


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
        snippet = short_text(response.text or "<empty>", 120)
        raise ApiError("%s %s: HTTP %d but the body is not JSON (truncated or wrong server?): %s"
                       % (method, path, response.status_code, snippet),
                       status=response.status_code, method=method, path=path)
    return body


def response_error(response, method, display, attempt=1, error_message=extract_api_message):
    """The ApiError of an HTTP error answer: status, reason, the API's own message (``error_message`` of the body)."""
    body = decode_json(response)
    if body is None:
        body = response.text
    api_message = error_message(body) if body not in (None, "") else None
    text = ("%s %s: HTTP %d %s" % (method, display, response.status_code, response.reason or "")).rstrip()
    if api_message:
        text += ": %s" % short_text(api_message, API_MESSAGE_MAX)
    if attempt > 1:
        text += " (after %d attempts)" % attempt
    return ApiError(text, status=response.status_code, method=method, path=display, api_message=api_message,
                    body=body)
