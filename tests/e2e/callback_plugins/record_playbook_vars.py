# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: record_playbook_vars
type: aggregate
short_description: Write each playbook's file name and extra vars as a JSON line for the test suite
description:
  - Test helper only, not part of the collection. Appends one JSON object per play (playbook file
    name, play name, extra vars) to the file named by the E(EDR_TEST_PLAYBOOKS) environment variable.
options: {}
"""

import json
import os

from ansible.plugins.callback import CallbackBase


def plain(value):
    """Extra vars as plain JSON types (ansible-core 2.19 wraps values in tagged types)."""
    return json.loads(json.dumps(value, default=str))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_playbook_vars"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._playbook = None

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(playbook._file_name)  # pylint: disable=protected-access

    def v2_playbook_on_play_start(self, play):
        path = os.environ.get("EDR_TEST_PLAYBOOKS")
        if not path:
            return
        entry = {"playbook": self._playbook, "play": play.get_name(),
                 "extra_vars": plain(dict(play.get_variable_manager().extra_vars))}
        with open(path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")
