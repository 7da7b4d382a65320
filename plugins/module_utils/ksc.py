# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client of the Kaspersky Security Center OpenAPI, the wire protocol the vendor's KlAkOAPI speaks.

KlAkOAPI ships only with KSC, so this module speaks the same protocol with ``requests``
(through the collection's one HTTP layer):

* ``POST /api/v1.0/login`` with ``Authorization: KSCBasic user="<b64>", pass="<b64>",
  domain="<domain>", internal="0|1"`` and ``X-KSC-VServer: <b64 of the virtual server>``.
  The server binds the authenticated session to that TCP connection, so every later call
  goes over the same keep-alive connection.
* ``POST /api/v1.0/<Class>.<Method>`` with a JSON object of named parameters; the answer is
  ``{"PxgRetVal": ..., <out parameters>}`` or ``{"PxgError": {"code", "message", ...}}``,
  the latter with any HTTP status (200 included).
* Typed values are ``{"type": "long"|"datetime"|"params"|"binary"|..., "value": ...}``;
  plain JSON strings, integers, booleans, arrays and objects need no wrapper.
* Searches (``HostGroup.FindHosts``, ``HostGroup.FindIncidents``) return a result-set ID
  (``strAccessor``) read with ``ChunkAccessor.GetItemsCount``/``GetItemsChunk`` and freed
  with ``ChunkAccessor.Release``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import (
    ApiError,
    Closing,
    ConfigurationError,
    HttpClient,
    check_port,
    decode_json,
    extract_api_message,
    require_json,
    url_host,
)

DEFAULT_PORT = 13299
API_PREFIX = "/api/v1.0/"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TYPE_WORDS = frozenset(("long", "datetime", "date", "binary", "float", "double", "params"))
CHUNK_SIZE = 100
ACCESSOR_LIFETIME = 600

HOST_FIELDS = ("KLHST_WKS_HOSTNAME", "KLHST_WKS_DN", "KLHST_WKS_DNSNAME", "KLHST_WKS_DNSDOMAIN",
               "KLHST_WKS_GROUPID", "KLHST_WKS_OS_NAME")
INCIDENT_FIELDS = ("KLINCDT_ID", "KLINCDT_SEVERITY", "KLINCDT_ADDED", "KLINCDT_BODY", "KLINCDT_IS_HANDLED",
                   "KLHST_WKS_HOSTNAME")
# Characters with a meaning inside a quoted filter string: wildcards of the KSC search filter
# and the SQL LIKE ones the server may translate them to. Each is neutralised as a one-character set.
_FILTER_SPECIAL = frozenset("*?[%_")


# ---- typed values ---------------------------------------------------------------------------
def param_long(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("paramLong needs an integer, got %r" % (value,))
    return {"type": "long", "value": value}


def format_datetime(value):
    """A datetime (naive = UTC) as the OpenAPI's ``YYYY-MM-DDTHH:MM:SSZ`` string."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.strftime(DATETIME_FORMAT)


def param_datetime(value):
    if isinstance(value, datetime.datetime):
        value = format_datetime(value)
    elif isinstance(value, str):
        datetime.datetime.strptime(value, DATETIME_FORMAT)  # ValueError when malformed
    else:
        raise TypeError("paramDateTime needs a datetime or a YYYY-MM-DDTHH:MM:SSZ string, got %r" % (value,))
    return {"type": "datetime", "value": value}


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


def is_typed(value):
    return isinstance(value, dict) and set(value) == {"type", "value"} and value["type"] in TYPE_WORDS


def unwrap_value(value):
    """Plain Python values from the wire format: long/float/double -> number, params -> dict,
    binary -> bytes, datetime/date -> their string; recursively through arrays and params."""
    if is_typed(value):
        kind, inner = value["type"], value["value"]
        if kind == "params":
            return unwrap_value(inner if isinstance(inner, dict) else {})
        if kind == "binary":
            try:
                return base64.b64decode(inner or "")
            except (TypeError, ValueError):
                return inner
        return inner
    if isinstance(value, dict):
        return dict((key, unwrap_value(item)) for key, item in value.items())
    if isinstance(value, list):
        return [unwrap_value(item) for item in value]
    return value


# ---- search filters -------------------------------------------------------------------------
def filter_string(value, wildcards=False):
    """``value`` as a quoted string of the KSC search filter syntax.

    Quotes are doubled (the documented escape). Unless ``wildcards`` is true, the wildcard
    characters ``* ? [`` (and ``% _``, in case the server hands the pattern to SQL LIKE) are
    each written as a one-character set such as ``[*]``, so they only match themselves.
    """
    out = []
    for char in str(value):
        if char == '"':
            out.append('""')
        elif char in _FILTER_SPECIAL and not (wildcards and char in "*?"):
            out.append("[%s]" % char)
        else:
            out.append(char)
    return '"%s"' % "".join(out)


def filter_equals(attribute, value):
    return "(%s=%s)" % (attribute, filter_string(value))


# ---- errors ---------------------------------------------------------------------------------
def pxg_error(body):
    """The ``PxgError`` container of an answer, or None."""
    if isinstance(body, dict) and isinstance(body.get("PxgError"), dict):
        return unwrap_value(body["PxgError"])
    return None


def describe_pxg_error(error):
    code = error.get("code")
    subcode = error.get("subcode")
    module = error.get("module")
    message = error.get("message") or "no message"
    locdata = error.get("locdata")
    if isinstance(locdata, dict) and not error.get("message"):
        message = _localized(locdata) or message
    ident = "KSC error"
    if code is not None:
        ident += " %s" % code
        if subcode not in (None, 0):
            ident += "/%s" % subcode
    if module:
        ident += " (%s)" % module
    return "%s: %s" % (ident, message)


def _localized(locdata):
    text = locdata.get("format")
    if not isinstance(text, str):
        return None
    for index, arg in enumerate(locdata.get("args") or [], start=1):
        text = text.replace("%%%d" % index, str(arg))
    return text


def ksc_error_message(body):
    """The readable message of an error answer: PxgError first, any other shape second."""
    error = pxg_error(body)
    if error is not None:
        return describe_pxg_error(error)
    return extract_api_message(body)


class KscError(ApiError):
    """A call answered with PxgError (whatever the HTTP status)."""

    def __init__(self, message, pxg=None, **kwargs):
        super(KscError, self).__init__(message, **kwargs)
        self.pxg = pxg or {}

    def to_dict(self):
        result = super(KscError, self).to_dict()
        result["pxg_error"] = dict((key, self.pxg.get(key)) for key in ("code", "subcode", "module", "message")
                                   if key in self.pxg)
        return result


class KscAuthError(ApiError):
    """Login refused: wrong user, password, domain, internal flag or virtual server."""


class HostNotFound(ApiError):
    pass


# ---- the client -----------------------------------------------------------------------------
class KscClient(Closing):
    """One KSC Administration Server session for the length of a module run."""

    def __init__(self, ksc_host, ksc_username, ksc_password, ksc_port=DEFAULT_PORT, ksc_domain=None,
                 ksc_internal_user=False, ksc_vserver=None, validate_certs=True, ca_path=None, request_timeout=30.0,
                 retries=3, warn=None, **http_kwargs):
        host = str(ksc_host or "").strip()
        if not host:
            raise ConfigurationError("ksc_host is required (or set KSC_HOST)")
        if "://" in host or "/" in host:
            raise ConfigurationError("ksc_host must be a host name or IP address, not a URL: %s" % host)
        if not ksc_username:
            raise ConfigurationError("ksc_username is required (or set KSC_USERNAME)")
        if ksc_password is None or ksc_password == "":
            raise ConfigurationError("ksc_password is required (or set KSC_PASSWORD)")
        port = check_port(ksc_port, "ksc_port")
        host = url_host(host, "ksc_host")
        if any(char in '"\\' or not " " <= char <= "~" for char in ksc_domain or ""):
            raise ConfigurationError("ksc_domain must be a domain name in printable ASCII without '\"' or '\\', "
                                     "got %r" % ksc_domain)
        self.username = ksc_username
        self.domain = ksc_domain or ""
        self.internal = bool(ksc_internal_user)
        self.vserver = ksc_vserver or ""
        self.where = "%s:%d" % (host, port)
        self._auth_header = 'KSCBasic user="%s", pass="%s", domain="%s", internal="%d"' % (
            _b64(ksc_username), _b64(ksc_password), self.domain, int(self.internal))
        self.warn = warn
        self.base_url = "https://%s:%d%s" % (host, port, API_PREFIX)
        self.http = HttpClient(self.base_url, validate_certs=validate_certs, ca_path=ca_path,
                               timeout=request_timeout, retries=retries, error_message=ksc_error_message,
                               warn=warn, **http_kwargs)
        self.logged_in = False
        self.login_count = 0  # successful logins: a new session means the old one's result-sets are gone

    def close(self):
        self.http.close()

    # ---- session ---------------------------------------------------------------------------
    def login(self):
        """``POST login`` with KSCBasic; the session then lives on this keep-alive connection."""
        headers = {"Authorization": self._auth_header, "X-KSC-VServer": _b64(self.vserver)}
        try:
            response = self.http.request("POST", "login", json_body={}, headers=headers, idempotent=True)
        except ApiError as exc:
            if exc.status in (401, 403):
                raise self._auth_error(exc.api_message, exc.status)
            raise
        body = decode_json(response)
        error = pxg_error(body)
        if error is not None:
            raise self._auth_error(describe_pxg_error(error), response.status_code)
        self.logged_in = True
        self.login_count += 1

    def _auth_error(self, detail, status):
        who = "authentication failed for user %s on host %s" % (self.username, self.where)
        context = []
        if self.domain:
            context.append("domain %s" % self.domain)
        context.append("internal user: %s" % ("yes" if self.internal else "no"))
        if self.vserver:
            context.append("virtual server %s" % self.vserver)
        text = "KSC login: %s (%s); check ksc_username, ksc_password, ksc_domain, ksc_internal_user%s" % (
            who, ", ".join(context), " and ksc_vserver" if self.vserver else "")
        if detail:
            text += ". Server said: %s" % detail
        return KscAuthError(text, status=status, method="POST", path="login", api_message=detail)

    # ---- calls -----------------------------------------------------------------------------
    def call(self, method, params=None, idempotent=True):
        """Call ``Class.Method`` with named parameters; return ``(PxgRetVal, out_params)``.

        ``out_params`` is the answer without ``PxgRetVal`` (values still in wire format).
        A 401 means the connection carries no session (the server or a proxy closed the
        keep-alive connection and a new one was opened): the call was not executed, so the
        client logs in again and repeats it once, also for non-idempotent methods.
        """
        if not self.logged_in:
            self.login()
        try:
            response = self.http.request("POST", method, json_body=params or {}, idempotent=idempotent)
        except ApiError as exc:
            if exc.status != 401 or isinstance(exc, KscAuthError):
                raise self._with_pxg(exc)
            self.logged_in = False
            self.login()
            try:
                response = self.http.request("POST", method, json_body=params or {}, idempotent=idempotent)
            except ApiError as again:
                raise self._with_pxg(again)
        body = require_json(response, "POST", method) if response.content else {}
        error = pxg_error(body)
        if error is not None:
            raise KscError("POST %s: HTTP %d but %s" % (method, response.status_code, describe_pxg_error(error)),
                           pxg=error, status=response.status_code, method="POST", path=method,
                           api_message=describe_pxg_error(error), body=body)
        if not isinstance(body, dict):
            raise ApiError("POST %s: HTTP %d but the answer is not a JSON object: %.120s"
                           % (method, response.status_code, json.dumps(body)),
                           status=response.status_code, method="POST", path=method)
        out = dict(body)
        retval = out.pop("PxgRetVal", None)
        return retval, out

    @staticmethod
    def _with_pxg(exc):
        """An ApiError for an HTTP error status whose body is a PxgError becomes a KscError."""
        error = pxg_error(exc.body)
        if error is None or isinstance(exc, KscError):
            return exc
        return KscError(str(exc), pxg=error, status=exc.status, method=exc.method, path=exc.path,
                        api_message=exc.api_message, body=exc.body)

    # ---- result sets -----------------------------------------------------------------------
    def read_accessor(self, accessor, limit=None, chunk_size=CHUNK_SIZE):
        """``(total, items)`` of a result-set, at most ``limit`` items; always released."""
        failed = True
        try:
            total = self.call("ChunkAccessor.GetItemsCount", {"strAccessor": accessor})[0]
            total = _as_int(unwrap_value(total), "ChunkAccessor.GetItemsCount")
            items = []
            wanted = total if limit is None else min(total, limit)
            while len(items) < wanted:
                out = self.call("ChunkAccessor.GetItemsChunk", {
                    "strAccessor": accessor, "nStart": len(items), "nCount": min(chunk_size, wanted - len(items))})[1]
                chunk = read_chunk(out)
                if not chunk:
                    # Reading this as "no more items" would hide hosts or pending incidents (and a hidden
                    # pending incident means a second one is created): the result-set said it has more.
                    raise ApiError("POST ChunkAccessor.GetItemsChunk: HTTP 200 but the answer has no items at "
                                   "position %d of %d (unexpected shape, pChunk missing or empty): %.200s"
                                   % (len(items), total, json.dumps(out)), status=200, method="POST",
                                   path="ChunkAccessor.GetItemsChunk", api_message="unexpected answer shape")
                items.extend(chunk)
            failed = False
            return total, items[:wanted]
        finally:
            self.release(accessor, quiet=failed)

    def release(self, accessor, quiet=False):
        try:
            self.call("ChunkAccessor.Release", {"strAccessor": accessor})
        except ApiError as exc:
            # The result-set also expires after lMaxLifeTime; never hide the real error.
            if not quiet and self.warn is not None:
                self.warn("ChunkAccessor.Release failed (the result-set expires by itself): %s" % exc)

    def search(self, method, params, limit=None):
        """Run a Find* method that returns ``strAccessor``; ``(total, items)``.

        A result-set belongs to the session that made it. When the connection was lost while
        reading it (the client logged in again on a new connection), the search runs once more:
        Find* methods only read, so repeating them is safe.
        """
        for attempt in (1, 2):
            out = self.call(method, params)[1]
            logins = self.login_count  # the session that owns the result-set
            accessor = out.get("strAccessor")
            if not isinstance(accessor, str) or not accessor:
                raise ApiError("POST %s: the answer has no strAccessor: %.200s" % (method, json.dumps(out)),
                               method="POST", path=method)
            try:
                return self.read_accessor(accessor, limit=limit)
            except ApiError:
                if attempt == 2 or self.login_count == logins:
                    raise

    # ---- hosts -----------------------------------------------------------------------------
    def find_hosts(self, wstr_filter, fields=HOST_FIELDS, limit=None):
        return self.search("HostGroup.FindHosts", {
            "wstrFilter": wstr_filter,
            "vecFieldsToReturn": list(fields),
            "vecFieldsToOrder": [],
            "pParams": {"KLGRP_FIND_FROM_CUR_VS_ONLY": True},
            "lMaxLifeTime": ACCESSOR_LIFETIME,
        }, limit=limit)

    def resolve_host(self, host_id=None, hostname=None, candidates_limit=20):
        """The host's attributes, by KSC host ID (``KLHST_WKS_HOSTNAME``) or by name.

        A name matches the display name (``KLHST_WKS_DN``), the DNS name
        (``KLHST_WKS_DNSNAME``) or, for ``name.domain``, DNS name plus DNS domain.
        """
        if host_id:
            hosts = self.find_hosts(filter_equals("KLHST_WKS_HOSTNAME", host_id), limit=2)[1]
            if len(hosts) == 1:
                return hosts[0]
            if not hosts:
                raise HostNotFound("No host with target_host=%s (KSC host ID, KLHST_WKS_HOSTNAME) on %s%s" % (
                    host_id, self.where, " (virtual server %s)" % self.vserver if self.vserver else ""))
            raise HostNotFound("%d hosts have KSC host ID %s: %s" % (len(hosts), host_id, describe_hosts(hosts)))
        total, hosts = self.find_hosts(hostname_filter(hostname), limit=candidates_limit)
        unique = _unique_hosts(hosts)
        if len(unique) == 1 and total <= len(hosts):
            return unique[0]
        if not unique:
            similar = self._similar_hosts(hostname)
            raise HostNotFound("No host matches target_hostname=%s (display name, DNS name or DNS name.domain) on "
                               "%s%s%s" % (hostname, self.where,
                                           " (virtual server %s)" % self.vserver if self.vserver else "",
                                           "; similar hosts: %s" % similar if similar else ""))
        more = " and %d more" % (total - len(hosts)) if total > len(hosts) else ""
        raise HostNotFound("%d hosts match target_hostname=%s, use target_host (the KSC host ID) to pick one: %s%s"
                           % (max(total, len(unique)), hostname, describe_hosts(unique), more))

    def _similar_hosts(self, hostname, limit=10):
        short = str(hostname).split(".", 1)[0]
        if not short:
            return ""
        pattern = "*%s*" % filter_string(short)[1:-1]
        wstr_filter = '(|(KLHST_WKS_DN="%s")(KLHST_WKS_DNSNAME="%s"))' % (pattern, pattern)
        try:
            hosts = self.find_hosts(wstr_filter, limit=limit)[1]
        except ApiError:
            return ""
        return describe_hosts(_unique_hosts(hosts))

    # ---- incidents -------------------------------------------------------------------------
    def find_incidents(self, wstr_filter, fields=INCIDENT_FIELDS, limit=None):
        return self.search("HostGroup.FindIncidents", {
            "strFilter": wstr_filter,
            "pFieldsToReturn": list(fields),
            "pFieldsToOrder": [],
            "lMaxLifeTime": ACCESSOR_LIFETIME,
        }, limit=limit)

    def pending_incidents(self, host_id):
        """Incidents of the host that are not handled yet (``KLINCDT_IS_HANDLED`` false)."""
        wstr_filter = "(&%s(KLINCDT_IS_HANDLED=0))" % filter_equals("KLHST_WKS_HOSTNAME", host_id)
        return self.find_incidents(wstr_filter)[1]

    def add_incident(self, host_id, body, severity, added=None):
        """``HostGroup.AddIncident`` as the vendor's sample does it; returns the incident ID.

        Never repeated blindly: a second incident would queue the response twice.
        """
        if added is None:
            added = datetime.datetime.now(datetime.timezone.utc)
        retval = self.call("HostGroup.AddIncident", {"pData": {
            "KLINCDT_SEVERITY": severity,
            "KLINCDT_ADDED": param_datetime(added),
            "KLINCDT_BODY": body,
            "KLHST_WKS_HOSTNAME": host_id,
        }}, idempotent=False)[0]
        return _as_int(unwrap_value(retval), "HostGroup.AddIncident")

    def update_incident(self, incident_id, data):
        # Setting the same attributes twice has the same effect: safe to repeat.
        self.call("HostGroup.UpdateIncident", {"nId": incident_id, "pData": data}, idempotent=True)


def hostname_filter(hostname):
    name = str(hostname)
    parts = [filter_equals("KLHST_WKS_DN", name), filter_equals("KLHST_WKS_DNSNAME", name)]
    if "." in name.strip(".") and not name.endswith("."):
        short, domain = name.split(".", 1)
        parts.append("(&%s%s)" % (filter_equals("KLHST_WKS_DNSNAME", short), filter_equals("KLHST_WKS_DNSDOMAIN", domain)))
    return "(|%s)" % "".join(parts)


def read_chunk(out):
    """The items of a ``ChunkAccessor.GetItemsChunk`` answer as plain dicts."""
    chunk = unwrap_value(out.get("pChunk"))
    if not isinstance(chunk, dict):
        return []
    items = chunk.get("KLCSP_ITERATOR_ARRAY") or []
    return [item for item in items if isinstance(item, dict)]


def describe_host(host):
    name = host.get("KLHST_WKS_DN") or "?"
    dns = host.get("KLHST_WKS_DNSNAME")
    if dns and host.get("KLHST_WKS_DNSDOMAIN"):
        dns = "%s.%s" % (dns, host["KLHST_WKS_DNSDOMAIN"])
    return "%s (host ID %s, DNS %s, group %s)" % (name, host.get("KLHST_WKS_HOSTNAME") or "?", dns or "?",
                                                  host.get("KLHST_WKS_GROUPID", "?"))


def describe_hosts(hosts):
    return "; ".join(describe_host(host) for host in hosts)


def _unique_hosts(hosts):
    seen = set()
    unique = []
    for host in hosts:
        key = host.get("KLHST_WKS_HOSTNAME") or id(host)
        if key not in seen:
            seen.add(key)
            unique.append(host)
    return unique


def _as_int(value, method):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("POST %s: expected an integer PxgRetVal, got %r" % (method, value), method="POST", path=method)
    return value


def _b64(text):
    return base64.b64encode(str(text).encode("utf-8")).decode("ascii")
