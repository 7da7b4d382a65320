# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest plugin (``-p tests.collection_path`` in pytest.ini): this checkout as ``ansible_collections.kaspersky.edr``.

Tests and their shared code import the collection and each other by their collection names
(``ansible_collections.kaspersky.edr.tests.fakes.central_node``), as ``ansible-test units`` imports
them. ansible-test provides those names itself (it runs on a copy under
``<tmp>/ansible_collections/kaspersky/edr`` and ignores pytest.ini); for plain pytest this plugin
provides them before the conftest files are imported:

- a checkout that already lives at ``.../ansible_collections/kaspersky/edr`` only gets that
  collections root on ``sys.path``;
- any other checkout gets a temporary collections root holding
  ``ansible_collections/kaspersky/edr -> this checkout`` (outside the repository, so no tool walking
  the tree meets a symlink loop), removed when pytest exits.

At the end of collection it warns about any shared test module imported under both its collection
name and its ``tests.`` name: two copies of a module hold two copies of its state and classes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import sys
import tempfile
import warnings

import pytest

NAMESPACE = "kaspersky"
NAME = "edr"
PACKAGE = "ansible_collections.%s.%s" % (NAMESPACE, NAME)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def existing_collections_root(path):
    """The directory holding ``ansible_collections`` when ``path`` is ``.../ansible_collections/kaspersky/edr``."""
    name_dir = os.path.normpath(path)
    namespace_dir = os.path.dirname(name_dir)
    collections_dir = os.path.dirname(namespace_dir)
    if (os.path.basename(name_dir), os.path.basename(namespace_dir), os.path.basename(collections_dir)) == (
            NAME, NAMESPACE, "ansible_collections"):
        return os.path.dirname(collections_dir)
    return None


def make_collections_root():
    """A temporary collections root with ``ansible_collections/kaspersky/edr`` linked to this checkout."""
    root = tempfile.mkdtemp(prefix="kaspersky-edr-collections-")
    namespace = os.path.join(root, "ansible_collections", NAMESPACE)
    os.makedirs(namespace)
    os.symlink(REPO_ROOT, os.path.join(namespace, NAME))
    return root


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config):
    root = existing_collections_root(REPO_ROOT)
    if root is None:
        root = make_collections_root()
        early_config.add_cleanup(lambda: shutil.rmtree(root, True))
    sys.path.insert(0, root)
    early_config.add_cleanup(lambda: sys.path.remove(root) if root in sys.path else None)


def twice_imported(modules):
    """Names of modules loaded both as ``tests.X`` and as ``ansible_collections.kaspersky.edr.tests.X``."""
    prefix = PACKAGE + "."
    return sorted(name for name in modules
                  if name.startswith("tests.") and modules.get(prefix + name) is not None and modules[name] is not None)


def pytest_collection_finish(session):
    names = twice_imported(sys.modules)
    if names:
        warnings.warn(pytest.PytestWarning(
            "imported under two names, so loaded twice with separate state: %s; import shared test code as %s.tests..."
            % (", ".join(names), PACKAGE)))
