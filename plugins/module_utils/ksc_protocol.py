# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kaspersky Security Center OpenAPI wire protocol, the one the vendor's KlAkOAPI speaks.

What goes over the wire, apart from the session and what is asked (``ksc.KscClient``):

* ``POST /api/v1.0/login`` with ``Authorization: KSCBasic user="<b64>", pass="<b64>",
  domain="<domain>", internal="0|1"`` and ``X-KSC-VServer: <b64 of the virtual server>``
  (:func:`login_headers`).
* ``POST /api/v1.0/<Class>.<Method>`` with a JSON object of named parameters; the answer is
  ``{"PxgRetVal": ..., <out parameters>}`` or ``{"PxgError": {"code", "message", ...}}``,
  the latter with any HTTP status (200 included) (:func:`read_answer`, :class:`KscError`).
* Typed values are ``{"type": "long"|"datetime"|"params"|"binary"|..., "value": ...}``;
  plain JSON strings, integers, booleans, arrays and objects need no wrapper (:func:`unwrap_value`).
* Searches (``HostGroup.FindHosts``, ``HostGroup.FindIncidents``) return a result-set ID
  (``strAccessor``) read with ``ChunkAccessor.GetItemsCount``/``GetItemsChunk`` and freed
  with ``ChunkAccessor.Release`` (:func:`read_result_set`); their filters are strings of the KSC search filter
  syntax (:func:`filter_string`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json

from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import (
    ApiError,
    extract_api_message,
    require_json,
)

API_PREFIX = "/api/v1.0/"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TYPE_WORDS = frozenset(("long", "datetime", "date", "binary", "float", "double", "params"))
CHUNK_SIZE = 100
ACCESSOR_LIFETIME = 600
# Characters with a meaning inside a quoted filter string: wildcards of the KSC search filter
# and the SQL LIKE ones the server may translate them to. Each is neutralised as a one-character set.
_FILTER_SPECIAL = frozenset("*?[%_")


# ---- login ----------------------------------------------------------------------------------
def login_headers(username, password, domain, internal, vserver):
    """The headers of ``POST login``: KSCBasic credentials and the virtual server."""
    authorization = 'KSCBasic user="%s", pass="%s", domain="%s", internal="%d"' % (
        b64(username), b64(password), domain, int(internal))
    return {"Authorization": authorization, "X-KSC-VServer": b64(vserver)}


def b64(text):
    return base64.b64encode(str(text).encode("utf-8")).decode("ascii")


# ---- typed values ---------------------------------------------------------------------------
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


# ---- answers and errors ---------------------------------------------------------------------
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


def with_pxg_error(exc):
    """An ApiError for an HTTP error status whose body is a PxgError becomes a KscError."""
    error = pxg_error(exc.body)
    if error is None or isinstance(exc, KscError):
        return exc
    return KscError(str(exc), pxg=error, status=exc.status, method=exc.method, path=exc.path,
                    api_message=exc.api_message, body=exc.body)


def read_answer(response, method):
    """``(PxgRetVal, out_params)`` of a 2xx answer to ``Class.Method``; a KscError for a PxgError in it.

    ``out_params`` is the answer without ``PxgRetVal`` (values still in wire format).
    """
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


def as_int(value, method):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("POST %s: expected an integer PxgRetVal, got %r" % (method, value), method="POST", path=method)
    return value


# ---- result sets ----------------------------------------------------------------------------
def read_result_set(call, accessor, limit=None, chunk_size=CHUNK_SIZE, warn=None):
    """``(total, items)`` of a result-set, at most ``limit`` items; always released. ``call(method, params)``."""
    failed = True
    try:
        total = as_int(unwrap_value(call("ChunkAccessor.GetItemsCount", {"strAccessor": accessor})[0]),
                       "ChunkAccessor.GetItemsCount")
        items = []
        wanted = total if limit is None else min(total, limit)
        while len(items) < wanted:
            out = call("ChunkAccessor.GetItemsChunk", {
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
        release_result_set(call, accessor, warn=None if failed else warn)


def release_result_set(call, accessor, warn=None):
    """``ChunkAccessor.Release``; a failure is only warned about (``warn``): the result-set expires by itself."""
    try:
        call("ChunkAccessor.Release", {"strAccessor": accessor})
    except ApiError as exc:
        # The result-set also expires after lMaxLifeTime; never hide the real error.
        if warn is not None:
            warn("ChunkAccessor.Release failed (the result-set expires by itself): %s" % exc)


def read_chunk(out):
    """The items of a ``ChunkAccessor.GetItemsChunk`` answer as plain dicts."""
    chunk = unwrap_value(out.get("pChunk"))
    if not isinstance(chunk, dict):
        return []
    items = chunk.get("KLCSP_ITERATOR_ARRAY") or []
    return [item for item in items if isinstance(item, dict)]
