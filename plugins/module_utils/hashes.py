# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File hashes as text: the one check of an MD5 or SHA256 value (KATA prevention lists, KSC response params)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

HASH_LENGTHS = {"md5": 32, "sha256": 64}
HASH_KINDS = dict((length, kind) for kind, length in HASH_LENGTHS.items())
_HEX = re.compile(r"[0-9a-fA-F]+")


def is_hex_hash(value, length):
    """True when ``value`` is exactly ``length`` hexadecimal digits (either case, nothing else, no line break)."""
    return isinstance(value, str) and len(value) == length and _HEX.fullmatch(value) is not None
