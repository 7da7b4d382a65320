# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hashes and prevention objects shared by the prevention tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

A = "ae37fd1b642e797b36b9ffcec8a6e9867326911681861898cb74426c28a9d93a"   # the "web UI" rule
B = "2e9f874236a42d08c4133bbc895a0d3ffd93ab6f2e3b50f2eae57e5a2135c728"
C = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
D = "d" * 64
M = "44d88612fea8a8f36de82e1278abb02f"                                   # an MD5
H = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

# A rule made in the web UI: a name and a field this collection does not know, both kept on every write.
UI_RULE = {"file": {"sha256": A, "name": "Blocked by hand in the web UI"}, "uiOnly": {"createdBy": "alice"}}


def sha(value):
    return {"file": {"sha256": value}}


def md5(value):
    return {"file": {"md5": value}}
