# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client of the KATA/KEDR Central Node Response API.

The only place that knows the API's paths, query parameters and the response shapes seen
in the field (plain, ``response``-wrapped, settings as a one-element list). Modules call
the methods here and never build URLs or parse errors themselves.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import (
    RETRY_STATUSES_WITH_500,
    Closing,
    HttpClient,
    encode_path_segment,
)
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import (
    ApiError,
    ConfigurationError,
    decode_json,
    require_json,
)

SETTINGS_ISOLATION = "network_isolation"
SETTINGS_PREVENTION = "prevention"
ALL_SENSORS = "all"

SENSOR_ID_KEYS = ("sensorId", "sensor_id", "sensorID", "id", "agentId", "agent_id")
HOSTNAME_KEYS = ("hostName", "hostname", "host", "host_name", "name", "computerName", "fqdn", "dnsName")
IP_KEYS = ("ip", "ipAddress", "ip_address", "ipv4", "address", "ips", "ipAddresses", "ip_addresses")
# Host list paging (the guide lists max_events and continuation_token as parameters of GET sensors).
CONTINUATION_KEYS = ("continuation_token", "continuationToken")
DEFAULT_MAX_PAGES = 1000


def unwrap(body):
    """Strip the ``{"response": ...}`` envelope some Central Node versions add."""
    while isinstance(body, dict) and len(body) == 1 and "response" in body:
        body = body["response"]
    if isinstance(body, dict) and "response" in body and isinstance(body["response"], dict) and \
            not any(key in body for key in ("settings", "sensors", "task")):
        body = body["response"]
    return body


def read_settings(body):
    """The settings dict of a GET settings answer in any of the three known shapes; {} if none."""
    body = unwrap(body)
    if not isinstance(body, dict):
        return {}
    settings = body.get("settings", {})
    if isinstance(settings, list):
        settings = [item for item in settings if item]
        if not settings:
            return {}
        if len(settings) == 1:
            settings = settings[0]
        else:
            merged = {}
            for item in settings:
                if isinstance(item, dict):
                    merged.update(item)
            settings = merged
    return settings if isinstance(settings, dict) else {}


def _shape_error(method, path, body, expected):
    text = repr(body)
    if len(text) > 200:
        text = text[:200] + "..."
    return ApiError("%s %s: HTTP 200 but the answer has an unexpected shape (%s): %s"
                    % (method, path, expected, text), status=200, method=method, path=path,
                    api_message="unexpected answer shape", body=body)


def check_settings_shape(body, settings_type, method="GET", path="settings"):
    """Refuse a settings answer that does not say what the rule is.

    Reading such an answer as "no rule" would make the next write drop every prevention rule
    the host has, so ``{}``, ``{"settings": null}``, prevention ``objects`` that are null or not a
    list, and any other unknown shape fail instead. ``{"settings": {}}`` and ``{"settings": []}``
    mean no rule; unknown extra fields are kept.
    """
    inner = unwrap(body)
    if not isinstance(inner, dict) or "settings" not in inner:
        raise _shape_error(method, path, body, 'no "settings"')
    settings = inner["settings"]
    if isinstance(settings, list):
        if any(not isinstance(item, dict) for item in settings):
            raise _shape_error(method, path, body, '"settings" is a list of something else than objects')
        settings = [item for item in settings if item]
        if len(settings) > 1:
            raise _shape_error(method, path, body, '"settings" lists several rules')
        settings = settings[0] if settings else {}
    if not isinstance(settings, dict):
        raise _shape_error(method, path, body, '"settings" is not an object')
    if settings_type == SETTINGS_PREVENTION and settings:
        objects = settings.get("objects")
        if not isinstance(objects, (list, dict)):
            raise _shape_error(method, path, body, 'prevention "settings" without an "objects" list')
        if isinstance(objects, list) and any(not isinstance(item, dict) for item in objects):
            raise _shape_error(method, path, body, 'prevention "objects" holds something else than objects')
    return body


def read_sensors(body):
    body = unwrap(body)
    if isinstance(body, list):
        sensors = body
    elif isinstance(body, dict):
        sensors = body.get("sensors") or body.get("hosts") or body.get("items") or []
    else:
        sensors = []
    return [sensor for sensor in sensors if isinstance(sensor, dict)]


def continuation_token(body):
    """The continuation token of a ``GET sensors`` answer (top level or inside ``response``), or None."""
    for holder in (body, body.get("response") if isinstance(body, dict) else None):
        if isinstance(holder, dict):
            for key in CONTINUATION_KEYS:
                if holder.get(key) not in (None, ""):
                    return str(holder[key])
    return None


def _first(raw, keys):
    for key in keys:
        value = raw.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict):
            value = value.get("address") or value.get("ip") or value.get("value")
        if value not in (None, ""):
            return str(value)
    return None


def normalize_sensor(raw):
    """Keep every field as returned and add ``sensor_id``, ``hostname`` and ``ip``."""
    sensor = dict(raw)
    sensor["sensor_id"] = _first(raw, SENSOR_ID_KEYS)
    sensor["hostname"] = _first(raw, HOSTNAME_KEYS)
    sensor["ip"] = _first(raw, IP_KEYS)
    return sensor


def sensor_summary(sensor):
    return "%s (id %s, ip %s)" % (sensor.get("hostname") or "?", sensor.get("sensor_id") or "?",
                                  sensor.get("ip") or "?")


def clean_selector(option, value):
    """A ``sensor_id``/``sensor_hostname``/``sensor_ip`` value stripped and checked, before any request.

    ConfigurationError naming ``option`` for a blank value or a ``sensor_ip`` that is not an address.
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ConfigurationError("%s must be a non-empty string, got %r" % (option, value))
    if option.endswith("ip"):
        try:
            ipaddress.ip_address(text)
        except ValueError:
            raise ConfigurationError("%s must be an IPv4 or IPv6 address, got %r" % (option, value))
    return text


def _short(text, limit=80):
    return text if len(text) <= limit else text[:limit] + "..."


def sensor_key(sensor_id):
    """A sensor ID as compared: case-insensitively (the API shows the same ID in both cases)."""
    return str(sensor_id).lower()


def same_sensor_id(left, right):
    return sensor_key(left) == sensor_key(right)


class SensorNotFound(ApiError):
    pass


class KataClient(Closing):
    """One Central Node connection for the length of a module run."""

    def __init__(self, kata_host, external_system_id, client_cert, kata_port=443, client_key=None,
                 client_key_passphrase=None, validate_certs=True, ca_path=None, request_timeout=30.0,
                 retries=3, warn=None, page_size=None, max_pages=DEFAULT_MAX_PAGES, **http_kwargs):
        """The connection options as ``connection_options.kata_settings`` checked them; sends nothing."""
        if not isinstance(max_pages, int) or max_pages < 1:
            raise ConfigurationError("max_pages must be a positive integer, got %r" % (max_pages,))
        self.page_size = page_size
        self.max_pages = max_pages
        # The API documents HTTP 500 as "Repeat the request later": repeated for requests safe to repeat.
        http_kwargs.setdefault("retry_statuses", RETRY_STATUSES_WITH_500)
        path = encode_path_segment(external_system_id)
        self.base_url = "https://%s:%d/kata/response_api/v1/%s/" % (kata_host, kata_port, path)
        self.http = HttpClient(self.base_url, validate_certs=validate_certs, ca_path=ca_path,
                               client_cert=client_cert, client_key=client_key,
                               client_key_passphrase=client_key_passphrase, timeout=request_timeout,
                               retries=retries, warn=warn, **http_kwargs)

    def close(self):
        self.http.close()

    def _json(self, method, path, params=None, **kwargs):
        response = self.http.request(method, path, params=params, **kwargs)
        if method != "GET":
            return response
        body = decode_json(response)
        if body is None:  # the path is worked out for the message only
            require_json(response, method, self.http.display_path(path, params))
        return body

    # ---- sensors -------------------------------------------------------------------------
    def _sensors(self, params=None):
        """Every sensor of every page: ``continuation_token`` is followed until an answer has none.

        Each page repeats the same filters (and ``max_events`` when ``page_size`` is set) over the same
        kept-alive session. A token seen twice, or more than ``max_pages`` pages, fails instead of looping.
        A sensor listed on two pages (the list changed while it was read) is kept once.
        """
        params = dict(params or {})
        if self.page_size:
            params["max_events"] = self.page_size
        sensors, seen_ids, seen_tokens = [], set(), set()
        page = 0
        while True:
            page += 1
            body = self._json("GET", "sensors", params or None)
            inner = unwrap(body)
            if isinstance(inner, dict):
                inner = next((inner[key] for key in ("sensors", "hosts", "items") if key in inner), None)
            if not isinstance(inner, list):
                raise _shape_error("GET", self.http.display_path("sensors", params or None), body,
                                   'no "sensors" list')
            for sensor in read_sensors(body):
                key = sensor_key(_first(sensor, SENSOR_ID_KEYS) or "")
                if key and key in seen_ids:
                    continue
                if key:
                    seen_ids.add(key)
                sensors.append(sensor)
            token = continuation_token(body)
            if token is None:
                return sensors
            display = self.http.display_path("sensors", dict((k, v) for k, v in params.items()
                                                             if k != "continuation_token"))
            if token in seen_tokens:
                raise ApiError("GET %s: page %d of the host list returned a continuation_token already followed "
                               "(%s): stopping instead of reading the same pages again" % (display, page, _short(token)),
                               status=200, method="GET", path=display, api_message="repeated continuation_token")
            if page >= self.max_pages:
                raise ApiError("GET %s: the host list has more than %d pages (%d hosts so far); stopping (raise "
                               "page_size to read it in fewer pages)" % (display, self.max_pages, len(sensors)),
                               status=200, method="GET", path=display, api_message="too many pages")
            seen_tokens.add(token)
            params["continuation_token"] = token

    def list_sensors(self, sensor_id=None, hostname=None, ip=None):
        params = {"ip": ip, "host": hostname, "sensor_id": sensor_id}
        params = dict((key, value) for key, value in params.items() if value not in (None, ""))
        return [normalize_sensor(raw) for raw in self._sensors(params or None)]

    def list_sensors_raw(self):
        """Every sensor exactly as the API lists it, without the normalized keys (inventory plugin)."""
        return self._sensors()

    def resolve_sensor(self, sensor_id=None, hostname=None, ip=None):
        """One sensor's ID: given directly (no request) or looked up by host name or IP."""
        if sensor_id:
            return {"sensor_id": sensor_id, "hostname": None, "ip": None}
        found = self.list_sensors(hostname=hostname, ip=ip)
        criterion = "sensor_hostname=%s" % hostname if hostname else "sensor_ip=%s" % ip
        if hostname:
            # The API filter is documented as case-sensitive; do not trust a tolerant server.
            found = [sensor for sensor in found if sensor.get("hostname") in (None, hostname)]
        if len(found) == 1 and found[0].get("sensor_id"):
            return found[0]
        if not found:
            candidates = self._candidates(hostname, ip)
            raise SensorNotFound("No Endpoint Agent host matches %s%s" % (
                criterion, "; similar hosts: %s" % candidates if candidates else ""))
        if len(found) == 1:
            raise SensorNotFound("The host matching %s has no sensor ID in the API answer: %r" % (criterion, found[0]))
        raise SensorNotFound("%d Endpoint Agent hosts match %s, use sensor_id to pick one: %s" % (
            len(found), criterion, "; ".join(sensor_summary(sensor) for sensor in found)))

    def _candidates(self, hostname, ip, limit=10):
        """Hosts whose name matches case-insensitively or partially: the usual typo."""
        try:
            every = self.list_sensors()
        except ApiError:
            return ""
        needle = (hostname or ip or "").lower()
        short = needle.split(".")[0]
        close = [sensor for sensor in every
                 if needle and ((sensor.get("hostname") or "").lower().startswith(short)
                                or needle in (sensor.get("hostname") or "").lower()
                                or needle == (sensor.get("ip") or "").lower())]
        return "; ".join(sensor_summary(sensor) for sensor in close[:limit])

    # ---- settings ------------------------------------------------------------------------
    @staticmethod
    def _settings_params(sensor_id, settings_type):
        return {"sensor_id": sensor_id, "settings_type": settings_type}

    def get_settings(self, sensor_id, settings_type):
        return read_settings(self.get_settings_raw(sensor_id, settings_type))

    def settings_of(self, sensors, settings_types):
        """``{sensor ID: {settings type: settings}}`` of the listed sensors (raw or normalized) that have an ID.

        One ``GET settings`` per sensor and type, each type once; nothing without ``settings_types``.
        """
        include = list(dict.fromkeys(settings_types or ()))
        found = {}
        for sensor in sensors if include else ():
            sensor_id = _first(sensor, SENSOR_ID_KEYS)
            if sensor_id:
                found[sensor_id] = dict((kind, self.get_settings(sensor_id, kind)) for kind in include)
        return found

    def get_settings_raw(self, sensor_id, settings_type):
        """The answer as returned; an ApiError when its shape does not say what the rule is."""
        params = self._settings_params(sensor_id, settings_type)
        body = self._json("GET", "settings", params)
        return check_settings_shape(body, settings_type, "GET", self.http.display_path("settings", params))

    def post_settings(self, sensor_id, settings_type, settings):
        # A settings POST replaces the whole rule, so repeating it is safe: idempotent.
        self.http.request("POST", "settings", params=self._settings_params(sensor_id, settings_type),
                          json_body={"settings": settings}, idempotent=True)

    def delete_settings(self, sensor_id, settings_type):
        # Deleting a rule twice leaves the same state: idempotent, so HTTP 500 and lost answers are repeated.
        self.http.request("DELETE", "settings", params=self._settings_params(sensor_id, settings_type),
                          idempotent=True)

    # ---- tasks ---------------------------------------------------------------------------
    def task_path(self, task_id):
        return "tasks/%s" % encode_path_segment(task_id)

    def get_task(self, task_id, settings=True):
        """The task's API view, or None when the Central Node does not know the ID."""
        path = self.task_path(task_id)
        params = {"settings": "true" if settings else "false"}
        response = self.http.request("GET", path, params=params, ok_statuses=(404,))
        if response.status_code == 404:
            return None
        display = self.http.display_path(path, params)
        view = unwrap(require_json(response, "GET", display))
        if not isinstance(view, dict) or not view:
            raise _shape_error("GET", display, view, "the task view is not a non-empty object")
        return view

    def create_task(self, task_id, sensor_id, task, task_type="run_process"):
        # Not idempotent: a retried create could start the program twice.
        self.http.request("POST", self.task_path(task_id), params={"sensor_id": sensor_id, "task_type": task_type},
                          json_body={"task": task}, idempotent=False)

    def delete_task(self, task_id):
        self.http.request("DELETE", self.task_path(task_id))

    def task_url(self, task_id):
        return self.base_url + self.task_path(task_id)

    def task_shape_error(self, task_id, view, problem):
        """The ApiError of a ``GET tasks/<id>?settings=true`` answer that shows no task (``problem`` says how;
        ``kata_tasks`` knows what a task view shows)."""
        display = self.http.display_path(self.task_path(task_id), {"settings": "true"})
        return ApiError("GET %s: HTTP 200 but %s: %.200r" % (display, problem, view), status=200, method="GET",
                        path=display, api_message="unexpected answer shape", body=view)
