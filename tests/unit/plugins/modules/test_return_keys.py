# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every documented return value is reachable from Jinja with dot notation.

``result.targets[0].keys`` in a template is the dict method ``keys``, not the value: ansible-test
sanity (validate-modules, ``bad-return-value-key``) refuses such names, and so does this test, for
every module and every level of its RETURN.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import keyword
import pkgutil

import pytest
import yaml

from ansible_collections.kaspersky.edr.plugins import modules

# The names Jinja resolves to a method or attribute of a dict before it looks up the key.
SHADOWED = frozenset(name for name in dir(dict) if not name.startswith("_"))
MODULES = sorted(info.name for info in pkgutil.iter_modules(modules.__path__))


def return_keys(spec, path=""):
    """Yield the dotted path of every key documented in a RETURN mapping, nested ``contains`` included."""
    for key, value in (spec or {}).items():
        where = path + "." + key if path else key
        yield key, where
        if isinstance(value, dict):
            yield from return_keys(value.get("contains"), where)


def test_every_module_is_checked():
    assert set(MODULES) >= {"kata_isolation", "kata_prevention", "kata_prevention_policy", "kata_run_process",
                            "kata_sensor_info", "ksc_edr_response"}


def test_the_walk_finds_a_nested_shadowing_key():
    spec = {"targets": {"type": "list", "contains": {"keys": {"type": "list"}, "label": {"type": "str"}}}}
    assert [where for key, where in return_keys(spec) if key in SHADOWED] == ["targets.keys"]


@pytest.mark.parametrize("name", MODULES)
def test_return_values_do_not_shadow_dict_methods(name):
    module = importlib.import_module("ansible_collections.kaspersky.edr.plugins.modules." + name)
    spec = yaml.safe_load(module.RETURN)
    assert spec, "%s has no RETURN" % name
    bad = [where for key, where in return_keys(spec) if key in SHADOWED or keyword.iskeyword(key)]
    assert bad == [], "%s returns keys Jinja cannot reach with dot notation: %s" % (name, bad)
