# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/architecture.md stays true to the code: every module_utils file is on the page, every file, class and
function the page names exists, and its import table is the real import graph of plugins/module_utils."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PAGE = os.path.join(ROOT, "docs", "architecture.md")
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
PACKAGE = "ansible_collections.kaspersky.edr.plugins.module_utils."
IMPORT_TABLE_HEADING = "## Who imports whom"


def page_text():
    with open(PAGE) as handle:
        return handle.read()


def code_spans(text):
    return re.findall(r"`([^`\n]+)`", text)


def module_utils_files():
    return sorted(name for name in os.listdir(MODULE_UTILS) if name.endswith(".py") and name != "__init__.py")


def parse(path):
    with open(path) as handle:
        return ast.parse(handle.read(), path)


def definitions():
    """``{module: {name: set of method names (empty for functions and constants)}}`` of every plugins file."""
    found = {}
    for folder, _dirs, files in os.walk(os.path.join(ROOT, "plugins")):
        for name in files:
            if not name.endswith(".py"):
                continue
            names = {}
            for node in parse(os.path.join(folder, name)).body:
                if isinstance(node, ast.ClassDef):
                    names[node.name] = set(item.name for item in node.body
                                           if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names[node.name] = set()
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            names[target.id] = set()
            found.setdefault(name[:-3], {}).update(names)
    return found


def module_utils_imports(name):
    """The module_utils files that ``name`` imports (at any depth of its code)."""
    imported = set()
    for node in ast.walk(parse(os.path.join(MODULE_UTILS, name))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(PACKAGE):
                imported.add(node.module[len(PACKAGE):] + ".py")
            elif node.module + "." == PACKAGE:
                imported.update(alias.name + ".py" for alias in node.names)
    return imported


def import_table(text):
    """``{file: set of files}`` from the page's import table."""
    assert IMPORT_TABLE_HEADING in text, "docs/architecture.md has no %r section" % IMPORT_TABLE_HEADING
    section = text.split(IMPORT_TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        table[cells[0].strip("`")] = set(code_spans(cells[1]))
    return table


def test_every_module_utils_file_is_on_the_page():
    spans = set(span.rsplit("/", 1)[-1] for span in code_spans(page_text()))
    missing = [name for name in module_utils_files() if name not in spans]
    assert not missing, "docs/architecture.md does not mention %s" % ", ".join(missing)


def test_every_file_the_page_names_exists():
    missing = []
    for span in set(code_spans(page_text())):
        if not re.match(r"^[\w./<>*-]+\.(py|yml|md)$", span) or "<" in span or "*" in span:
            continue
        candidates = [os.path.join(ROOT, span)] + [os.path.join(ROOT, folder, span) for folder in (
            "plugins", "plugins/module_utils", "plugins/modules", "docs")]
        if not any(os.path.exists(path) for path in candidates) and not _test_file_exists(span):
            missing.append(span)
    assert not missing, "docs/architecture.md names files that do not exist: %s" % ", ".join(sorted(missing))


def _test_file_exists(name):
    for _folder, _dirs, files in os.walk(os.path.join(ROOT, "tests")):
        if os.path.basename(name) in files:
            return True
    return False


FILE_SUFFIXES = ("py", "md", "yml", "yaml", "json")


def code_names(text):
    """Backticked names that are code: ``module.name``, ``Class.method``, ``Class``, ``function()``."""
    names = set()
    for span in code_spans(text):
        match = re.match(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)(\(\))?$", span)
        if not match:
            continue
        name, call = match.groups()
        if name.rsplit(".", 1)[-1] in FILE_SUFFIXES:
            continue
        if "." in name or call or re.match(r"^[A-Z][a-z]+[A-Z]\w*$", name):
            names.add(name)
    return names


EXTERNAL = {"AnsibleModule", "ActionBase", "BaseInventoryPlugin"}


@pytest.mark.parametrize("name", sorted(code_names(page_text())))
def test_every_class_and_function_the_page_names_exists(name):
    defs = definitions()
    if "." in name:
        owner, member = name.split(".")
        if owner in defs:
            assert member in defs[owner], "%s: no %s in %s.py" % (name, member, owner)
            return
        classes = [names[owner] for names in defs.values() if owner in names]
        assert classes, "%s: no module or class %s under plugins/" % (name, owner)
        assert any(member in methods for methods in classes), "%s: class %s has no %s" % (name, owner, member)
        return
    if name in EXTERNAL:
        return
    assert any(name in names for names in defs.values()), "%s: defined nowhere under plugins/" % name


def test_the_import_table_is_the_real_import_graph():
    table = import_table(page_text())
    real = dict((name, module_utils_imports(name)) for name in module_utils_files())
    assert sorted(table) == sorted(real), "the import table lists %s; plugins/module_utils holds %s" % (
        sorted(table), sorted(real))
    wrong = ["%s: page %s, code %s" % (name, sorted(table[name]), sorted(real[name]))
             for name in real if table[name] != real[name]]
    assert not wrong, "docs/architecture.md's import table differs from the imports:\n" + "\n".join(wrong)
