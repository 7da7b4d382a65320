# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EDA rulebooks against the rulebook JSON schema that ansible-lint ships (the toolchain), moved
from tests/unit/eda/test_eda_rulebook.py, which checks their shape without it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULEBOOKS = os.path.join(REPO_ROOT, "extensions", "eda", "rulebooks")


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def rulebook_files():
    return sorted(name for name in os.listdir(RULEBOOKS) if name.endswith((".yml", ".yaml")))


@pytest.mark.toolchain
@pytest.mark.parametrize("name", rulebook_files())
def test_rulebook_matches_the_schema(name):
    import ansiblelint  # pylint: disable=import-outside-toplevel
    import jsonschema  # pylint: disable=import-outside-toplevel
    with open(os.path.join(os.path.dirname(ansiblelint.__file__), "schemas", "rulebook.json")) as handle:
        schema = json.load(handle)
    jsonschema.validate(load(os.path.join(RULEBOOKS, name)), schema)
