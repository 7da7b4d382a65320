# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wire under :class:`http_client.HttpClient`: one urllib3 connection pool to one HTTPS origin.

``requests.Session.request`` rebuilt its per-request state on every call (settings merged with the
environment, cookies, hooks, the URL parsed and re-quoted, the TLS context and the CA path looked up
again): two thirds of a fleet module's CPU per request (docs/performance.md). Here everything that
is the same for every request of a run is decided once, when the client is built: the pool (or the
proxy's pool), the TLS context, the CA files, the headers, the timeout. A request is then one
request on that pool (``HTTPSConnectionPool.request``).

What ``requests`` did is kept: the proxy from the environment (``HTTPS_PROXY``, ``NO_PROXY``, with
its credentials), the CA bundle ``requests`` would have added when ``ca_path`` is not set, the
default headers, a ``Content-Length: 0`` on body-less writes, and its exception classes, raised
exactly where ``requests`` raised them, so :func:`http_errors.describe_connection_error` and the
retry rules see what they always saw. ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` are not read
(they never were: ``ca_path`` wins).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import os

try:
    import requests
    import requests.certs
    import requests.utils
    import urllib3
    from urllib3.exceptions import (
        ClosedPoolError,
        ConnectTimeoutError,
        DecodeError,
        HTTPError as _HTTPError,
        InvalidHeader as _InvalidHeader,
        MaxRetryError,
        NewConnectionError,
        ProtocolError,
        ProxyError as _ProxyError,
        ReadTimeoutError,
        ResponseError,
        SSLError as _SSLError,
    )
    from urllib3.connectionpool import HTTPConnectionPool
    from urllib3.util.retry import Retry
except ImportError:  # reported by http_client (HAS_REQUESTS)
    pass

try:
    from urllib.parse import urlencode, urlsplit
except ImportError:  # pragma: no cover - Python 2
    from urllib import urlencode
    from urlparse import urlsplit


class Response(collections.namedtuple("Response", "status_code reason headers content")):
    """The parts of an answer the clients read; the body is read before the connection goes back to the pool."""

    __slots__ = ()

    @property
    def ok(self):
        return self.status_code < 400

    @property
    def text(self):
        encoding = requests.utils.get_encoding_from_headers(self.headers) or "utf-8"
        try:
            return self.content.decode(encoding, "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


def encode_query(params):
    """``params`` as ``requests`` encodes them: None values left out, lists repeated, ``quote_plus``."""
    pairs = []
    for key, value in params.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((key, item) for item in values if item is not None)
    return urlencode(pairs, doseq=True)


def _proxy_manager(proxy, ssl_context, maxsize):
    proxy = requests.utils.prepend_scheme_if_needed(proxy, "http")
    if proxy.lower().startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager
        username, password = requests.utils.get_auth_from_url(proxy)
        return SOCKSProxyManager(proxy, username=username, password=password, num_pools=4, maxsize=maxsize,
                                 ssl_context=ssl_context)
    headers = {}
    username, password = requests.utils.get_auth_from_url(proxy)
    if username:
        headers = urllib3.util.make_headers(proxy_basic_auth="%s:%s" % (username, password))
    return urllib3.ProxyManager(proxy, proxy_headers=headers, num_pools=4, maxsize=maxsize, ssl_context=ssl_context)


_UNVERIFIED_POOLS = {}


def _unverified_pool_class(base):
    """``base`` (an HTTPS pool class) without its InsecureRequestWarning, for ``validate_certs=false``.

    The client says it once, readably, through the module's or plugin's warning. Suppressing it in ``warnings``
    instead would change the filters of the whole process (the controller, for the inventory and action plugins),
    and ``warnings.catch_warnings()`` is not safe with the threads of a fleet run.
    """
    if base not in _UNVERIFIED_POOLS:
        def _validate_conn(self, conn):
            # HTTPSConnectionPool._validate_conn connects early (so TLS errors are raised where the pool wraps them)
            # and then warns; this does the first only. urllib3 1.26 has no is_closed, only sock.
            HTTPConnectionPool._validate_conn(self, conn)
            closed = getattr(conn, "is_closed", None)
            if closed if closed is not None else getattr(conn, "sock", None) is None:
                conn.connect()

        _UNVERIFIED_POOLS[base] = type("Unverified" + base.__name__, (base,), {"_validate_conn": _validate_conn})
    return _UNVERIFIED_POOLS[base]


class Transport:
    """Keep-alive connections to the origin of ``base_url`` (through ``proxy`` when given), safe for threads."""

    def __init__(self, base_url, ssl_context, verify, timeout, user_agent, proxy=None, maxsize=32):
        parts = urlsplit(base_url)
        self.origin = "%s://%s" % (parts.scheme, parts.netloc)
        self.timeout = urllib3.Timeout(connect=timeout, read=timeout)
        # requests' adapter: no retries of its own (HttpClient retries), and no read retries.
        self.no_retries = Retry(0, read=False)
        if proxy:
            self.manager = _proxy_manager(proxy, ssl_context, maxsize)
        else:
            self.manager = urllib3.PoolManager(num_pools=4, maxsize=maxsize, ssl_context=ssl_context)
        if not verify:
            classes = self.manager.pool_classes_by_scheme
            self.manager.pool_classes_by_scheme = dict(classes, https=_unverified_pool_class(classes["https"]))
        self.pool = self.manager.connection_from_url(self.origin)
        # What requests' cert_verify set on the pool for each request; the CA files are read once per connection.
        if verify:
            self.pool.cert_reqs = "CERT_REQUIRED"
            ca = requests.certs.where() if verify is True else verify
            if verify is not True and os.path.isdir(verify):
                self.pool.ca_cert_dir = ca
            else:
                self.pool.ca_certs = ca
        else:
            self.pool.cert_reqs = "CERT_NONE"
            self.pool.ca_certs = None
            self.pool.ca_cert_dir = None
        headers = requests.utils.default_headers()
        headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        self.headers = dict(headers)

    def close(self):
        self.manager.clear()

    def send(self, method, url, body=None, headers=None):
        """One request to ``url`` (on this origin); a :class:`Response`, or the exception requests would raise."""
        target = url[len(self.origin):] if url.startswith(self.origin) else url
        all_headers = dict(self.headers, **headers) if headers else dict(self.headers)
        if body is not None:
            all_headers["Content-Length"] = str(len(body))
        elif method not in ("GET", "HEAD"):
            all_headers["Content-Length"] = "0"
        try:
            answer = self.pool.request(method=method, url=target, body=body, headers=all_headers, redirect=False,
                                       assert_same_host=False, preload_content=False, decode_content=False,
                                       retries=self.no_retries, timeout=self.timeout)
            try:
                content = _read_body(answer)
            finally:
                answer.release_conn()
        except requests.exceptions.RequestException:
            raise  # already what requests raised (_read_body); it is an OSError too
        except (ProtocolError, OSError) as exc:
            raise requests.exceptions.ConnectionError(exc)
        except MaxRetryError as exc:
            if isinstance(exc.reason, ConnectTimeoutError) and not isinstance(exc.reason, NewConnectionError):
                raise requests.exceptions.ConnectTimeout(exc)
            if isinstance(exc.reason, ResponseError):
                raise requests.exceptions.RetryError(exc)
            if isinstance(exc.reason, _ProxyError):
                raise requests.exceptions.ProxyError(exc)
            if isinstance(exc.reason, _SSLError):
                raise requests.exceptions.SSLError(exc)
            raise requests.exceptions.ConnectionError(exc)
        except ClosedPoolError as exc:
            raise requests.exceptions.ConnectionError(exc)
        except _ProxyError as exc:
            raise requests.exceptions.ProxyError(exc)
        except (_SSLError, _HTTPError) as exc:
            if isinstance(exc, _SSLError):
                raise requests.exceptions.SSLError(exc)
            if isinstance(exc, ReadTimeoutError):
                raise requests.exceptions.ReadTimeout(exc)
            if isinstance(exc, _InvalidHeader):
                raise requests.exceptions.InvalidHeader(exc)
            raise
        return Response(answer.status, answer.reason, answer.headers, content)


def _read_body(answer):
    """The whole body, decoded (gzip, deflate), with the errors requests raised while reading it."""
    try:
        return answer.read(decode_content=True)
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc)
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc)
    except ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc)
    except _SSLError as exc:
        raise requests.exceptions.SSLError(exc)
