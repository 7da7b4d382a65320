# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's ``main()`` in this process, as ansible-playbook would run it, but in milliseconds.

Used by the fault matrix and the property-based tests, where thousands of module runs through
``ansible-playbook`` would take far too long. The module gets its arguments the way it does under
Ansible (``ANSIBLE_MODULE_ARGS``, including ``_ansible_check_mode``/``_ansible_diff``), its JSON
result is read from stdout, and any exception other than the module's own exit is reported as a
traceback, exactly what a playbook run would show as a module failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import importlib
import io
import json
import traceback

from unittest import mock

from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args

MODULE_PACKAGE = "ansible_collections.kaspersky.edr.plugins.modules."


class ModuleRun:
    """The outcome of one in-process module run."""

    def __init__(self, module, args, result, stdout, traceback_text, exit_code):
        self.module = module
        self.args = args
        self.result = result
        self.stdout = stdout
        self.traceback = traceback_text
        self.exit_code = exit_code

    @property
    def failed(self):
        return bool(self.result.get("failed")) or self.traceback is not None

    @property
    def msg(self):
        return self.result.get("msg") or ""

    def __repr__(self):
        return "ModuleRun(%s, exit=%s, result=%s, traceback=%s)" % (
            self.module, self.exit_code, json.dumps(self.result, default=str)[:2000], self.traceback)


def run_module(name, args, check=False, diff=False):
    """Run ``kaspersky.edr.<name>`` with ``args``; return a :class:`ModuleRun`."""
    module = importlib.import_module(MODULE_PACKAGE + name)
    module_args = dict(args)
    module_args.setdefault("_ansible_check_mode", check)
    module_args.setdefault("_ansible_diff", diff)
    module_args.setdefault("_ansible_tmpdir", None)
    module_args.setdefault("_ansible_remote_tmp", None)
    stdout = io.StringIO()
    traceback_text = None
    exit_code = None
    # A module process starts with no warnings and is never "the controller" (once anything imports the
    # controller code in this test process, warnings would go to its display instead of the result).
    module_warnings._global_warnings.clear()  # pylint: disable=protected-access
    module_warnings._global_deprecations.clear()  # pylint: disable=protected-access
    with patch_module_args(module_args), contextlib.redirect_stdout(stdout), \
            mock.patch.object(module_utils_internal, "is_controller", False):
        try:
            module.main()
            exit_code = 0
        except SystemExit as exc:
            exit_code = exc.code
        except Exception:  # pylint: disable=broad-except
            traceback_text = traceback.format_exc()
    text = stdout.getvalue()
    result = {}
    if text.strip():
        try:
            result = json.loads(text.strip().splitlines()[-1])
        except ValueError:
            traceback_text = (traceback_text or "") + "\nmodule output is not JSON:\n" + text
    elif traceback_text is None:
        traceback_text = "module printed nothing (exit code %r)" % (exit_code,)
    return ModuleRun(name, args, result, text, traceback_text, exit_code)
