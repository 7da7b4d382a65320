# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client of the Kaspersky Security Center OpenAPI: the session, host search and incidents.

KlAkOAPI ships only with KSC, so the collection speaks its wire protocol (``ksc_protocol``) with ``requests``
through the collection's one HTTP layer. The server binds the authenticated session to the TCP connection of
``POST login``, so every later call goes over the same keep-alive connection, and a call answered 401 (the
connection was replaced) logs in again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import KSC_DEFAULT_PORT
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import Closing, HttpClient
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, decode_json
from ansible_collections.kaspersky.edr.plugins.module_utils.ksc_protocol import (
    ACCESSOR_LIFETIME,
    API_PREFIX,
    as_int,
    describe_pxg_error,
    filter_equals,
    filter_string,
    ksc_error_message,
    login_headers,
    param_datetime,
    pxg_error,
    read_answer,
    read_result_set,
    release_result_set,
    unwrap_value,
    with_pxg_error,
)

HOST_FIELDS = ("KLHST_WKS_HOSTNAME", "KLHST_WKS_DN", "KLHST_WKS_DNSNAME", "KLHST_WKS_DNSDOMAIN",
               "KLHST_WKS_GROUPID", "KLHST_WKS_OS_NAME")
INCIDENT_FIELDS = ("KLINCDT_ID", "KLINCDT_SEVERITY", "KLINCDT_ADDED", "KLINCDT_BODY", "KLINCDT_IS_HANDLED",
                   "KLHST_WKS_HOSTNAME")


class KscAuthError(ApiError):
    """Login refused: wrong user, password, domain, internal flag or virtual server."""


class HostNotFound(ApiError):
    pass


class KscClient(Closing):
    """One KSC Administration Server session for the length of a module run."""

    def __init__(self, ksc_host, ksc_username, ksc_password, ksc_port=KSC_DEFAULT_PORT, ksc_domain=None,
                 ksc_internal_user=False, ksc_vserver=None, validate_certs=True, ca_path=None, request_timeout=30.0,
                 retries=3, warn=None, **http_kwargs):
        """The connection options as ``connection_options.ksc_settings`` checked them; sends nothing."""
        self.username = ksc_username
        self.domain = ksc_domain or ""
        self.internal = bool(ksc_internal_user)
        self.vserver = ksc_vserver or ""
        self.where = "%s:%d" % (ksc_host, ksc_port)
        self._login_headers = login_headers(ksc_username, ksc_password, self.domain, self.internal, self.vserver)
        self.warn = warn
        self.base_url = "https://%s:%d%s" % (ksc_host, ksc_port, API_PREFIX)
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
        try:
            response = self.http.request("POST", "login", json_body={}, headers=self._login_headers, idempotent=True)
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
        """Call ``Class.Method`` with named parameters; return ``(PxgRetVal, out_params)`` (``read_answer``).

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
                raise with_pxg_error(exc)
            self.logged_in = False
            self.login()
            try:
                response = self.http.request("POST", method, json_body=params or {}, idempotent=idempotent)
            except ApiError as again:
                raise with_pxg_error(again)
        return read_answer(response, method)

    # ---- result sets -----------------------------------------------------------------------
    def release(self, accessor):
        """Free a result-set now (``ChunkAccessor.Release``) instead of when it expires."""
        release_result_set(self.call, accessor, warn=self.warn)

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
                return read_result_set(self.call, accessor, limit=limit, warn=self.warn)
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
        return as_int(unwrap_value(retval), "HostGroup.AddIncident")

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
