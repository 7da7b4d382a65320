# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: kata_sensors
short_description: Endpoint Agent hosts (sensors) of a KATA/KEDR Central Node as inventory
version_added: "1.0.0"
description:
  - Reads the Kaspersky Endpoint Agent hosts (sensors) known to a Kaspersky Anti Targeted Attack
    Platform (KATA/KEDR) Central Node through its Response API (C(GET sensors)) and adds one
    inventory host per sensor.
  - The inventory host name is the first of O(hostnames) that the sensor has and that no other sensor
    shares; the sensor ID is the last resort, so two sensors reporting the same host name never merge.
  - "Every host gets the variables C(kata_sensor_id), C(kata_hostname) and C(kata_ip) (the normalized
    sensor ID, host name and first IP address), C(kata_sensor) (every field exactly as the API returned it)
    and one C(kata_<field>) variable per other API field, the field name converted to snake case
    (C(osVersion) becomes C(kata_os_version)). A field whose variable name would clash with those
    variables or with the connection options C(kata_host) and C(kata_port) is only in C(kata_sensor)."
  - The values come from the endpoints and are never evaluated as templates.
  - The configuration file name must end in C(.kata_sensors.yml) or C(.kata_sensors.yaml).
author:
  - kaspersky.edr contributors (@kaspersky-edr-community)
extends_documentation_fragment:
  - kaspersky.edr.kata.plugin
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description:
      - The name of this plugin; it marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: [kaspersky.edr.kata_sensors]
  hostnames:
    description:
      - Which sensor value becomes the inventory host name, in order of preference.
      - A value that is missing or that several sensors share is skipped (with a warning for shared
        values); when none is left the sensor ID is used.
    type: list
    elements: str
    choices: [hostname, ip, sensor_id]
    default: [hostname, sensor_id]
  include_settings:
    description:
      - Also read these settings for every sensor (one request per sensor and type) and set them as
        the host variables C(kata_network_isolation) and C(kata_prevention), as the Central Node returns them
        (an empty dictionary when there is no rule).
      - Handy for groups such as isolated hosts; leave empty for large installations.
    type: list
    elements: str
    choices: [network_isolation, prevention]
    default: []
notes:
  - The plugin runs on the controller and needs the Python library C(requests) there.
  - "Enable it in C(ansible.cfg) when the default list of inventory plugins is changed:
    C(enable_plugins = kaspersky.edr.kata_sensors, ...) in the C([inventory]) section."
  - With O(cache=true) the sensor list is stored under a key made of the configuration file path and the
    Central Node address and external system ID; C(ansible-inventory --flush-cache) reads it again.
seealso:
  - module: kaspersky.edr.kata_sensor_info
"""

EXAMPLES = r"""
# The smallest configuration: one line, the connection comes from the KATA_* environment
# variables (KATA_HOST, KATA_EXTERNAL_SYSTEM_ID, KATA_CLIENT_CERT, KATA_CLIENT_KEY, KATA_CA_PATH):
#
#   plugin: kaspersky.edr.kata_sensors
#
#   ansible-inventory -i edr.kata_sensors.yml --graph

# inventory/edr.kata_sensors.yml: everything in the file, groups and a cache
plugin: kaspersky.edr.kata_sensors
kata_host: kata-cn.example.com
external_system_id: 4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d
client_cert: /etc/ansible/kata/client.pem
client_key: /etc/ansible/kata/client.key
ca_path: /etc/ansible/kata/ca.pem
include_settings:
  - network_isolation
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible/kata_sensors
cache_timeout: 900
strict: true
compose:
  # connect to the endpoints themselves by IP address (for modules that run on them)
  ansible_host: kata_ip
groups:
  isolated: kata_network_isolation | length > 0
keyed_groups:
  - key: kata_os
    prefix: os
  - key: kata_hostname.split('.')[1:] | join('.')
    prefix: domain
    default_value: none
"""

import functools
import hashlib
import os
import re

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.kaspersky.edr.plugins.module_utils.connection_options import kata_settings
from ansible_collections.kaspersky.edr.plugins.module_utils.http_client import HAS_REQUESTS
from ansible_collections.kaspersky.edr.plugins.module_utils.http_errors import ApiError, ConfigurationError
from ansible_collections.kaspersky.edr.plugins.module_utils.kata import KataClient, normalize_sensor, sensor_key

try:
    # ansible-core 2.19 and later never evaluate inventory data from a plugin as a template.
    from ansible.template import trust_as_template  # noqa: F401 pylint: disable=unused-import

    def _unsafe(value):
        return value
except ImportError:  # ansible-core < 2.19: mark endpoint-supplied data as unsafe
    from ansible.utils.unsafe_proxy import wrap_var as _unsafe


NAME = "kaspersky.edr.kata_sensors"
CONNECTION_OPTIONS = ("kata_host", "kata_port", "external_system_id", "client_cert", "client_key",
                      "client_key_passphrase", "validate_certs", "ca_path", "request_timeout", "retries", "page_size")
SETTINGS_VARS = {"network_isolation": "kata_network_isolation", "prevention": "kata_prevention"}
# Host variables the plugin sets itself, plus the connection options that start with kata_:
# an API field never overwrites them (it stays readable in kata_sensor).
RESERVED_VARS = frozenset(("kata_sensor_id", "kata_hostname", "kata_ip", "kata_sensor", "kata_host", "kata_port")
                          + tuple(SETTINGS_VARS.values()))


# Every sensor has the same few field names: three regular expressions per field and host were 4% of an
# inventory of 10,000 hosts.
@functools.lru_cache(maxsize=1024)
def snake_case(name):
    """``osVersion`` -> ``os_version``, ``IPAddress`` -> ``ip_address``, ``agent-id`` -> ``agent_id``."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", str(name))
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    return text or "field"


def sensor_host_vars(raw, settings=None):
    """The host variables of one sensor as the API listed it (see DOCUMENTATION)."""
    sensor = normalize_sensor(raw)
    variables = {
        "kata_sensor_id": sensor.get("sensor_id"),
        "kata_hostname": sensor.get("hostname"),
        "kata_ip": sensor.get("ip"),
        "kata_sensor": raw,
    }
    for key, value in raw.items():
        name = "kata_" + snake_case(key)
        if name in RESERVED_VARS or name in variables:
            continue
        variables[name] = value
    for settings_type, value in (settings or {}).items():
        variables[SETTINGS_VARS[settings_type]] = value
    return variables


def choose_host_names(sensors, preference):
    """One unique inventory host name per sensor; returns (names, warnings)."""
    sources = list(preference) + ["sensor_id"]
    counts = {}
    for sensor in sensors:
        for source in set(sources):
            value = sensor.get(source)
            if value:
                counts[(source, value)] = counts.get((source, value), 0) + 1
    names, warnings = [], []
    for sensor in sensors:
        chosen = None
        for source in sources:
            value = sensor.get(source)
            if not value:
                continue
            if counts[(source, value)] > 1 and source != "sensor_id":
                warnings.append("%d sensors report %s %s; sensor %s gets another inventory host name"
                                % (counts[(source, value)], source, value, sensor.get("sensor_id")))
                continue
            chosen = value
            break
        names.append(chosen or sensor.get("sensor_id"))
    return names, warnings


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = NAME

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        if path.endswith((".kata_sensors.yml", ".kata_sensors.yaml")):
            return True
        self.display.vvv("kaspersky.edr.kata_sensors: skipping %s, the file name must end in "
                         ".kata_sensors.yml or .kata_sensors.yaml" % path)
        return False

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        self._validate_options()

        cache_key = self._cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        data = None
        if use_cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if data is None:
            data = self._fetch()
        if update_cache:
            self._cache[cache_key] = data
        self._populate(data)

    # ---- options ---------------------------------------------------------------------------
    def _connection(self):
        options = dict((name, self.get_option(name)) for name in CONNECTION_OPTIONS)
        for name in ("kata_host", "external_system_id", "client_cert", "client_key", "client_key_passphrase",
                     "ca_path"):
            # to_native() also decrypts an inline !vault value; an empty value (AWX injects one for an
            # unused credential field) means unset.
            value = to_native(options[name]) if options[name] is not None else ""
            options[name] = value.strip() if name != "client_key_passphrase" else value
            options[name] = options[name] or None
        for name in ("client_cert", "client_key", "ca_path"):
            if options[name]:
                options[name] = os.path.abspath(os.path.expanduser(os.path.expandvars(options[name])))
        return options

    def _validate_options(self):
        """The client settings from the configuration, checked by the modules' rules (connection_options)."""
        try:
            self._settings = kata_settings(self._connection())
        except ConfigurationError as exc:
            raise AnsibleParserError("%s: %s" % (NAME, exc))

    def _cache_key(self, path):
        """The path-based key plus the Central Node identity, so a changed KATA_HOST is not served stale data."""
        options = self._connection()
        identity = "%s|%s|%s|%s" % (options["kata_host"], options["kata_port"], options["external_system_id"],
                                    ",".join(sorted(self.get_option("include_settings"))))
        return "%s_%s" % (self.get_cache_key(path), hashlib.sha256(identity.encode("utf-8")).hexdigest()[:12])

    # ---- API -------------------------------------------------------------------------------
    def _fetch(self):
        """``{"sensors": [sensor as listed, ...], "settings": {sensor_id: {type: settings}}}``."""
        if not HAS_REQUESTS:
            raise AnsibleParserError("%s needs the Python library requests on the controller "
                                     "(pip install requests)" % NAME)
        try:
            client = KataClient(warn=self.display.warning, **self._settings)
        except ConfigurationError as exc:
            raise AnsibleParserError("%s: %s" % (NAME, exc))
        with client:
            try:
                sensors = client.list_sensors_raw()
                settings = client.settings_of(sensors, self.get_option("include_settings"))
            except (ApiError, ConfigurationError) as exc:
                raise AnsibleParserError("%s: cannot read the sensors of %s: %s" % (NAME, client.http.where, exc))
        return {"sensors": sensors, "settings": settings}

    # ---- inventory -------------------------------------------------------------------------
    def _populate(self, data):
        sensors, raws = [], []
        seen = set()
        for raw in data.get("sensors") or []:
            sensor = normalize_sensor(raw)
            sensor_id = sensor.get("sensor_id")
            if not sensor_id:
                self.display.warning("%s: skipping a sensor without a sensor ID: %r" % (NAME, raw))
                continue
            if sensor_key(sensor_id) in seen:
                continue
            seen.add(sensor_key(sensor_id))
            sensors.append(sensor)
            raws.append(raw)
        names, warnings = choose_host_names(sensors, self.get_option("hostnames"))
        for warning in warnings:
            self.display.warning("%s: %s" % (NAME, warning))
        strict = self.get_option("strict")
        settings = data.get("settings") or {}
        for name, sensor, raw in zip(names, sensors, raws):
            host = self.inventory.add_host(_unsafe(name))
            variables = sensor_host_vars(raw, settings.get(sensor["sensor_id"]))
            for key, value in variables.items():
                self.inventory.set_variable(host, key, _unsafe(value))
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)
