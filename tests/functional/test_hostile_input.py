# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input: property-based tests (hypothesis) over every module's options.

Every module runs in this process (tests/inprocess.py, exactly as Ansible runs ``main()``)
against the real fake servers (HTTPS, request logs): the fake Central Node for the kata_*
modules, the fake KSC for ksc_edr_response. For every generated input:

* no traceback, ever;
* an input the module rejects before sending anything fails with a message naming the option
  (inputs known to be invalid must be rejected that way, and nothing reaches the server: no
  request, not even a TLS handshake);
* every request that is sent is well formed: the URL path is the API's, each path segment and
  each query value is percent-encoded and arrives as exactly one segment / one value (a
  sensor ID ``a/b?c#d%e`` is one ``sensor_id`` query value, never a second path segment or an
  extra query parameter), and the values the server decodes are the values the user gave;
* KSC search filters are literal: a host name with wildcards or quotes only ever finds the
  host with exactly that name, and the filter always parses.

Values are hashes, IPs, ports, IDs with ``/ ? # %``, unicode host names, huge lists and
wrong types (None, booleans, huge integers, nan/inf, lists, dicts where strings are expected).

Every value written in a list here (``Listed``) is run as its own case (``test_listed_value``: the same
cases on every run, nothing left to what hypothesis happens to draw); hypothesis draws more values around
them (``test_hostile_option_value``). Every accepted value has an oracle computed from the arguments and the
fake's data, never from the module's result (``check_accepted``, ``check_expected_writes``): the exact
requests with their path, query and body, and the result where the option changes only that; a value that
must be refused is refused before any request, naming the option.

Deterministic (``derandomize=True``, no example database).

A new option gets its values in ``OPTIONS`` and, when it accepts any, an oracle in ``ORACLES``;
``test_every_option_is_covered`` and ``test_every_accepted_value_has_an_oracle`` list what is missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import importlib
import io
import ipaddress
import json
import math
import os
import re
import sys
import unicodedata
import zipfile

from unittest import mock
from urllib.parse import unquote, unquote_plus

import pytest

from ansible.module_utils.ansible_release import __version__ as CORE_VERSION
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.common.validation import check_type_bool, check_type_int, check_type_list
from ansible.module_utils.parsing.convert_bool import boolean
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.kaspersky.edr.tests.fakes.central_node import DEFAULT_EXTERNAL_SYSTEM_ID, make_sensor
from ansible_collections.kaspersky.edr.tests.fakes.ksc_server import DEFAULT_PASSWORD, DEFAULT_USER, HOST_ATTRIBUTES, FilterError, parse_filter
from ansible_collections.kaspersky.edr.tests.inprocess import MODULE_PACKAGE, run_module


def hostile_settings(max_examples):
    """Deterministic in CI: the same examples on every run, nothing stored between runs."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None, print_blob=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


SENSOR_1 = make_sensor(1)["sensorId"]
SERVER_SENSOR_IDS = frozenset(make_sensor(index)["sensorId"] for index in range(1, 4))
MD5_A = "44d88612fea8a8f36de82e1278abb02f"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# ---- the values ---------------------------------------------------------------------------------
# Characters with a meaning in URLs, filters, shells, YAML or JSON, and a few unicode troublemakers
# (combining, right-to-left, BOM, line separator, astral plane).
URL_CHARS = "/?#%&=+;:@ .,\\\"'<>[]{}|^`~!$()*_-\t\r\n\x00\x7f\u00e9\u00fc\u0301\u200f\u2028\ufeff\U0001F600"
NASTY = [
    "a/b?c#d%e", "a/b?c#d%e&x=y", "a%2Fb", "%2e%2e", "..", ".", "../../etc/passwd", "%00", "%", "?", "#", "&", "=",
    "+", " ", "", "\x00", "\r\n", "ws-001\r\nX-Injected: 1", "\t", "\u00fc", "WS-\u00fc\u00f1\u00ee.corp.example",
    "\u0441\u0435\u0440\u0432\u0435\u0440.\u0440\u0444", "xn--80aswg.xn--p1ai", "\u2028", "\ufeff", "\U0001F600",
    "a" * 5000, "[::1]", "10.20.0.2", " 10.20.0.2 ", "fd00::1", "1.2.3.4/24", "300.1.1.1", "*", "WS-00*", "WS-00?",
    "\\", '"', "'", '"(x=1)"', "<script>", "%s%n", "{{ lookup('env', 'HOME') }}", "$(id)", "null", "None", "true",
    "0", "-1", MD5_A, "e6aa2842-0000-0000-0000-000000000001", SENSOR_1 + "/..", SENSOR_1 + "?sensor_id=all",
    SENSOR_1 + "#", "all", "ALL ",
]


class Listed:
    """A hypothesis strategy together with the values it lists.

    test_listed_value runs every listed value of every option (one pytest case each, the same on every run);
    test_hostile_option_value draws more values from the strategy around them. ``map``/``filter`` apply to both,
    so a value written in a list here is never left to chance.
    """

    def __init__(self, strategy, values=()):
        self.strategy = strategy
        self.values = list(values)

    def map(self, function):
        return Listed(self.strategy.map(function), [function(value) for value in self.values])

    def filter(self, predicate):
        return Listed(self.strategy.filter(predicate), [value for value in self.values if predicate(value)])


def listed(values):
    values = list(values)
    return Listed(st.sampled_from(values), values)


def one_of(*parts):
    """``st.one_of`` over Listed values and plain strategies, listing the values of all of them."""
    return Listed(st.one_of(*[part.strategy if isinstance(part, Listed) else part for part in parts]),
                  [value for part in parts if isinstance(part, Listed) for value in part.values])


def pairs(first, second, combine):
    """``combine(a, b)`` of a value of ``first`` and one of ``second``; listed: every value of both lists at least
    once (the shorter list cycled)."""
    count = max(len(first.values), len(second.values)) if first.values and second.values else 0
    values = [combine(first.values[index % len(first.values)], second.values[index % len(second.values)])
              for index in range(count)]
    return Listed(st.tuples(first.strategy, second.strategy).map(lambda pair: combine(*pair)), values)


hostile_text = one_of(
    listed(NASTY),
    st.text(st.sampled_from(URL_CHARS) | st.characters(), max_size=30),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(), st.text(max_size=8))
# Wrong types for a text option: ansible-core turns them into some string (or refuses them).
WRONG_TYPES = [None, True, False, 0, -1, 2 ** 70, -(2 ** 70), 1.5, float("nan"), float("inf"), [], ["a", 1],
               [None], {}, {"a": 1}, {"": None}]
wrong_types = one_of(listed(WRONG_TYPES), st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(),
    st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=6), scalars, max_size=4),
))
anything = one_of(hostile_text, wrong_types)
NESTED = [None, 0, "", [], {}, [[]], [{}], {"a": []}, {"a": {"b": None}}, [1, "a", None], [[1, [2]]],
          {"": {"": ""}}, [{"a": 1}, "b"]]
nested = one_of(listed(NESTED), st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8))


def nolog(strategy):
    """Values for a no_log option. Ansible masks every occurrence of such a value in the result, so a
    short one ("s") would mangle the option names the message is checked for; a prefix prevents that."""
    def prefixed(value):
        if isinstance(value, str) and value:
            return "pw-" + value
        if isinstance(value, (list, dict)):
            return [prefixed(item) for item in value] if isinstance(value, list) else \
                dict((key, prefixed(item)) for key, item in value.items())
        return value
    return one_of(listed([""]), strategy.map(prefixed))


def is_ip(value):
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


# IP addresses as users write them: any version, compressed or not, with stray whitespace.
ip_texts = one_of(
    st.ip_addresses().map(str), st.ip_addresses(v=6).map(lambda address: address.exploded),
    st.ip_addresses().map(lambda address: " %s\t" % address),
    listed(["10.20.0.2", " 10.20.0.3", "fd00::1", "::ffff:10.20.0.2", "::", "0.0.0.0",
            "fd00:0000:0000:0000:0000:0000:0000:0001", "10.20.0.4\t"]))
printable_names = st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"),
                                        exclude_characters="[]") | st.sampled_from(" /?#%&=+;:@\\\"'<>"),
                          min_size=1, max_size=30).filter(lambda text: text.strip())


def _marked(values, invalid):
    if isinstance(values, list):
        values = listed(values)
    elif not isinstance(values, Listed):
        values = Listed(values)
    return values.map(lambda value: (value, invalid))


def ok(values):
    """Values the module accepts: the requests it sends are checked against an oracle (see check_case)."""
    return _marked(values, False)


def bad(values):
    """Values that are invalid: they must be rejected naming the option, before anything is sent."""
    return _marked(values, True)


# Scoped IPv6 forms (a zone ID names an interface of this machine): listed, never drawn.
SCOPED_IPV6 = "fe80::1%eth0"
SCOPED_IPV6_HOST = "[%s]" % SCOPED_IPV6
FORBIDDEN_HOST_CHARS = "/?#@\\%\"'<>{}|^`,;"
# Only values that can never be a reachable host: a valid one would make the module resolve or connect to it.
invalid_hosts = one_of(
    listed(["", " ", "\t", "-host", ".host", "https://kata.example", "kata.example:443", "kata.example/x",
            "user@kata.example", "a b", "kata\x00.example", "\u2028", "..", "x" * 300, [], ["a"],
            {"a": 1}, {}]),
    pairs(hostile_text, listed(FORBIDDEN_HOST_CHARS), lambda text, char: text + char),
    Listed(st.nothing(), [SCOPED_IPV6_HOST]),
    st.lists(st.text(max_size=5), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
invalid_ports = one_of(
    listed([0, -1, 65536, 65537, -(2 ** 70), 2 ** 70, "", "http", "443a", "0x1bb", "65536", "-1", "80 80", "1e9",
            float("nan"), 443.5, -0.5, [443], [1, 2], {"port": 443}]),
    st.integers(max_value=0), st.integers(min_value=65536), st.integers(-(2 ** 70), -(2 ** 40)),
    st.floats(allow_nan=True).filter(lambda number: math.isnan(number) or not float(number).is_integer()),
    st.lists(st.integers(1, 65535), min_size=1, max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                             min_size=1, max_size=2),
)
invalid_timeouts = one_of(
    listed([0, -1, 0.0, -0.5, float("nan"), float("inf"), float("-inf"), 1e300, 10 ** 30, "nan", "inf", "-inf", "",
            "soon", "30s", 86400.5, [1], [1, 2]]),
    st.floats(max_value=0.0), st.floats(min_value=86400.5), st.lists(st.integers(1, 5), min_size=1, max_size=2),
)
valid_timeouts = listed([5, 10.5, "20", 60, 86400])
invalid_retries = one_of(listed([-1, 11, 10 ** 30, -(2 ** 70), "", "three", "1.5", 1.5, float("nan"), float("inf"),
                                 [1], [0, 3]]),
                         st.integers(max_value=-1), st.integers(min_value=11),
                         st.lists(st.integers(0, 3), min_size=1, max_size=2))
invalid_bools = one_of(listed(["maybe", "", "2", "yess", "ja", "\u00fc", 2, -1, 0.5, 10 ** 30, "nan", [True],
                               [True, False], {"a": True}]),
                       st.text(min_size=1, max_size=8).filter(
                           lambda text: text.strip().lower() not in (
                               "y", "yes", "on", "1", "true", "t", "n", "no", "off", "0", "false", "f", "1.0", "0.0")),
                       st.lists(st.booleans(), min_size=1, max_size=2), st.dictionaries(st.text(max_size=3),
                                                                                        st.booleans(), min_size=1,
                                                                                        max_size=2))
bools = listed([True, False, "yes", "no", "true", "false", 1, 0, "on", "off"])
missing_files = one_of(
    listed(["/nonexistent/cert.pem", "/nonexistent/\u00fc.pem", "/dev/null/x", "relative/missing.pem",
            "/nonexistent/a b?c#d%e.pem", "/nonexistent/" + "x" * 300]),
    hostile_text.filter(lambda text: text.strip() and "\x00" not in text).map(lambda text: "/nonexistent/" + text),
)
nul_paths = listed(["/tmp/a\x00b", "\x00", "cert\x00.pem"])
bad_external_ids = one_of(
    listed(["", ".", "..", "a/b", "a?b", "a#b", "a%2Fb", "%", "a b", " ", "\t", "a\nb", "a\u2028b",
            "4f0a1c2e-9b7d-4c3a-8e21-5d6f7a8b9c0d/../x", "a\x1bb"]),
    pairs(hostile_text, listed("/?#% \t\n"), lambda text, char: text + char + text),
)


def choices(values):
    """A choices option: the valid values, and anything else, which must be rejected."""
    return one_of(ok(listed(values)),
                  bad(anything.filter(lambda value: not isinstance(value, (list, dict)) and value is not None
                                      and str(value) not in values)))


def bool_option():
    return one_of(ok(bools), bad(invalid_bools))


def fleet_options():
    """kata_prevention's and kata_isolation's fleet options: every entry's text arrives as one query value;
    a blank or malformed entry is refused."""
    fleet_text = hostile_text.filter(lambda value: value.strip())
    return {
        "sensors": one_of(
            ok(one_of(st.lists(st.one_of(fleet_text.strategy,
                                         fleet_text.strategy.map(lambda value: {"sensor_hostname": value}),
                                         ip_texts.strategy.map(lambda value: {"sensor_ip": value})), max_size=4),
                      fleet_text.map(lambda value: [value]),
                      fleet_text.map(lambda value: [{"sensor_hostname": value}]),
                      ip_texts.map(lambda value: [{"sensor_ip": value}]),
                      listed([[], [SENSOR_1, SENSOR_1.lower(), {"sensor_id": " %s " % SENSOR_1}],
                              [{"sensor_hostname": "WS-002.corp.example"}, {"sensor_ip": " 10.20.0.4"}, "nope"]]))),
            bad([[" "], ["ALL"], [{"sensor_ip": "nope"}], [{"hostname": "x"}],
                 [{"sensor_id": "a", "sensor_ip": "10.0.0.1"}], [{}], [None]]),
            ok(wrong_types)),
        "sensor_filter": one_of(
            ok(one_of(st.fixed_dictionaries({}, optional={"hostname": hostile_text.strategy, "ip": ip_texts.strategy}),
                      hostile_text.map(lambda value: {"hostname": value}), ip_texts.map(lambda value: {"ip": value}),
                      listed([{}, {"hostname": "WS-002.corp.example", "ip": "10.20.0.3"},
                              {"hostname": "WS-002.corp.example", "ip": "10.20.0.2"}]))),
            bad(st.dictionaries(st.sampled_from(["os", "host", "sensor_id", "HOSTNAME"]), st.text(max_size=3),
                                min_size=1, max_size=2)),
            bad([{"os": "x"}, {"host": "WS-001.corp.example"}, {"sensor_id": SENSOR_1}, {"HOSTNAME": "a"},
                 {"ip": "nope"}, {"ip": "10.0.0.1/8"}])),
        "parallelism": one_of(ok(st.integers(1, 32)), ok([1, 2, 32, "4"]), bad(st.integers(max_value=0)),
                              bad(st.integers(min_value=33, max_value=10 ** 6)), bad([0, -1, 33, 10 ** 6])),
        "ignore_sensor_errors": bool_option(),
        "results": choices(["all", "changes"]),
    }


def external_id_refused(text):
    """A path segment of its own: blank, ``.``/``..``, any of ``/?#%``, whitespace or control characters are
    refused."""
    return not text.strip() or text in (".", "..") or any(char in "/?#%" or char.isspace() or
                                                          unicodedata.category(char) == "Cc" for char in text)


def ksc_domain_refused(text):
    """A domain goes into the KSCBasic header: printable ASCII without backslash and double quote."""
    return any(not " " <= char <= "~" or char in '\\"' for char in text)


def kata_connection_options():
    return {
        "kata_host": bad(invalid_hosts),
        "kata_port": bad(invalid_ports),
        # The fake answers unknown IDs with 401, so every other value is sent (and must arrive as one segment).
        "external_system_id": one_of(bad(bad_external_ids), bad(hostile_text.filter(external_id_refused)),
                                     ok(hostile_text.filter(lambda text: not external_id_refused(text)))),
        # No file at that path (or no text at all): refused before anything is sent.
        "client_cert": one_of(bad(missing_files), bad(nul_paths), bad(anything)),
        "client_key": one_of(bad(missing_files), bad(nul_paths), bad(anything)),
        "client_key_passphrase": ok(nolog(anything)),
        "validate_certs": bool_option(),
        # No such file, or no CA file at all (the fake's CA is then unknown): refused naming ca_path.
        "ca_path": one_of(bad(missing_files), bad(anything)),
        "request_timeout": one_of(bad(invalid_timeouts), ok(valid_timeouts)),
        "retries": one_of(bad(invalid_retries), ok(st.integers(0, 10)), ok([0, 1, 10, "3"])),
        # Hosts per GET sensors page, sent as max_events: 1..10000, unset by default.
        "page_size": one_of(ok(st.integers(1, 10000)), ok([1, 2, 10000, "50", " 7 "]),
                            bad(st.integers(max_value=0)), bad(st.integers(min_value=10001)),
                            bad(st.integers(2 ** 40, 2 ** 70)),
                            bad([0, -1, 10001, 2 ** 40, "", "many", "1.5", 1.5, "-1", "0x10", float("nan"), [10],
                                 {"size": 10}])),
    }


def policy_options():
    """kata_prevention_policy's own options: a policy is a mapping of targets to hash lists."""
    return {
        "policy": one_of(
            ok(st.dictionaries(st.sampled_from(["all", SENSOR_1, "WS-002.corp.example", "servers"]),
                               hash_lists(), min_size=1, max_size=3)),
            ok([{"all": [MD5_A]}, {SENSOR_1.lower(): [MD5_A]}, {"WS-002.corp.example": [MD5_A, MD5_A.upper()]},
                {"WS-002.corp.example": [MD5_A], "all": [digest("sha256", 1)], SENSOR_1: [digest("md5", 2)]},
                {"WS-003.corp.example": []}, {"ws-002.corp.example": [MD5_A]}, {"servers": [MD5_A]},
                {" %s " % SENSOR_1: [{"sha256": digest("sha256", 3)}]}, {SENSOR_1: None}]),
            bad([[MD5_A], MD5_A, {"all": MD5_A}, {"all": [MD5_A], SENSOR_1: [MD5_A]},
                 {" ": [MD5_A]}, {SENSOR_1: ["not-a-hash"]}, {SENSOR_1: [5]}]),
            ok(st.dictionaries(hostile_text.strategy.filter(lambda text: text.strip()), hash_lists(), min_size=1,
                               max_size=2)),
            ok(hostile_text.filter(lambda text: text.strip()).map(lambda text: {text: [MD5_A]}))),
        "groups": one_of(
            ok(st.fixed_dictionaries({}, optional={"servers": st.lists(st.sampled_from(
                ["WS-001.corp.example", "WS-003.corp.example"]), max_size=2)})),
            ok([{}, {"servers": []}, {"servers": ["WS-001.corp.example", "WS-003.corp.example"]},
                {"servers": ["nope"]}, {"other": ["WS-002.corp.example"]}]),
            bad([{"servers": "WS-001.corp.example"}, {"servers": 5}, {"servers": {"a": 1}}]),
            ok(st.dictionaries(hostile_text.strategy, st.lists(hostile_text.strategy, max_size=2), max_size=2)),
            ok(hostile_text.map(lambda text: {text: [text]}))),
        "parallelism": fleet_options()["parallelism"],
        "ignore_sensor_errors": bool_option(),
        "results": fleet_options()["results"],
        "verify_write": bool_option(),
    }


def selector(blank_is_invalid, ip=False):
    """A sensor selector (ID, host name or IP): hostile text is sent (encoded); blank and, for IPs,
    anything but an IP address must be rejected."""
    text = hostile_text
    strategies = [ok(wrong_types)]
    if ip:
        strategies += [ok(ip_texts), bad(text.filter(lambda value: value.strip() and not is_ip(value)))]
    else:
        strategies.append(ok(text.filter(lambda value: value.strip())))
    blanks = listed(["", " ", "\t", "\r\n"])
    strategies.append(bad(blanks) if blank_is_invalid else ok(blanks))
    return one_of(*strategies)


# ---- hashes -------------------------------------------------------------------------------------
def digest(kind, seed):
    return getattr(hashlib, kind)(str(seed).encode()).hexdigest()


valid_hash_entries = st.one_of(
    st.integers(0, 10 ** 6).map(lambda seed: digest("md5", seed)),
    st.integers(0, 10 ** 6).map(lambda seed: digest("sha256", seed).upper()),
    st.integers(0, 10 ** 6).map(lambda seed: "  %s\t" % digest("md5", seed)),
    st.integers(0, 10 ** 6).map(lambda seed: {"sha256": digest("sha256", seed)}),
    st.integers(0, 10 ** 6).map(lambda seed: {"MD5": digest("md5", seed).upper()}),
)
# An MD5 or SHA256 of decimal digits only, as YAML reads it unquoted: a number, not a hash (its leading zeros lost).
DIGITS_MD5 = int("1234567890" * 3 + "12")
DIGITS_SHA256 = int("1234567890" * 6 + "1234")
INVALID_HASH_ENTRIES = [
    None, True, False, 0, 5, -1, 10 ** 40, DIGITS_MD5, DIGITS_SHA256, 1.5, float("nan"), float("inf"), 1e31, "", " ",
    "z" * 32, MD5_A[:-1], MD5_A + "0", MD5_A + "/", "a/b?c#d%e", "0x" + MD5_A[2:], MD5_A[:16] + " " + MD5_A[16:],
    digest("sha1", 1), digest("sha512", 1), "\uff14" * 32, str(DIGITS_MD5)[:-1], {},
    {"md5": MD5_A, "sha256": digest("sha256", 1)}, {"sha1": digest("sha1", 1)}, {"md5": 5}, {"md5": None},
    {"md5": True}, {"md5": 1.5}, {"md5": DIGITS_MD5}, {"sha256": DIGITS_SHA256}, {"MD5": DIGITS_MD5},
    {"md5": [MD5_A]}, {"md5": {"md5": MD5_A}}, {"sha256": MD5_A}, {"md5": ""}, {"md5": MD5_A + "\x00"},
    {"file": {"md5": MD5_A}}, {5: MD5_A}, [MD5_A], [], (MD5_A,),
]
invalid_hash_entries = one_of(
    listed(INVALID_HASH_ENTRIES),
    hostile_text.filter(lambda text: len(text.strip()) not in (32, 64)),
    st.integers(),
)


def hash_lists(min_size=0):
    return st.lists(valid_hash_entries, min_size=min_size, max_size=6)


# Valid lists the listed invalid entries are put into (at every position in turn).
VALID_HASH_LISTS = [[], [MD5_A], [digest("sha256", 7).upper(), {"md5": MD5_A}], ["  %s\t" % digest("md5", 8)]]


def hash_lists_with_one_invalid():
    return Listed(st.tuples(hash_lists(), invalid_hash_entries.strategy, st.integers(0, 10)).map(
        lambda case: with_one_invalid(case[0], case[1], case[2])[0]),
        [with_one_invalid(VALID_HASH_LISTS[number % len(VALID_HASH_LISTS)], entry, number)[0]
         for number, entry in enumerate(invalid_hash_entries.values)])


def with_one_invalid(valid_list, invalid_entry, position):
    index = position % (len(valid_list) + 1)
    return valid_list[:index] + [invalid_entry] + valid_list[index:], index


# ---- isolation ----------------------------------------------------------------------------------
ports = st.integers(1, 65535)
port_ranges = st.tuples(ports, ports).map(lambda pair: {"from": min(pair), "to": max(pair)})
ip_addresses = st.one_of(st.ip_addresses().map(str), st.sampled_from(["10.0.0.10", "fd00::20", " 10.0.0.53 "]))
valid_exclusions = st.one_of(
    st.fixed_dictionaries({"remote_address": ip_addresses}),
    st.fixed_dictionaries({"protocol": st.integers(0, 255)},
                          optional={"remote_address": ip_addresses, "direction": st.just("both")}),
    st.fixed_dictionaries({"direction": st.sampled_from(["inbound", "outbound"]), "protocol": st.integers(0, 255)},
                          optional={"remote_address": ip_addresses, "local_ports": port_ranges,
                                    "remote_ports": port_ranges}),
)
invalid_exclusions = one_of(
    listed([
        {}, {"direction": "inbound"}, {"direction": "both"},
        {"protocol": 256}, {"protocol": -1}, {"protocol": 10 ** 30},
        {"remote_address": "10.0.0.0/8"}, {"remote_address": "kata.example"}, {"remote_address": "300.1.1.1"},
        {"remote_address": "a/b?c#d%e"}, {"remote_address": "\u0661\u0660.0.0.1"},
        {"remote_address": "10.0.0.1", "local_ports": {"from": 80}},
        {"direction": "inbound", "local_ports": {"from": 0}}, {"direction": "inbound", "local_ports": {"from": 65536}},
        {"direction": "inbound", "remote_ports": {"from": 443, "to": 80}},
        {"direction": "outbound", "remote_ports": {"from": 10 ** 30}},
        {"direction": "sideways", "protocol": 6}, {"direction": "", "protocol": None},
        {"protocol": True}, {"protocol": "six"}, {"protocol": 6.5}, {"protocol": 6, "extra": 1}, None, "10.0.0.1", [],
    ]),
    hostile_text.filter(lambda text: text.strip() and not is_ip(text)).map(lambda text: {"remote_address": text}),
    st.integers(max_value=-1).map(lambda number: {"protocol": number}),
    st.integers(min_value=256).map(lambda number: {"protocol": number}),
    Listed(st.nothing(), [{"remote_address": SCOPED_IPV6}]),
)
VALID_EXCLUSION_LISTS = [[], [{"remote_address": "10.0.0.10"}], [{"protocol": 17, "remote_address": " fd00::20 "}],
                         [{"direction": "inbound", "protocol": 6, "local_ports": {"from": 443, "to": 443}},
                          {"direction": "outbound", "protocol": 6, "remote_ports": {"from": 1, "to": 65535}}]]
# The sub-options of exclusions: a message naming one of them names the offending option.
EXCLUSION_NAMES = ("exclusions", "direction", "protocol", "remote_address", "local_ports", "remote_ports", "from", "to")

# ---- KSC ----------------------------------------------------------------------------------------
KSC_TASKS = ("getFile", "deleteFile", "quarantineFile", "iocScan", "startProcess", "terminateProcess", "isolateHost",
             "preventExecution", "onDemandScan")


def ioc_zip_base64():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ioc.xml", "<ioc/>")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


IOC = ioc_zip_base64()
VALID_KSC_PARAMS = {
    "getFile": {"md5hash": MD5_A, "sha256hash": "", "path": "C:\\Users\\Public\\a b?c#d%e.exe"},
    "deleteFile": {"md5hash": "", "sha256hash": digest("sha256", 1), "path": "", "searchInSubfolders": True},
    "quarantineFile": {"md5hash": "", "sha256hash": "", "path": "C:\\\u00fc\\x.exe"},
    "iocScan": {"ioc": IOC, "isolateHost": False, "scanCriticalAreas": True, "quarantineObject": "yes"},
    "startProcess": {"executablePath": "cmd.exe", "arguments": "/c echo \"%PATH%\" & ver", "workingFolder": "C:\\"},
    "terminateProcess": {"md5hash": MD5_A, "sha256hash": "", "path": "", "caseSensitive": False},
    "isolateHost": {"action": 1},
    "preventExecution": {"hash": MD5_A, "path": "C:\\x.exe", "caseSensitive": True},
    "onDemandScan": [{"enabled": True, "path": "", "recursive": False, "type": 14},
                     {"enabled": True, "path": "C:\\Users\\Public\\Downloads", "recursive": True, "type": 22}],
}
# One invalid value per key kind; each must be refused naming params.<key>.
INVALID_KSC_VALUES = {
    "md5hash": ["x" * 32, MD5_A[:-1], 5, None, [MD5_A], digest("sha256", 1)],
    "sha256hash": [MD5_A, "g" * 64, 0, {"a": 1}],
    "hash": ["", MD5_A + "0", True],
    "path": [5, [], {"a": "b"}, True],
    "executablePath": ["", "   ", 7, None],
    "arguments": [5, ["a"]],
    "workingFolder": [5, {}],
    "searchInSubfolders": ["maybe", 2, [], 0.5],
    "caseSensitive": ["maybe", None, {}, -1],
    "isolateHost": ["x", 3],
    "scanCriticalAreas": ["", 1.5],
    "quarantineObject": [[True], "nah"],
    "ioc": ["%%%", "", "UEsDBA==", "aGVsbG8=", 5],
    "action": [2, -1, "on", True, None, 1.0, "1.5", 10 ** 30],
    "enabled": ["x", None],
    "recursive": [2, "sometimes"],
    "type": [13, 26, "Folder", None, True, -14, 10 ** 30],
}
KSC_CALLS = frozenset(("login", "HostGroup.FindHosts", "HostGroup.FindIncidents", "HostGroup.AddIncident",
                       "HostGroup.UpdateIncident", "ChunkAccessor.GetItemsCount", "ChunkAccessor.GetItemsChunk",
                       "ChunkAccessor.Release"))


def ksc_connection_options():
    return {
        "ksc_host": bad(invalid_hosts),
        "ksc_port": bad(invalid_ports),
        "ksc_username": one_of(ok(hostile_text.filter(lambda text: text.strip())), bad(listed(["", None]))),
        "ksc_password": one_of(bad(["", None]), ok(nolog(anything).filter(lambda value: value not in ("", None)))),
        "ksc_domain": one_of(ok(hostile_text.filter(lambda text: not ksc_domain_refused(text))),
                             bad(hostile_text.filter(ksc_domain_refused)),
                             bad(listed(["\u00fc", "CORP\\x", 'a"b', "a\x00b"]))),
        "ksc_internal_user": bool_option(),
        "ksc_vserver": ok(anything),
        "validate_certs": bool_option(),
        # No such file, or no CA file at all (the fake's CA is then unknown): refused naming ca_path.
        "ca_path": one_of(bad(missing_files), bad(anything)),
        "request_timeout": one_of(bad(invalid_timeouts), ok(valid_timeouts)),
        "retries": one_of(bad(invalid_retries), ok(st.integers(0, 10)), ok([0, 1, 10, "3"])),
    }


# ---- the options of each module -----------------------------------------------------------------
OPTIONS = {
    "kata_sensor_info": dict(kata_connection_options(), **{
        # Filters: any text is a valid filter (it finds nothing), except that ip must be an IP address.
        "sensor_id": ok(anything),
        "hostname": ok(anything),
        "ip": one_of(ok(ip_texts), ok([""]),
                     bad(hostile_text.filter(lambda text: text.strip() and not is_ip(text)))),
        "include_settings": one_of(
            ok(st.lists(st.sampled_from(["network_isolation", "prevention"]), max_size=4)),
            ok([[], ["prevention"], ["network_isolation", "prevention", "prevention"], "prevention",
                "network_isolation,prevention"]),
            bad(hostile_text.filter(lambda text: text not in ("network_isolation", "prevention") and "," not in text
                                    and text.strip()).map(lambda text: [text])),
            bad(st.lists(hostile_text.strategy.filter(lambda text: text not in ("network_isolation", "prevention")
                                                      and "," not in text and text.strip()), min_size=1, max_size=3)),
            ok(wrong_types)),
    }),
    "kata_isolation": dict(kata_connection_options(), **{
        "sensor_id": selector(blank_is_invalid=True),
        "sensor_hostname": selector(blank_is_invalid=True),
        "sensor_ip": selector(blank_is_invalid=True, ip=True),
        **fleet_options(),
        "state": choices(["present", "absent"]),
        "auto_turnoff_timeout": one_of(
            ok(st.integers(3600, 35996400)), ok([3600, 35996400, "7200", 7200.0]),
            bad(st.integers(max_value=3599)), bad(st.integers(min_value=35996401)),
            bad([3599, 0, -1, 35996401, "", "2h", "7200s", 7200.5, float("nan"), float("inf"), [7200],
                 {"s": 7200}])),
        "auto_turnoff_timeout_hours": one_of(
            # Without the baseline's auto_turnoff_timeout (see baseline()): the range and type checks are reached.
            ok(st.integers(1, 9999)), ok([1, 9999, "4"]),
            bad(st.integers(max_value=0)), bad(st.integers(min_value=10000)),
            bad(st.integers(-(2 ** 70), -(2 ** 40))), bad(st.integers(2 ** 40, 2 ** 70)),
            bad([0, -1, 10000, 2 ** 40, -(2 ** 70), "four", "4h", 4.5, "4.5", "", [4], {"h": 4}])),
        "exclusions": one_of(
            ok(st.lists(valid_exclusions, max_size=6)), ok(VALID_EXCLUSION_LISTS),
            bad(Listed(st.tuples(st.lists(valid_exclusions, max_size=4), invalid_exclusions.strategy,
                                 st.integers(0, 10)).map(lambda case: with_one_invalid(case[0], case[1], case[2])[0]),
                       [with_one_invalid(VALID_EXCLUSION_LISTS[number % len(VALID_EXCLUSION_LISTS)], item, number)[0]
                        for number, item in enumerate(invalid_exclusions.values)])),
            ok(nested)),
        "force": bool_option(),
    }),
    "kata_prevention": dict(kata_connection_options(), **{
        "sensor_id": selector(blank_is_invalid=True),
        "sensor_hostname": selector(blank_is_invalid=True),
        "sensor_ip": selector(blank_is_invalid=True, ip=True),
        "all_hosts": bool_option(),
        **fleet_options(),
        "verify_write": bool_option(),
        "hashes": one_of(
            ok(hash_lists()), ok(VALID_HASH_LISTS), bad(hash_lists_with_one_invalid()),
            ok(wrong_types), ok(nested)),
        "state": choices(["present", "absent"]),
        "exclusive": bool_option(),
        "conflict_check": choices(["fail", "warn", "skip"]),
    }),
    "kata_run_process": dict(kata_connection_options(), **{
        "sensor_id": selector(blank_is_invalid=True),
        "sensor_hostname": selector(blank_is_invalid=True),
        "sensor_ip": selector(blank_is_invalid=True, ip=True),
        "state": choices(["present", "absent"]),
        "task_id": one_of(
            ok(st.uuids().map(str)), ok(st.uuids().map(lambda value: " %s " % str(value).upper())),
            ok(["3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b", " 3F2A5C1E-8D4B-4E6F-9A7B-0C1D2E3F4A5B\t"]),
            bad(hostile_text.filter(lambda text: not UUID_RE.match(text.strip().lower()))),
            bad(st.uuids().map(lambda value: str(value) + "/..")), bad(st.uuids().map(lambda value: "{%s}" % value)),
            bad(["3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b/..", "{3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b}",
                 "3f2a5c1e8d4b4e6f9a7b0c1d2e3f4a5b", 5, True, ["3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b"]])),
        "executable": one_of(ok(hostile_text.filter(lambda text: text.strip())),
                             bad(listed(["", " ", "\t\r\n"])), ok(wrong_types)),
        "arguments": ok(anything),
        "working_directory": ok(anything),
        "start_now": bool_option(),
        "wait": bool_option(),
        "wait_timeout": one_of(ok(st.integers(1, 86400)), ok([1, 86400, "30"]), bad(st.integers(max_value=0)),
                               bad(st.integers(min_value=86401)), bad([0, -1, 86401, "", "1h", 1.5, "nan"])),
        "wait_interval": one_of(ok(st.floats(0.01, 3600)), ok([0.01, 3600, "0.5", 1]), bad(st.floats(max_value=0.0)),
                                bad(st.floats(min_value=3600.01)),
                                bad([0, -0.5, 3600.01, float("nan"), float("inf"), "nan", "", "5s", [1]])),
    }),
    "kata_prevention_policy": dict(kata_connection_options(), **policy_options()),
    "ksc_edr_response": dict(ksc_connection_options(), **{
        "target_host": one_of(ok(hostile_text.filter(lambda text: text.strip())),
                              bad(listed(["", " ", "\t"])), ok(wrong_types)),
        "target_hostname": one_of(ok(hostile_text.filter(lambda text: text.strip())),
                                  bad(listed(["", " ", "\r\n"])), ok(wrong_types)),
        "task": one_of(bad(anything.filter(lambda value: value is not None and not isinstance(value, (list, dict))
                                           and str(value) not in KSC_TASKS))),
        "params": one_of(ok(nested), ok(hostile_text), ok([{"action": 1}, '{"action": 1}']),
                         bad([{}, [], "", "[1]", "{", {"action": 2}, {"Action": 1}, [{"action": 1}]])),
        "ioc_file": one_of(bad(missing_files), bad(nul_paths), bad(listed(["/", ".", "/dev/null"]))),
        "incident_area": one_of(
            ok(printable_names),
            ok(["Ansible", "SOAR \u00fc", "a/b?c#d%e"]),
            bad(["", " ", "[x]", "a]b", "a\nb", "a\rb", "a\tb", "a\x00b", "a\u2028b", "a\x0bb", "a\x85b"])),
        "severity": one_of(ok(st.integers(0, 2 ** 31 - 1)), ok([0, 2 ** 31 - 1, "3"]), bad(st.integers(max_value=-1)),
                           bad([-1, "high", "", 1.5, [2]])),
        "force": bool_option(),
    }),
}

# Cases every run tries on top of the generated ones: (value, invalid). Keyed by option, or (module, option).
ALWAYS = {
    "external_system_id": [("..", True), (".", True), ("a/b?c#d%e", True), ("a b", True), ("a;b=c&d", False),
                           ("\u00fc\U0001F600", False), ("a[b]", False), ("a\x00b", True)],
    "request_timeout": [(float("nan"), True), (float("inf"), True), (1e300, True), (0, True), (-1, True),
                        ("nan", True), (86400, False)],
    "kata_port": [(0, True), (65536, True), (-443, True), ("https", True)],
    "ksc_port": [(0, True), (65536, True)],
    "kata_host": [("kata.example/x", True), ("kata.example:443", True), ("", True), ("https://kata.example", True)],
    "ksc_host": [("ksc.example/x", True), ("ksc.example:13299", True), ("", True)],
    "retries": [(-1, True), (11, True), (10 ** 30, True)],
    "client_cert": [("/nonexistent/a b?c#d%e.pem", True), ("/tmp/a\x00b", True)],
    "ca_path": [("/nonexistent/ca.pem", True)],
    "sensor_id": [("a/b?c#d%e", False), ("a/b?c#d%e&x=y", False), ("../..", False), (["a", "b"], False)],
    "sensor_hostname": [("WS-\u00fc\u00f1\u00ee.corp.example", False), ("a/b?c#d%e", False),
                        ("\u0441\u0435\u0440\u0432\u0435\u0440.\u0440\u0444", False)],
    "hostname": [("WS-\u00fc\u00f1\u00ee.corp.example", False), ("a/b?c#d%e", False)],
    ("kata_isolation", "sensor_ip"): [("a/b?c#d%e", True), ("10.0.0.0/8", True), (" 10.20.0.2 ", False)],
    ("kata_run_process", "sensor_ip"): [("a/b?c#d%e", True), ("10.0.0.0/8", True), (" 10.20.0.2 ", False)],
    ("kata_sensor_info", "ip"): [("a/b?c#d%e", True), ("10.0.0.0/8", True), (" 10.20.0.2 ", False)],
    "task_id": [("a/b?c#d%e", True), ("../3f2a5c1e-8d4b-4e6f-9a7b-0c1d2e3f4a5b", True)],
    "hashes": [(["a/b?c#d%e"], True), ([MD5_A, 5], True), ("a/b?c#d%e", True)],
    "exclusions": [("abc", False), ([{"remote_address": "a/b?c#d%e"}], True), ([{"local_ports": "80"}], False)],
    "ioc_file": [("/tmp/a\x00b", True)],
    "incident_area": [("a\x00b", True), ("a\u2028b", True), ("a\x0bb", True), ("SOAR \u00fc", False)],
    "target_hostname": [("WS-00*", False), ('WS-001"(x=1)', False), ("WS-\u00fc", False)],
}

# A message naming one of these names the option (nested options are named by their sub-option).
NAMES = {"exclusions": EXCLUSION_NAMES, "hashes": ("hashes",), "params": ("params",)}
# Connection options that are checked together: a message may name the pair.
NAMES.update({"client_key": ("client_key", "client_cert"), "client_key_passphrase": ("client_key_passphrase",
                                                                                     "client_key", "client_cert")})
# ansible-core's argument-spec check hides its own clear message ("Elements value for option 'exclusions' is of
# type str ...") behind this one when a list-of-dicts option with sub-options gets a string: core's
# _list_no_log_values() raises first (ansible/module_utils/common/parameters.py). The module cannot change it.
ANSIBLE_CORE_UNNAMED = {"exclusions": ("dictionary requested, could not parse JSON or key=value",)}

KATA_BASELINE = {
    "kata_sensor_info": {},
    "kata_isolation": {"sensor_id": SENSOR_1, "auto_turnoff_timeout": 7200},
    "kata_prevention": {"sensor_id": SENSOR_1, "hashes": [MD5_A]},
    "kata_run_process": {"sensor_id": SENSOR_1, "executable": "cmd.exe", "wait_interval": 0.05, "wait_timeout": 2},
    "kata_prevention_policy": {"policy": {SENSOR_1: [MD5_A]}},
}
KSC_BASELINE = {"target_hostname": "WS-001", "task": "isolateHost", "params": {"action": 1}}
SELECTORS = {
    "kata_isolation": ("sensor_id", "sensor_hostname", "sensor_ip", "sensors", "sensor_filter"),
    "kata_prevention": ("sensor_id", "sensor_hostname", "sensor_ip", "all_hosts", "sensors", "sensor_filter"),
    "kata_run_process": ("sensor_id", "sensor_hostname", "sensor_ip"),
    "ksc_edr_response": ("target_host", "target_hostname"),
}
# Option -> the query parameter that carries its value.
QUERY_KEYS = {"sensor_id": "sensor_id", "sensor_hostname": "host", "hostname": "host", "sensor_ip": "ip", "ip": "ip"}


# ---- fixtures and helpers ------------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch):
    """No KATA_*/KSC_* variables: an omitted option must not be filled in from the environment."""
    for key in list(os.environ):
        if key.startswith(("KATA_", "KSC_")):
            monkeypatch.delenv(key)


@pytest.fixture
def kata_conn(central_node, pki_paths, clean_env):
    """Connection options for the fake Central Node; tasks complete at once (wait=true never sleeps)."""
    saved = central_node.task_completion_seconds
    central_node.task_completion_seconds = 0
    yield {"kata_host": "127.0.0.1", "kata_port": central_node.port, "external_system_id": DEFAULT_EXTERNAL_SYSTEM_ID,
           "client_cert": pki_paths["client"], "client_key": pki_paths["client_key"], "ca_path": pki_paths["ca"],
           "request_timeout": 10}
    central_node.task_completion_seconds = saved


@pytest.fixture
def ksc_conn(ksc, pki_paths, clean_env):
    return {"ksc_host": "127.0.0.1", "ksc_port": ksc.port, "ksc_username": DEFAULT_USER,
            "ksc_password": DEFAULT_PASSWORD, "ca_path": pki_paths["ca"], "request_timeout": 10}


def run(fake, name, args, check=False):
    """Run the module with a fresh fake; no traceback, whatever the input."""
    if hasattr(fake, "sensors"):
        fake.reset(3)
    else:
        fake.reset()
    result = run_module(name, args, check=check)
    assert result.traceback is None, "traceback for %s %r:\n%s" % (name, args, result.traceback)
    assert isinstance(result.result, dict) and ("failed" in result.result or "changed" in result.result), result
    result.refused_by_runtime = refused_by_syslog(fake, name, args, result)
    return result


def nothing_sent(fake):
    return not fake.log() and not fake.handshakes()


def assert_rejected(fake, result, option, args):
    assert result.failed, "%s=%r was accepted: %r" % (option, args.get(option), result)
    assert nothing_sent(fake), "%s=%r was rejected but requests were sent: %r" % (
        option, args.get(option), [entry["raw_path"] for entry in fake.log()])
    assert_names_option(result, option)


def assert_names_option(result, option):
    if result.refused_by_runtime:
        return   # failed before the module ran, nothing sent: see refused_by_syslog
    names = NAMES.get(option, (option,))
    if result.msg in ANSIBLE_CORE_UNNAMED.get(option, ()):
        return
    assert any(name in result.msg for name in names), \
        "the message does not name %s: %r (input %r)" % (option, result.msg, result.args.get(option))


def baseline(module, conn, option):
    args = dict(conn)
    args.update(KSC_BASELINE if module == "ksc_edr_response" else KATA_BASELINE[module])
    if option in SELECTORS.get(module, ()):
        for other in SELECTORS[module]:
            args.pop(other, None)
    if option in ("auto_turnoff_timeout", "auto_turnoff_timeout_hours"):
        args.pop("auto_turnoff_timeout", None)   # the two are mutually exclusive: each is tested alone
    return args


# ---- request checks -------------------------------------------------------------------------------
KATA_PATH = re.compile(r"^/kata/response_api/v1/(?P<external>[^/?#]+)/"
                       r"(?P<resource>sensors|settings|tasks/(?P<task>[^/?#]+))$")
# RFC 3986: a path segment is pchar* (unreserved, sub-delims, ':' and '@', or %XX).
PATH_SEGMENT = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+$")
# A query key or value as form-encoded by the client: unreserved characters, '+' for space, %XX for the rest.
QUERY_PART = re.compile(r"^(?:[A-Za-z0-9\-._~+]|%[0-9A-Fa-f]{2})*$")
QUERY_KEYS_ALLOWED = {"sensors": {"ip", "host", "sensor_id", "max_events", "continuation_token"},
                      "settings": {"sensor_id", "settings_type"},
                      "tasks": {"settings", "sensor_id", "task_type"}}


def kata_request(entry, external_id):
    """Check one logged request; return its query as the server decodes it."""
    raw = entry["raw_path"]
    path, _sep, query = raw.partition("?")
    assert "#" not in raw, raw
    match = KATA_PATH.match(path)
    assert match, "request outside the API: %r" % raw
    for segment in path.split("/")[1:]:
        assert PATH_SEGMENT.match(segment), "path segment not encoded: %r in %r" % (segment, raw)
        assert unquote(segment) not in (".", ".."), "dot segment in %r" % raw
    assert unquote(match.group("external")) == external_id, raw
    if match.group("task"):
        assert UUID_RE.match(unquote(match.group("task"))), raw
    decoded = {}
    for pair in query.split("&") if query else []:
        key, sep, value = pair.partition("=")
        assert sep and QUERY_PART.match(key) and QUERY_PART.match(value), "query not encoded: %r in %r" % (pair, raw)
        key = unquote_plus(key)
        assert key not in decoded, "query parameter %s twice in %r" % (key, raw)
        decoded[key] = unquote_plus(value)
    resource = match.group("resource").split("/")[0]
    assert set(decoded) <= QUERY_KEYS_ALLOWED[resource], "unexpected query parameters in %r" % raw
    assert decoded == entry["query"], "the server decoded %r from %r" % (entry["query"], raw)
    return decoded


def fleet_values(option, value):
    """For kata_prevention's fleet options: query key -> the values the user gave for it (None: no check)."""
    if option == "sensors":
        if not isinstance(value, list) or not all(isinstance(item, (str, dict)) for item in value):
            return None  # ansible-core turned the wrong type into some strings
        ids = set()
        for item in value:
            item = item.get("sensor_id") if isinstance(item, dict) else item
            if isinstance(item, str):
                ids |= {item, item.strip()}
        return {"sensor_id": ids}
    if not isinstance(value, dict):
        return None
    return dict((QUERY_KEYS[key], {value[key], value[key].strip()}) for key in ("hostname", "ip")
                if isinstance(value.get(key), str))


def check_kata_requests(central_node, args, option):
    """Every request well formed, and each selector value arrived whole as the one query value."""
    value = args.get(option)
    given = {value, value.strip()} if isinstance(value, str) else set()
    fleet = fleet_values(option, value) if option in ("sensors", "sensor_filter") else {}
    for entry in central_node.log():
        query = kata_request(entry, args["external_system_id"])
        for key, sent in query.items():
            if fleet is None:
                continue
            if key == "sensor_id":
                # Sensor IDs are case-insensitive (the fake lists some in upper case, some in lower case).
                allowed = SERVER_SENSOR_IDS | {"all"} | (given if option == "sensor_id" else set())
                allowed |= fleet.get("sensor_id", set())
                if option == "sensor_id" and not isinstance(value, str):
                    continue  # ansible-core turned the wrong type into some string
                assert sent.lower() in set(item.lower() for item in allowed), \
                    "sensor_id=%r sent for %s=%r: %s" % (sent, option, value, entry["raw_path"])
            elif key in ("host", "ip") and option == "sensor_filter":
                assert sent in fleet.get(key, set()), "%s=%r sent for %s=%r" % (key, sent, option, value)
            elif key in ("host", "ip"):
                assert QUERY_KEYS.get(option) == key, "%s sent without %s: %r" % (key, option, entry["raw_path"])
                if isinstance(value, str):
                    assert sent in given, "%s=%r sent for %s=%r" % (key, sent, option, value)


def check_ksc_requests(ksc):
    for entry in ksc.log():
        raw = entry["raw_path"]
        assert raw.startswith("/api/v1.0/") and raw[len("/api/v1.0/"):] in KSC_CALLS, "unexpected call %r" % raw
        body = entry["json"] or {}
        for key in ("wstrFilter", "strFilter"):
            if key in body:
                try:
                    parse_filter(body[key], dict(HOST_ATTRIBUTES, KLINCDT_IS_HANDLED="bool"))
                except FilterError as exc:
                    raise AssertionError("the filter %r does not parse: %s" % (body[key], exc))


# ---- what an accepted value must send -------------------------------------------------------------
REJECT = object()   # the value must be refused naming the option, before any request
# The run_process task body: computed from the arguments given, see expected_task_post.
TASK_BODY = object()
TASK_OPTIONS = ("executable", "arguments", "working_directory", "start_now")


def _hash_object(entry):
    """The prevention object a hashes entry is written as, or REJECT."""
    if isinstance(entry, dict):
        if len(entry) != 1:
            return REJECT
        (kind, value), = entry.items()
        kind = kind.lower() if isinstance(kind, str) else None
    elif isinstance(entry, str):
        value = entry
        kind = {32: "md5", 64: "sha256"}.get(len(entry.strip()))
    else:
        return REJECT
    if not isinstance(value, str):
        return REJECT
    value = value.strip().lower()
    if kind not in ("md5", "sha256") or len(value) != (32 if kind == "md5" else 64) or \
            not re.match(r"^[0-9a-f]+$", value):
        return REJECT
    return {"file": {kind: value}}


def _each_once(items, convert):
    """``convert`` of every item, repeats once and in order; REJECT when any item is REJECTed."""
    converted = []
    for item in items:
        value = convert(item)
        if value is REJECT:
            return REJECT
        if value not in converted:
            converted.append(value)
    return converted


def expected_prevention_objects(hashes):
    """The list kata_prevention must write on a host without rules (duplicates once, in order), or REJECT."""
    if not isinstance(hashes, list):
        return REJECT   # None (hashes is required), and scalars ansible-core turns into invalid entries
    return _each_once(hashes, _hash_object)


def as_ansible_int(value):
    """AnsibleModule's ``type=int`` conversion (ansible-core's own check_type_int), or REJECT."""
    if isinstance(value, bool):
        return REJECT
    try:
        return check_type_int(value)
    except (TypeError, ValueError, OverflowError):
        return REJECT


def _port_range(ports):
    if not isinstance(ports, dict) or set(ports) != {"from", "to"}:
        return REJECT
    low, high = as_ansible_int(ports["from"]), as_ansible_int(ports["to"])
    if any(port is REJECT or not 1 <= port <= 65535 for port in (low, high)) or low > high:
        return REJECT
    return {"fromPort": low, "toPort": high}


def _api_exclusion(item):
    """The API rule of one exclusions item as the strategies generate valid ones, or REJECT."""
    if not isinstance(item, dict) or not set(item) <= {"direction", "protocol", "remote_address", "local_ports",
                                                       "remote_ports"}:
        return REJECT
    rule = {"direction": item.get("direction", "both")}
    if rule["direction"] not in ("inbound", "outbound", "both") or not ({"protocol", "remote_address"} & set(item)):
        return REJECT
    if "protocol" in item:
        protocol = as_ansible_int(item["protocol"])
        if protocol is REJECT or not 0 <= protocol <= 255:
            return REJECT
        rule["protocol"] = protocol
    if "remote_address" in item:
        if not isinstance(item["remote_address"], str) or not is_ip(item["remote_address"]) \
                or "%" in item["remote_address"]:
            return REJECT
        address = ipaddress.ip_address(item["remote_address"].strip())
        rule["remoteIpv%dAddress" % address.version] = str(address)
    for option, key in (("local_ports", "localPortRange"), ("remote_ports", "remotePortRange")):
        if option in item:
            ports = _port_range(item[option])
            if ports is REJECT or rule["direction"] == "both":
                return REJECT
            rule[key] = ports
    return rule


def expected_isolation_rules(exclusions):
    """The excludedRules kata_isolation must write, or REJECT. Only what the strategies generate as valid is
    computed; anything else (wrong types, nested junk) must be refused."""
    if exclusions is None:
        return []   # not given: no exclusions
    if not isinstance(exclusions, list):
        return REJECT
    return _each_once(exclusions, _api_exclusion)


def isolation_body(seconds, rules=()):
    """excludedRules is left out when there are none."""
    settings = {"autoTurnoffTimeoutInSec": seconds}
    if rules:
        settings["excludedRules"] = list(rules)
    return {"settings": settings}


def expected_writes(module, option, value):
    """For the options whose value becomes a request body: REJECT, or the exact (method, body) writes."""
    if module == "kata_prevention" and option == "hashes":
        objects = expected_prevention_objects(value)
        if objects is REJECT:
            return REJECT
        return [("POST", {"settings": {"objects": objects}})] if objects else []
    if module == "kata_isolation" and option == "exclusions":
        rules = expected_isolation_rules(value)
        if rules is REJECT:
            return REJECT
        return [("POST", isolation_body(7200, rules))]
    if module == "kata_prevention_policy" and option == "policy":
        return expected_policy_writes(value)
    if module == "kata_isolation" and option == "auto_turnoff_timeout_hours":
        hours = as_ansible_int(value)
        if hours is REJECT or not 1 <= hours <= 9999:
            return REJECT
        return [("POST", isolation_body(hours * 3600))]
    if module == "kata_isolation" and option == "auto_turnoff_timeout":
        seconds = as_ansible_int(value)
        if seconds is REJECT or not 3600 <= seconds <= 35996400:
            return REJECT
        return [("POST", isolation_body(seconds))]
    if module == "ksc_edr_response" and option == "params":
        if isinstance(value, str):
            try:   # a JSON text (as a template renders it) is the object it encodes
                value = json.loads(value)
            except ValueError:
                return REJECT
        if not isinstance(value, dict):
            return REJECT
        # isolateHost takes exactly {"action": 1}: any other value (wrong types, nested junk, text) is refused.
        if value != {"action": 1} or isinstance(value.get("action"), bool) or not isinstance(value["action"], int):
            return REJECT
        return [("AddIncident", {"targetHost": "<WS-001>", "task": "isolateHost", "params": {"action": 1},
                                 "responseEventIncident": True, "responseEventIncidentArea": "Ansible"})]
    if module == "kata_run_process" and option in TASK_OPTIONS:
        return TASK_BODY
    return None   # not a body option: the requests are checked by check_kata_requests/check_ksc_requests


def as_ansible_str(value):
    """AnsibleModule's ``type=str`` conversion (string_conversion_action ``warn``): a non-string becomes its str()."""
    return value if value is None or isinstance(value, str) else to_native(value)


def expected_task_post(args):
    """The one task POST a run_process run sends: the documented task body built from the option values given
    (with AnsibleModule's type conversion, done here independently of the module), nothing else."""
    start_now = True if args.get("start_now") is None else boolean(args["start_now"])
    task = {"schedule": {"startNow": start_now}, "execCommand": as_ansible_str(args["executable"])}
    for option, key in (("arguments", "cmdLineParameters"), ("working_directory", "workingDirectory")):
        value = as_ansible_str(args.get(option))
        if value not in (None, ""):
            task[key] = value
    return [("POST", {"task": task})]


def expected_policy_writes(policy):
    """A policy naming only SENSOR_1 and ``all`` (fresh fake, no rules): REJECT, or the exact writes; None for
    policies that name other hosts or groups (their requests are still checked)."""
    if not isinstance(policy, dict) or any(str(key).strip() == "" for key in policy):
        return REJECT
    lists = {}
    for key, hashes in policy.items():
        objects = expected_prevention_objects(hashes if hashes is not None else [])
        if objects is REJECT:
            return REJECT
        lists[str(key).strip()] = objects
    everywhere = lists.get("all", [])
    if any(obj in everywhere for key, objects in lists.items() if key != "all" for obj in objects):
        return REJECT
    if not set(lists) <= {"all", SENSOR_1}:
        return None
    # The host first (it gives nothing up to ``all``), then ``all``; an empty list on a clean target writes nothing.
    return [("POST", {"settings": {"objects": lists[key]}}) for key in (SENSOR_1, "all") if lists.get(key)]


def baseline_writes(module, sensor_ids):
    """What the baseline call writes for each host it reaches (no rules on any host beforehand)."""
    if module == "kata_prevention":
        body = {"settings": {"objects": [{"file": {"md5": MD5_A}}]}}
    elif module == "kata_isolation":
        body = isolation_body(7200)
    else:
        return None
    return sorted(("POST", sensor_id, json.dumps(body, sort_keys=True)) for sensor_id in sensor_ids)


def sent_writes(fake):
    """(method, body) of every write; for KSC each AddIncident's response body (the host by its DN)."""
    if not hasattr(fake, "sensors"):
        names = dict((host["KLHST_WKS_HOSTNAME"], "<%s>" % host["KLHST_WKS_DN"]) for host in fake.hosts)
        bodies = []
        for entry in fake.calls("HostGroup.AddIncident"):
            body = json.loads(entry["json"]["pData"]["KLINCDT_BODY"])
            bodies.append(("AddIncident", dict(body, targetHost=names.get(body.get("targetHost"), body.get(
                "targetHost")))))
        return bodies
    return [(entry["method"], entry["json"]) for entry in fake.writes()]


def check_expected_writes(fake, module, option, value, result, args):
    """An accepted value sent exactly the expected writes; a value that must be refused sent nothing."""
    expected = expected_writes(module, option, value)
    if expected is None:
        return
    if expected is TASK_BODY and option == "executable" and not (as_ansible_str(value) or "").strip():
        expected = REJECT   # no command to run
    if expected is TASK_BODY and option == "start_now" and value is not None:
        try:
            check_type_bool(value)
        except TypeError:
            expected = REJECT
    if expected is REJECT:
        assert_rejected(fake, result, option, args)
        return
    assert not result.failed, "%s=%r was refused: %r" % (option, value, result)
    if expected is TASK_BODY:
        expected = expected_task_post(args)
    assert sent_writes(fake) == expected, "%s=%r sent %r, expected %r" % (option, value, sent_writes(fake),
                                                                          expected)


def check_fleet_writes(fake, module, option, value, result, args):
    """sensors / sensor_filter: the hosts reached get exactly the baseline body, nothing else is written."""
    if option not in ("sensors", "sensor_filter") or module not in ("kata_prevention", "kata_isolation"):
        return
    expected = expected_fleet(fake, option, value)
    if expected is REJECT:
        return assert_rejected(fake, result, option, args)
    written = list(fake.writes())
    reached = [entry["query"].get("sensor_id") for entry in written]
    assert set(sensor.lower() for sensor in reached) <= set(sensor.lower() for sensor in SERVER_SENSOR_IDS), \
        "writes to hosts that do not exist: %r" % reached
    reached = [sensor.lower() for sensor in reached]
    assert len(reached) == len(set(reached)), "a host written twice: %r" % reached
    got = sorted((entry["method"], entry["query"]["sensor_id"].lower(), json.dumps(entry["json"], sort_keys=True))
                 for entry in written)
    assert got == baseline_writes(module, reached), "%s=%r wrote %r" % (option, value, got)
    assert set(reached) == expected, "%s=%r reached %r, expected %r" % (option, value, reached, expected)


def _fleet_entry(fake, item):
    """One sensors entry: REJECT, the sensor ID it names (lower case), or None for a host the fake does not have."""
    if isinstance(item, dict):
        if len(item) != 1 or not set(item) <= {"sensor_id", "sensor_hostname", "sensor_ip"}:
            return REJECT
        (key, text), = item.items()
    else:
        key, text = "sensor_id", as_ansible_str(item)
    if not isinstance(text, str) or not text.strip() or (key == "sensor_id" and text.strip().lower() == "all") \
            or (key == "sensor_ip" and not is_ip(text)):
        return REJECT
    sensor = fake_sensor(fake, {"sensor_id": "sensorId", "sensor_hostname": "host", "sensor_ip": "ip"}[key],
                         text.strip())
    return sensor["sensorId"].lower() if sensor else None


def expected_fleet(fake, option, value):
    """sensors / sensor_filter: REJECT (refused before any request), or the set of sensor IDs (lower case) that
    must be written: each entry or filter resolved against the fake's sensors (IDs in any case, host names and
    IPs exact); an entry naming no host fails that host only."""
    if option == "sensors":
        try:
            items = check_type_list(value)
        except TypeError:
            return REJECT
        resolved = [_fleet_entry(fake, item) for item in items]
        if REJECT in resolved:
            return REJECT
        return set(sensor for sensor in resolved if sensor)
    if not isinstance(value, dict) or not set(value) <= {"hostname", "ip"} or any(
            not isinstance(text, str) for text in value.values()) or ("ip" in value and not is_ip(value["ip"])):
        return REJECT
    # An empty host name filters nothing; a host name is compared as given, an IP without surrounding whitespace.
    return set(sensor["sensorId"].lower() for sensor in fake.sensors
               if all(sensor["host"] == text if key == "hostname" else sensor["ip"] == text.strip()
                      for key, text in value.items() if text != ""))


# ---- the oracles of accepted values ---------------------------------------------------------------
# Every accepted value of every option has one: the exact requests (method, resource, decoded query, body) the
# fake must have received, computed here from the arguments and the fake's documented data (three sensors, the
# KSC hosts), never from the module's result; plus what the result must say where the option changes only that.
PREVENTION_BODY = {"settings": {"objects": [{"file": {"md5": MD5_A}}]}}
ANY_TASK = "tasks/*"


def settings_request(method, sensor, kind, body=None):
    return (method, "settings", {"sensor_id": sensor, "settings_type": kind}, body)


def task_body(args):
    return expected_task_post(args)[0][1]


def base_requests(module, args, sensor=SENSOR_1):
    """The requests of the baseline call (one option changed) on a fresh fake, for the sensor ``sensor``."""
    if module == "kata_isolation":
        return [settings_request("GET", sensor, "network_isolation"),
                settings_request("POST", sensor, "network_isolation", isolation_body(7200))]
    if module in ("kata_prevention", "kata_prevention_policy"):
        requests = [settings_request("GET", sensor, "prevention")]
        if args.get("conflict_check") != "skip":   # the conflict check reads what all hosts block
            requests.append(settings_request("GET", "all", "prevention"))
        requests.append(settings_request("POST", sensor, "prevention", PREVENTION_BODY))
        verify = True if args.get("verify_write") is None else boolean(args["verify_write"])
        return requests + ([settings_request("GET", sensor, "prevention")] if verify else [])
    if module == "kata_run_process":
        return [("POST", ANY_TASK, {"sensor_id": sensor, "task_type": "run_process"}, task_body(args)),
                ("GET", ANY_TASK, {"settings": "true"}, None)]
    if module == "kata_sensor_info":
        return [("GET", "sensors", {}, None)]
    raise AssertionError(module)


def kata_requests(fake):
    """(method, resource, decoded query, JSON body) of every request the fake Central Node received."""
    requests = []
    for entry in fake.log():
        path = entry["raw_path"].partition("?")[0]
        match = KATA_PATH.match(path)
        assert match, entry["raw_path"]
        requests.append((entry["method"], unquote(match.group("resource")), entry["query"], entry["json"]))
    return requests


def assert_requests(fake, expected, what):
    got = kata_requests(fake)
    tasks = set(resource for _method, resource, _query, _body in got if resource.startswith("tasks/"))
    assert len(tasks) <= 1, "%s: several task IDs in one run: %r" % (what, got)
    if tasks and all(not resource.startswith("tasks/") or resource == ANY_TASK or resource in tasks
                     for _method, resource, _query, _body in expected):
        (task,) = tasks
        if UUID_RE.match(task[len("tasks/"):]):
            expected = [(method, task if resource == ANY_TASK else resource, query, body)
                        for method, resource, query, body in expected]
    assert got == expected, "%s: the requests were\n%r\nexpected\n%r" % (what, got, expected)


def fake_sensor(fake, key, value):
    """The fake's sensor whose ``key`` is ``value`` (IDs case-insensitive, host names and IPs exact), or None."""
    for sensor in fake.sensors:
        if (sensor[key].lower() == value.lower()) if key == "sensorId" else sensor[key] == value:
            return sensor
    return None


def sent_text(value, strip=True):
    text = as_ansible_str(value)
    return text.strip() if strip and text is not None else text


def oracle_baseline(fake, module, option, value, result, args):
    """Options that change nothing the fake sees on a fresh fake: exactly the baseline's requests, success."""
    assert not result.failed, "%s=%r: %r" % (option, value, result)
    if module == "ksc_edr_response":
        calls = KSC_BASE_CALLS
        if args.get("force") is not None and boolean(args["force"]):   # no search for a pending twin
            calls = [call for number, call in enumerate(calls) if number not in KSC_PENDING_SEARCH]
        assert ksc_calls(fake) == calls, "%s=%r: %r" % (option, value, ksc_calls(fake))
        assert sent_writes(fake) == [("AddIncident", KSC_BASE_BODY)]
    else:
        assert_requests(fake, base_requests(module, args), "%s=%r" % (option, value))


def oracle_validate_certs(fake, module, option, value, result, args):
    oracle_baseline(fake, module, option, value, result, args)
    warned = any("validate_certs is false" in json.dumps(warning) for warning in result.result.get("warnings", []))
    assert warned is (not boolean(value)), "validate_certs=%r: warnings %r" % (value, result.result.get("warnings"))


def oracle_retries(fake, module, option, value, result, args):
    """The baseline, then the same call against a server answering every request 503 (Retry-After: 0): the first
    request is sent exactly retries + 1 times."""
    oracle_baseline(fake, module, option, value, result, args)
    retries = as_ansible_int(value)
    if hasattr(fake, "sensors"):
        fake.reset(3)
    else:
        fake.reset()
    fake.add_fault(status=503, retry_after=0, times=100)
    again = run_module(module, args)
    fake.clear_faults()
    log = fake.log()
    assert again.failed and "HTTP 503" in again.msg, again
    repeated = 1
    while repeated < len(log) and same_request(log[0], log[repeated]):
        repeated += 1
    assert repeated == retries + 1, "retries=%r: %r" % (value, [entry["raw_path"] for entry in log])


def same_request(first, second):
    return (first["method"], first["raw_path"], first["json"]) == (second["method"], second["raw_path"],
                                                                   second["json"])


def oracle_page_size(fake, module, option, value, result, args):
    assert not result.failed, result
    if module != "kata_sensor_info":
        return oracle_baseline(fake, module, option, value, result, args)
    size = as_ansible_int(value)
    pages = [entry["query"] for entry in fake.log()]
    assert len(pages) == -(-len(fake.sensors) // size), pages
    assert all(query["max_events"] == str(size) for query in pages), pages
    assert [("continuation_token" in query) for query in pages] == [False] + [True] * (len(pages) - 1), pages
    assert result.result["count"] == len(fake.sensors)


def oracle_external_system_id(fake, module, option, value, result, args):
    if value == DEFAULT_EXTERNAL_SYSTEM_ID:
        return oracle_baseline(fake, module, option, value, result, args)
    (entry,) = fake.log()
    assert result.failed and "401" in result.msg, result
    assert unquote(KATA_PATH.match(entry["raw_path"].partition("?")[0]).group("external")) == value
    first = base_requests(module, args)[0]
    assert_requests(fake, [first], "external_system_id=%r" % (value,))


def oracle_selector(fake, module, option, value, result, args):
    """sensor_id / sensor_hostname / sensor_ip of the modules that act on one host."""
    sent = sent_text(value)
    what = "%s=%r" % (option, value)
    if value is None:   # no target at all
        return assert_rejected(fake, result, option, args)
    if (option == "sensor_id" and sent.lower() == "all") or (option == "sensor_ip" and not is_ip(sent)):
        return assert_rejected(fake, result, option, args)   # all_hosts=true is how to mean all; not an IP
    if option == "sensor_id":
        if fake_sensor(fake, "sensorId", sent):
            assert not result.failed, result
            return assert_requests(fake, base_requests(module, args, sensor=sent), what)
        assert result.failed, result
        return assert_requests(fake, base_requests(module, args, sensor=sent)[:1], what)
    key = "host" if option == "sensor_hostname" else "ip"
    lookup = ("GET", "sensors", {key: sent}, None)
    sensor = fake_sensor(fake, key, sent)
    if sensor:
        assert not result.failed, result
        return assert_requests(fake, [lookup] + base_requests(module, args, sensor=sensor["sensorId"]), what)
    assert result.failed and option in result.msg, result
    assert_requests(fake, [lookup, ("GET", "sensors", {}, None)], what)


def oracle_info_filter(fake, module, option, value, result, args):
    """kata_sensor_info's filters: one GET sensors with the text as the one query value (none for an empty one);
    count is the number of the fake's sensors it matches."""
    key = QUERY_KEYS[option]
    sent = sent_text(value, strip=option == "ip")
    query = {key: sent} if sent else {}
    assert not result.failed, result
    assert_requests(fake, [("GET", "sensors", query, None)], "%s=%r" % (option, value))
    field = {"sensor_id": "sensorId", "host": "host", "ip": "ip"}[key]
    matching = [sensor for sensor in fake.sensors if not sent or fake_sensor(fake, field, sent) is sensor]
    assert result.result["count"] == len(matching), result


def oracle_include_settings(fake, module, option, value, result, args):
    try:   # ansible-core's list conversion: a comma-separated text is a list, other scalars one item
        items = check_type_list(value)   # None too: given as null, it is refused
    except TypeError:
        return assert_rejected(fake, result, option, args)
    kinds = list(dict.fromkeys(str(item).strip() for item in items))
    if not set(kinds) <= {"network_isolation", "prevention"} or any(not isinstance(item, str) for item in items):
        return assert_rejected(fake, result, option, args)
    assert not result.failed, result
    expected = [("GET", "sensors", {}, None)]
    for sensor in fake.sensors:
        expected += [settings_request("GET", sensor["sensorId"], kind) for kind in kinds]
    assert_requests(fake, expected, "include_settings=%r" % (value,))


def oracle_state(fake, module, option, value, result, args):
    if value == "present":
        return oracle_baseline(fake, module, option, value, result, args)
    if module in ("kata_isolation", "kata_run_process"):
        # absent with the baseline's auto_turnoff_timeout / without task_id: refused naming state.
        return assert_rejected(fake, result, option, args)
    assert not result.failed and result.result["changed"] is False, result   # nothing to remove on a fresh fake
    assert_requests(fake, base_requests(module, args)[:1], "state=absent")


def oracle_all_hosts(fake, module, option, value, result, args):
    if not boolean(value):
        return assert_rejected(fake, result, option, args)   # no target left
    assert not result.failed, result
    expected = [settings_request("GET", "all", "prevention"), ("GET", "sensors", {}, None)]
    expected += [settings_request("GET", sensor["sensorId"], "prevention") for sensor in fake.sensors]
    verify = True if args.get("verify_write") is None else boolean(args["verify_write"])
    expected += [settings_request("POST", "all", "prevention", PREVENTION_BODY)]
    expected += [settings_request("GET", "all", "prevention")] if verify else []
    assert_requests(fake, expected, "all_hosts=%r" % (value,))


def oracle_task_id(fake, module, option, value, result, args):
    task = "tasks/" + value.strip().lower()
    assert not result.failed, result
    assert_requests(fake, [("GET", task, {"settings": "true"}, None),
                           ("POST", task, {"sensor_id": SENSOR_1, "task_type": "run_process"}, task_body(args)),
                           ("GET", task, {"settings": "true"}, None)], "task_id=%r" % (value,))


def oracle_task_option(fake, module, option, value, result, args):
    """executable, arguments, working_directory, start_now: the task body (check_expected_writes) in the
    baseline's requests."""
    if not result.failed:
        oracle_baseline(fake, module, option, value, result, args)


def oracle_policy(fake, module, option, value, result, args):
    expected = expected_policy_targets(fake, value, args.get("groups") or {})
    if expected is UNKNOWN_TARGET:
        assert result.failed and "policy[" in result.msg and not fake.writes(), result
        return
    assert not result.failed, result
    got = sorted((entry["query"]["sensor_id"].lower(), json.dumps(entry["json"], sort_keys=True))
                 for entry in fake.writes())
    assert got == expected, "policy=%r wrote\n%r\nexpected\n%r" % (value, got, expected)


def oracle_groups(fake, module, option, value, result, args):
    oracle_policy(fake, module, "policy", args["policy"], result, args)


def oracle_ksc_login(fake, module, option, value, result, args):
    """ksc_username / ksc_password / ksc_domain / ksc_vserver / ksc_internal_user: the one login the fake saw carries
    the value; the fake's default account logs in (the baseline follows), anything else fails naming the option."""
    login = fake.logins[0]
    given = {"ksc_username": "user", "ksc_domain": "domain", "ksc_vserver": "vserver"}
    if option in given:
        assert login[given[option]] == (sent_text(value, strip=False) or ""), (option, value, login)
    elif option == "ksc_internal_user":
        assert login["internal"] is boolean(value), (value, login)
    if login["ok"]:
        return oracle_baseline(fake, module, option, value, result, args)
    assert result.failed and option in result.msg and ksc_calls(fake) == ["login"], result


def oracle_ksc_target(fake, module, option, value, result, args):
    if value is None:   # no target at all
        return assert_rejected(fake, result, option, args)
    sent = sent_text(value)
    visible = [host for host in fake.hosts if not host.get("vserver")]
    if option == "target_host":
        matching = [host for host in visible if host["KLHST_WKS_HOSTNAME"] == sent]
    else:
        matching = [host for host in visible if any(literally(sent, name) for name in ksc_names(host))]
    created = fake.calls("HostGroup.AddIncident")
    if len(matching) == 1:
        assert not result.failed and len(created) == 1, result
        assert result.result["target_host"] == matching[0]["KLHST_WKS_HOSTNAME"]
    else:
        assert result.failed and option in result.msg and not created, result


def oracle_incident(fake, module, option, value, result, args):
    assert not result.failed, result
    (call,) = fake.calls("HostGroup.AddIncident")
    data = call["json"]["pData"]
    if option == "severity":
        assert data["KLINCDT_SEVERITY"] == as_ansible_int(value), data
    else:
        assert json.loads(data["KLINCDT_BODY"])["responseEventIncidentArea"] == value, data


def ksc_calls(fake):
    return [entry["path"][len("/api/v1.0/"):] for entry in fake.log()]


KSC_BASE_CALLS = ["login", "HostGroup.FindHosts", "ChunkAccessor.GetItemsCount", "ChunkAccessor.GetItemsChunk",
                  "ChunkAccessor.Release", "HostGroup.FindIncidents", "ChunkAccessor.GetItemsCount",
                  "ChunkAccessor.Release", "HostGroup.AddIncident", "HostGroup.UpdateIncident"]
KSC_PENDING_SEARCH = (5, 6, 7)   # FindIncidents and its chunk accessor calls
KSC_BASE_BODY = {"targetHost": "<WS-001>", "task": "isolateHost", "params": {"action": 1},
                 "responseEventIncident": True, "responseEventIncidentArea": "Ansible"}
UNKNOWN_TARGET = object()


def expected_policy_targets(fake, policy, groups):
    """The writes a policy makes on a fresh fake, as sorted (sensor ID in lower case, body): each key names
    ``all``, a sensor ID (any case), a host name (exact) or a group of host names; UNKNOWN_TARGET when a key names
    none of them (refused after the lookup, nothing written)."""
    lists = {}
    for key, hashes in policy.items():
        name = str(key).strip()
        objects = expected_prevention_objects(hashes if hashes is not None else [])
        if name == "all":
            targets = ["all"]
        elif fake_sensor(fake, "sensorId", name):
            targets = [name.lower()]
        elif fake_sensor(fake, "host", name):
            targets = [fake_sensor(fake, "host", name)["sensorId"].lower()]
        elif name in groups and all(fake_sensor(fake, "host", host) for host in groups[name]):
            targets = [fake_sensor(fake, "host", host)["sensorId"].lower() for host in groups[name]]
        else:
            return UNKNOWN_TARGET
        for target in targets:
            merged = lists.setdefault(target, [])
            merged.extend(obj for obj in objects if obj not in merged)
    return sorted((target, json.dumps({"settings": {"objects": objects}}, sort_keys=True))
                  for target, objects in lists.items() if objects)


ORACLES = {
    "request_timeout": oracle_baseline, "client_key_passphrase": oracle_baseline, "parallelism": oracle_baseline,
    "ignore_sensor_errors": oracle_baseline, "force": oracle_baseline, "exclusive": oracle_baseline,
    "conflict_check": oracle_baseline, "results": oracle_baseline, "wait": oracle_baseline,
    "wait_timeout": oracle_baseline, "wait_interval": oracle_baseline, "verify_write": oracle_baseline,
    "validate_certs": oracle_validate_certs, "retries": oracle_retries, "page_size": oracle_page_size,
    "external_system_id": oracle_external_system_id, "include_settings": oracle_include_settings,
    "state": oracle_state, "all_hosts": oracle_all_hosts, "task_id": oracle_task_id,
    "executable": oracle_task_option, "arguments": oracle_task_option, "working_directory": oracle_task_option,
    "start_now": oracle_task_option, "policy": oracle_policy, "groups": oracle_groups,
    "ksc_username": oracle_ksc_login, "ksc_password": oracle_ksc_login, "ksc_domain": oracle_ksc_login,
    "ksc_vserver": oracle_ksc_login, "ksc_internal_user": oracle_ksc_login,
    "target_host": oracle_ksc_target, "target_hostname": oracle_ksc_target,
    "incident_area": oracle_incident, "severity": oracle_incident,
}
# Options whose accepted values are fully checked by check_expected_writes / check_fleet_writes (the exact
# bodies; the reads before them by check_kata_requests).
BODY_ORACLES = {"hashes", "exclusions", "auto_turnoff_timeout", "auto_turnoff_timeout_hours", "params", "sensors",
                "sensor_filter"}


def check_accepted(fake, module, option, value, result, args):
    """The oracle of an accepted value: every option has one (test_every_accepted_value_has_an_oracle)."""
    if option in ("sensor_id", "sensor_hostname", "sensor_ip") and module != "kata_sensor_info":
        return oracle_selector(fake, module, option, value, result, args)
    if module == "kata_sensor_info" and option in ("sensor_id", "hostname", "ip"):
        return oracle_info_filter(fake, module, option, value, result, args)
    if option in BODY_ORACLES:
        return None
    assert option in ORACLES, "no oracle for an accepted %s value: %r" % (option, value)
    return ORACLES[option](fake, module, option, value, result, args)


# ---- ansible-core ------------------------------------------------------------------------------------
def infinite(value):
    """True for inf/-inf anywhere in the value, as a float or a string ansible-core reads as one."""
    if isinstance(value, float):
        return value in (float("inf"), float("-inf"))
    if isinstance(value, str):
        return value.strip().lower().lstrip("+-") in ("inf", "infinity")
    if isinstance(value, dict):
        return any(infinite(item) for item in value.values())
    if isinstance(value, list):
        return any(infinite(item) for item in value)
    return False


# ansible-core 2.18 to 2.21: check_type_int() raises OverflowError for inf (a traceback in AnsibleModule(),
# before the module's code runs); 2.16 and 2.17 never had the bug, 2.22 has the fix (ansible/ansible#87253):
# both refuse inf with a TypeError, which AnsibleModule reports naming the option.
CORE_LINE = tuple(int(part) for part in CORE_VERSION.split(".")[:2])
CORE_INT_OVERFLOWS = (2, 18) <= CORE_LINE < (2, 22)


def core_overflows(module, option, value):
    """On the cores with the bug, inf is not generated for int options and options with sub-options;
    test_core_int_overflow_is_where_expected notices when a core changes."""
    spec = SPECS[module].get(option, {})
    return CORE_INT_OVERFLOWS and (spec.get("type") == "int" or "options" in spec) and infinite(value)


# Python 3.12+ refuses a NUL byte in syslog.syslog(), and AnsibleModule logs its invocation to syslog before
# the module's code runs: on those Pythons (ansible-core 2.20 and later) a NUL in a logged option fails the
# task with this message, before anything is sent. Lists and dicts are logged as their repr(), NUL escaped.
SYSLOG_REFUSES_NUL = sys.version_info >= (3, 12)
SYSLOG_NUL_MESSAGE = "Failed to log to syslog (embedded null character)."


def logs_a_nul(module, args):
    """True when AnsibleModule would write a NUL byte to syslog for ``args``: a string option, not no_log."""
    for name, value in args.items():
        spec = SPECS[module].get(name, {})
        if isinstance(value, str) and "\x00" in value and not spec.get("no_log") and \
                spec.get("type", "str") in ("str", "path", "raw"):
            return True
    return False


def refused_by_syslog(fake, module, args, result):
    """On a Python whose syslog refuses NUL: a NUL in a logged option failed the task, naming an option (the
    argument checks run first) or with the syslog message, and nothing was sent. True when syslog refused it."""
    refused = result.msg.startswith(SYSLOG_NUL_MESSAGE)
    if not (SYSLOG_REFUSES_NUL and logs_a_nul(module, args)):
        assert not refused, "syslog refused %r without a NUL to log: %r" % (args, result)
        return False
    assert result.failed and nothing_sent(fake), \
        "a NUL in %r reached the module on a Python whose syslog refuses it: %r" % (args, result)
    return refused


# ---- the properties ---------------------------------------------------------------------------------
CASES = [(module, option) for module in sorted(OPTIONS) for option in sorted(OPTIONS[module])]
CONNECTION = set(kata_connection_options()) | set(ksc_connection_options())


def examples(module, option):
    # Around the listed values (test_listed_value); connection options go through the same checks in every module.
    return 6 if option in CONNECTION else 12


def server_and_connection(request, module):
    if module == "ksc_edr_response":
        return request.getfixturevalue("ksc"), request.getfixturevalue("ksc_conn")
    return request.getfixturevalue("central_node"), request.getfixturevalue("kata_conn")


def check_case(fake, conn, module, option, value, invalid):
    """One option of a working call replaced by ``value``: refused naming the option before any request when
    ``invalid``; otherwise the requests, bodies and result the oracles compute from the arguments."""
    args = baseline(module, conn, option)
    args[option] = value
    result = run(fake, module, args)
    if result.refused_by_runtime:
        return
    if invalid:
        assert_rejected(fake, result, option, args)
    # Body options: refused before any request, or exactly the expected body sent.
    check_expected_writes(fake, module, option, value, result, args)
    check_fleet_writes(fake, module, option, value, result, args)
    if module == "ksc_edr_response":
        check_ksc_requests(fake)
    else:
        check_kata_requests(fake, args, option)
    if not invalid:
        check_accepted(fake, module, option, value, result, args)


# Listed values the modules accept although they must refuse them: (options, predicate, reason). Each such case
# is a strict xfail, so it turns into a failure the day the module is fixed (then delete the entry).
KNOWN_BUGS = []


def known_bug(module, option, value):
    for options, predicate, reason in KNOWN_BUGS:
        if option in options and predicate(module, value):
            return reason
    return None


# Options every module checks with the same code (the connection options, ansible-core's bool and choices
# checks): their listed values are dealt out to the modules that have the option, each value run once.
SHARED = CONNECTION | {"state", "results", "parallelism", "ignore_sensor_errors", "force", "verify_write",
                       "validate_certs"}


def listed_cases():
    """Every listed value of every option, each once (and the ALWAYS cases of each module)."""
    for module, option in CASES:
        sharing = sorted(name for name in OPTIONS if option in OPTIONS[name]) if option in SHARED else [module]
        seen = set()
        cases = [case for number, case in enumerate(OPTIONS[module][option].values)
                 if sharing[number % len(sharing)] == module]
        for value, invalid in cases + ALWAYS.get(option, []) + ALWAYS.get((module, option), []):
            key = repr((value, invalid))
            if key in seen:
                continue
            seen.add(key)
            bug = known_bug(module, option, value)
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(module, option, value, invalid, id="%s-%s-%d" % (module, option, len(seen)),
                               marks=marks)


@pytest.mark.parametrize("module,option,value,invalid", list(listed_cases()))
def test_listed_value(request, module, option, value, invalid):
    """Every value the lists above name, for every option that draws from them: nothing left to chance."""
    if core_overflows(module, option, value):
        pytest.skip("inf in an int option: a traceback inside ansible-core %s (see core_overflows)" % CORE_VERSION)
    fake, conn = server_and_connection(request, module)
    if option in ("kata_host", "ksc_host") and known_bug(module, option, value):
        conn = dict(conn, request_timeout=1, retries=0)   # it connects: fail fast instead of 4 x 10 s
    check_case(fake, conn, module, option, value, invalid)


@pytest.mark.parametrize("module,option", CASES, ids=["%s-%s" % case for case in CASES])
def test_hostile_option_value(request, module, option):
    """One option of a working call replaced by a drawn hostile value (the listed ones: test_listed_value)."""
    fake, conn = server_and_connection(request, module)

    @hostile_settings(examples(module, option))
    @given(case=OPTIONS[module][option].strategy)
    def check(case):
        value, invalid = case
        assume(not core_overflows(module, option, value))
        assume(not known_bug(module, option, value))   # a strict xfail in test_listed_value
        check_case(fake, conn, module, option, value, invalid)

    check()


SELECTOR_CASES = [("kata_isolation", "sensor_id"), ("kata_isolation", "sensor_hostname"),
                  ("kata_prevention", "sensor_id"), ("kata_prevention", "sensor_hostname"),
                  ("kata_run_process", "sensor_id"), ("kata_run_process", "sensor_hostname"),
                  ("kata_sensor_info", "sensor_id"), ("kata_sensor_info", "hostname")]


@pytest.mark.parametrize("module,option", SELECTOR_CASES, ids=["%s-%s" % case for case in SELECTOR_CASES])
def test_selector_arrives_as_one_query_value(central_node, kata_conn, module, option):
    """The example of the issue and its relatives: whatever the text, it is sent as one query value, whole."""

    @hostile_settings(20)
    @given(value=hostile_text.strategy)
    def check(value):
        args = baseline(module, kata_conn, option)
        args[option] = value
        result = run(central_node, module, args)
        check_kata_requests(central_node, args, option)
        if result.refused_by_runtime:
            return
        if not value.strip() and module != "kata_sensor_info":
            assert_rejected(central_node, result, option, args)
            return
        if option == "sensor_id" and module != "kata_sensor_info" and value.strip().lower() == "all":
            assert_rejected(central_node, result, option, args)
            return
        key = QUERY_KEYS[option]
        sent = [entry["query"][key] for entry in central_node.log() if key in entry["query"]]
        if module == "kata_sensor_info" and value == "":
            assert not sent  # an empty filter is no filter
            return
        assert sent and sent[0] in (value, value.strip()), "%s=%r was sent as %r" % (option, value, sent)

    check()


def test_the_issue_example_is_one_query_value(central_node, kata_conn):
    args = dict(kata_conn, sensor_id="a/b?c#d%e", auto_turnoff_timeout=7200)
    result = run(central_node, "kata_isolation", args)
    assert result.failed and "Specified host not found" in result.msg
    (entry,) = central_node.log()
    assert entry["raw_path"].endswith("/settings?sensor_id=a%2Fb%3Fc%23d%25e&settings_type=network_isolation")
    assert entry["query"] == {"sensor_id": "a/b?c#d%e", "settings_type": "network_isolation"}


@hostile_settings(30)
@given(valid=hash_lists(), invalid=invalid_hash_entries.strategy, position=st.integers(0, 10), state=st.sampled_from(
    ["present", "absent"]), all_hosts=st.booleans())
def test_one_invalid_hash_names_its_index_and_sends_nothing(central_node, kata_conn, valid, invalid, position, state,
                                                            all_hosts):
    hashes, index = with_one_invalid(valid, invalid, position)
    args = dict(kata_conn, hashes=hashes, state=state)
    args.update({"all_hosts": True} if all_hosts else {"sensor_id": SENSOR_1})
    result = run(central_node, "kata_prevention", args)
    assert_rejected(central_node, result, "hashes", args)
    assert "hashes[%d]" % index in result.msg, result.msg


def refusal_name(entry, where):
    """Where a refusal of ``entry`` must point: into a one-key hash dict (``hashes[1].md5``) when that key names a
    hash kind (its value is what is wrong), else at the entry itself."""
    if isinstance(entry, dict) and len(entry) == 1:
        (key,) = entry
        if isinstance(key, str) and key.lower() in ("md5", "sha256"):
            return "%s.%s" % (where, key.lower())
    return where


@pytest.mark.parametrize("entry", INVALID_HASH_ENTRIES, ids=["%d-%s" % (number, type(entry).__name__)
                                                             for number, entry in enumerate(INVALID_HASH_ENTRIES)])
def test_each_invalid_hash_entry_is_refused_naming_it(central_node, kata_conn, entry):
    """Every listed invalid entry, at the start, the middle and the end of a valid list, in kata_prevention (single
    host and all hosts) and in a kata_prevention_policy list: refused before any request, the message pointing
    at the entry (and into it for a one-key hash dict)."""
    valid = [MD5_A, {"sha256": digest("sha256", 5)}]
    for position in (0, 1, 2):
        hashes = valid[:position] + [entry] + valid[position:]
        where = "hashes[%d]" % position
        for selector_args in ({"sensor_id": SENSOR_1}, {"all_hosts": True}):
            args = dict(kata_conn, hashes=hashes, **selector_args)
            result = run(central_node, "kata_prevention", args)
            assert_rejected(central_node, result, "hashes", args)
            assert refusal_name(entry, where) in result.msg, (entry, result.msg)
    args = dict(kata_conn, policy={SENSOR_1: [MD5_A, entry]})
    result = run(central_node, "kata_prevention_policy", args)
    assert_rejected(central_node, result, "policy", args)


@hostile_settings(8)
@given(count=st.sampled_from([0, 1, 2, 500, 2500]), seed=st.integers(0, 1000), exclusive=st.booleans())
def test_huge_hash_lists_are_written_whole(central_node, kata_conn, count, seed, exclusive):
    """Thousands of hashes (mixed case, duplicates, both notations): one write with exactly that list."""
    hashes = []
    for number in range(count):
        kind = "md5" if number % 3 else "sha256"
        value = digest(kind, "%d-%d" % (seed, number % max(1, count - count // 10)))  # ~10% duplicates
        hashes.append({kind: value.upper()} if number % 5 == 0 else value)
    expected = expected_prevention_objects(hashes)   # each hash once, lower case, its kind, in order
    assert len(expected) == len(set((entry[next(iter(entry))] if isinstance(entry, dict) else entry).lower()
                                    for entry in hashes))
    args = dict(kata_conn, sensor_id=SENSOR_1, hashes=hashes, exclusive=exclusive, conflict_check="skip")
    result = run(central_node, "kata_prevention", args)
    check_kata_requests(central_node, args, "hashes")
    assert not result.failed, result
    assert central_node.get_prevention(SENSOR_1) == expected
    assert sent_writes(central_node) == ([("POST", {"settings": {"objects": expected}})] if expected else [])


@hostile_settings(30)
@given(valid=st.lists(valid_exclusions, max_size=5), invalid=invalid_exclusions.strategy, position=st.integers(0, 10),
       check_mode=st.booleans())
def test_one_invalid_exclusion_names_its_index_and_sends_nothing(central_node, kata_conn, valid, invalid, position,
                                                                 check_mode):
    exclusions, index = with_one_invalid(valid, invalid, position)
    args = dict(kata_conn, sensor_id=SENSOR_1, auto_turnoff_timeout_hours=4, exclusions=exclusions)
    result = run(central_node, "kata_isolation", args, check=check_mode)
    assert_rejected(central_node, result, "exclusions", args)
    assert "exclusions[%d]" % index in result.msg, result.msg


@hostile_settings(10)
@given(count=st.sampled_from([0, 1, 300, 2000]), seed=st.integers(0, 250))
def test_huge_exclusion_lists_are_written_whole(central_node, kata_conn, count, seed):
    exclusions = [{"remote_address": "10.%d.%d.%d" % (seed, number // 250, number % 250), "protocol": number % 256}
                  for number in range(count)]
    exclusions += exclusions[: count // 10]  # repeated items are ignored with a warning
    args = dict(kata_conn, sensor_id=SENSOR_1, auto_turnoff_timeout=7200, exclusions=exclusions)
    result = run(central_node, "kata_isolation", args)
    check_kata_requests(central_node, args, "exclusions")
    assert not result.failed, result
    rules = expected_isolation_rules(exclusions)   # every distinct item once, in order, as the API names it
    assert len(rules) == count
    assert central_node.get_isolation(SENSOR_1) == isolation_body(7200, rules)["settings"]
    assert sent_writes(central_node) == [("POST", isolation_body(7200, rules))]


OPTIONAL_KSC_KEYS = frozenset(("arguments", "workingFolder", "searchInSubfolders"))


@pytest.mark.parametrize("task", KSC_TASKS)
def test_invalid_ksc_params_name_the_key_and_send_nothing(ksc, ksc_conn, task):
    """Each documented key of each task with each kind of wrong value, missing, and an unknown key."""
    valid = VALID_KSC_PARAMS[task]
    cases = []  # (params, the name the message must contain)
    if task == "onDemandScan":
        for key in valid[0]:
            for wrong in INVALID_KSC_VALUES[key]:
                cases.append(([valid[0], dict(valid[1], **{key: wrong})], "params[1].%s" % key))
            cases.append(([dict((other, item) for other, item in valid[0].items() if other != key)],
                          "params[0].%s" % key))
        cases += [([dict(valid[1], path="  ")], "params[0].path"), ([dict(valid[0], extra=1)], "params[0].extra"),
                  ([], "params"), ([valid[0], "area"], "params[1]")]
    else:
        for key in valid:
            for wrong in INVALID_KSC_VALUES[key]:
                if wrong is not None or key not in OPTIONAL_KSC_KEYS:  # null means "not set" for optional keys
                    cases.append((dict(valid, **{key: wrong}), "params.%s" % key))
            if key not in OPTIONAL_KSC_KEYS:
                cases.append((dict((other, item) for other, item in valid.items() if other != key), "params.%s" % key))
        cases.append((dict(valid, **{"a/b?c#d%e": 1}), "params.a/b?c#d%e"))
    for params, name in cases:
        args = dict(ksc_conn, target_hostname="WS-001", task=task, params=params)
        result = run(ksc, "ksc_edr_response", args)
        assert_rejected(ksc, result, "params", args)
        assert name in result.msg, (name, result.msg)
    args = dict(ksc_conn, target_hostname="WS-002", task=task, params=valid)
    result = run(ksc, "ksc_edr_response", args)
    assert not result.failed, result
    check_ksc_requests(ksc)
    assert len(ksc.calls("HostGroup.AddIncident")) == 1


@hostile_settings(20)
@given(path=st.one_of(missing_files.strategy, nul_paths.strategy,
                      st.sampled_from(["/", ".", "/dev/null", "/etc/hostname"])))
def test_ioc_file_that_cannot_be_used_is_named(ksc, ksc_conn, path):
    args = dict(ksc_conn, target_hostname="WS-001", task="iocScan", ioc_file=path,
                params={"isolateHost": False, "scanCriticalAreas": True, "quarantineObject": True})
    result = run(ksc, "ksc_edr_response", args)
    assert_rejected(ksc, result, "ioc_file", args)


def ksc_names(host):
    names = [host["KLHST_WKS_DN"], host["KLHST_WKS_DNSNAME"]]
    if host["KLHST_WKS_DNSDOMAIN"]:
        names.append("%s.%s" % (host["KLHST_WKS_DNSNAME"], host["KLHST_WKS_DNSDOMAIN"]))
    return names


def literally(value, name):
    """The fake's own comparison of a filter string without wildcards: case-insensitive equality."""
    return re.match("^%s$" % re.escape(value), name, re.IGNORECASE | re.DOTALL) is not None


KSC_HOST_NAMES = st.sampled_from(["WS-001", "ws-002", "WS-003.CORP.EXAMPLE", 'Lab "QA" *', 'Lab "QA" 2', "lab-qa-1",
                                  "KIOSK-01", "VS-WS-001"])


@hostile_settings(60)
@given(name=st.one_of(hostile_text.strategy, KSC_HOST_NAMES, st.tuples(KSC_HOST_NAMES, st.sampled_from(
    ["*", "?", "%", "_", "[", "]", "[0-9]", '"', '""', ")", "(|(KLHST_WKS_DN=*))", "\\", "\x00"]), st.booleans()).map(
    lambda case: case[0] + case[1] if case[2] else case[1] + case[0])))
def test_ksc_host_names_are_matched_literally(ksc, ksc_conn, name):
    """Wildcards, quotes and filter syntax in target_hostname never find another host; the filter always parses."""
    args = dict(ksc_conn, target_hostname=name, task="isolateHost", params={"action": 1})
    result = run(ksc, "ksc_edr_response", args)
    check_ksc_requests(ksc)
    if result.refused_by_runtime:
        return
    if not name.strip():
        assert_rejected(ksc, result, "target_hostname", args)
        return
    visible = [host for host in ksc.hosts if not host.get("vserver")]
    matching = [host for host in visible if any(literally(name, candidate) for candidate in ksc_names(host))]
    created = ksc.calls("HostGroup.AddIncident")
    if len(matching) == 1:
        assert not result.failed, result
        assert result.result["target_host"] == matching[0]["KLHST_WKS_HOSTNAME"]
        assert len(created) == 1
    else:
        assert result.failed, "target_hostname=%r matched: %r" % (name, result.result.get("host"))
        assert not created
        assert "target_hostname" in result.msg and "invalid filter" not in result.msg, result.msg


# ---- coverage of the option lists ---------------------------------------------------------------------
class _Captured(Exception):
    pass


def argument_spec_of(name):
    """The module's argument spec, as main() hands it to AnsibleModule."""
    module = importlib.import_module(MODULE_PACKAGE + name)
    captured = {}

    def capture(self, argument_spec, **kwargs):
        captured.update(argument_spec)
        raise _Captured()

    # Modules build their AnsibleModule through module_glue.new_module.
    with mock.patch.object(AnsibleModule, "__init__", capture):
        with pytest.raises(_Captured):
            module.main()
    return captured


class _Specs(dict):
    def __missing__(self, module):
        self[module] = argument_spec_of(module)
        return self[module]


SPECS = _Specs()


def test_core_int_overflow_is_where_expected():
    """check_type_int(inf) raises OverflowError exactly on the cores core_overflows() makes room for."""
    from ansible.module_utils.common.validation import check_type_int
    with pytest.raises(OverflowError if CORE_INT_OVERFLOWS else TypeError):
        check_type_int(float("inf"))


def test_syslog_refuses_nul_exactly_where_expected():
    """The premise of refused_by_syslog(): this Python's syslog refuses a NUL byte from 3.12 on, and so does a
    module run here (a NUL in kata_sensor_info's hostname, which is logged as it is)."""
    import syslog
    syslog.openlog("kaspersky-edr-tests")
    if SYSLOG_REFUSES_NUL:
        with pytest.raises(ValueError):
            syslog.syslog(syslog.LOG_DEBUG, "hostile input canary \x00")
    else:
        syslog.syslog(syslog.LOG_DEBUG, "hostile input canary \x00")
    result = run_module("kata_sensor_info", {"kata_host": "127.0.0.1", "external_system_id": "x",
                                             "client_cert": "/nonexistent.pem", "client_key": "/nonexistent.key",
                                             "hostname": "WS-001\x00"})
    assert result.failed
    assert result.msg.startswith(SYSLOG_NUL_MESSAGE) is SYSLOG_REFUSES_NUL, result


def has_oracle(module, option):
    if option in ("sensor_id", "sensor_hostname", "sensor_ip") and module != "kata_sensor_info":
        return True
    if module == "kata_sensor_info" and option in ("sensor_id", "hostname", "ip"):
        return True
    return option in ORACLES or option in BODY_ORACLES


def test_every_accepted_value_has_an_oracle():
    """No option is "ok without an oracle": every option with values the module accepts has an oracle, every
    other one lists only values that must be refused."""
    missing = [(module, option) for module, option in CASES
               if any(not invalid for _value, invalid in OPTIONS[module][option].values)
               and not has_oracle(module, option)]
    assert not missing, "accepted values without an oracle: %s" % missing


@pytest.mark.parametrize("module", sorted(OPTIONS))
def test_every_option_is_covered(module):
    """Every option of the module has hostile values here (kata_prevention: see OPTIONS)."""
    spec = set(argument_spec_of(module))
    covered = set(OPTIONS[module])
    assert covered <= spec, "options that no longer exist: %s" % sorted(covered - spec)
    missing = spec - covered
    assert not missing, "options without hostile values in OPTIONS[%r]: %s" % (module, sorted(missing))


# ---- kata_prevention refuses blank and non-IP selectors before the first request --------------------
@pytest.mark.parametrize("value", ["nope", "10.20.0.2/32", "a/b?c#d%e"])
def test_prevention_refuses_a_sensor_ip_that_is_not_an_ip(central_node, kata_conn, value):
    args = dict(kata_conn, sensor_ip=value, hashes=[MD5_A])
    result = run(central_node, "kata_prevention", args)
    assert_rejected(central_node, result, "sensor_ip", args)


@pytest.mark.parametrize("option", ["sensor_id", "sensor_hostname", "sensor_ip"])
def test_prevention_refuses_a_blank_selector(central_node, kata_conn, option):
    args = dict(kata_conn, hashes=[MD5_A], **{option: " "})
    result = run(central_node, "kata_prevention", args)
    assert_rejected(central_node, result, option, args)
