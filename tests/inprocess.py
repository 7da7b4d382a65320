# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's ``main()`` in this process, as ansible-playbook would run it, but in milliseconds.

Used by the fault matrix and the property-based tests, where thousands of module runs through
``ansible-playbook`` would take far too long. The module gets its arguments the way it does under
Ansible (``ANSIBLE_MODULE_ARGS``, including ``_ansible_check_mode``/``_ansible_diff``), its JSON
result is read from stdout, and any exception other than the module's own exit is reported as a
traceback, exactly what a playbook run would show as a module failure.

Works on every ansible-core the collection supports: 2.19 passes module args with
``ansible.module_utils.testing.patch_module_args``; 2.16 to 2.18 read them from
``ansible.module_utils.basic._ANSIBLE_ARGS`` (JSON ``{"ANSIBLE_MODULE_ARGS": ...}``), which
:func:`patch_module_args` here sets for them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import importlib
import io
import json
import traceback

from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings

try:  # ansible-core 2.19+
    from ansible.module_utils import _internal as module_utils_internal
    from ansible.module_utils.testing import patch_module_args as _core_patch_module_args
except ImportError:  # ansible-core 2.16 to 2.18
    module_utils_internal = None
    _core_patch_module_args = None

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


@contextlib.contextmanager
def patch_module_args(args=None):
    """Expose ``args`` to the AnsibleModule instances created in this context, on any ansible-core."""
    if _core_patch_module_args is not None:
        with _core_patch_module_args(args):
            yield
        return
    if not isinstance(args, (dict, type(None))):
        raise TypeError("The `args` arg must be a dict or None.")
    payload = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode("utf-8")
    with mock.patch.object(basic, "_ANSIBLE_ARGS", payload):
        yield


def _not_the_controller():
    """A module process is never "the controller" (2.19 tracks it; older versions have no such flag)."""
    if module_utils_internal is None:
        return contextlib.nullcontext()
    return mock.patch.object(module_utils_internal, "is_controller", False)


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
    with patch_module_args(module_args), contextlib.redirect_stdout(stdout), _not_the_controller():
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
