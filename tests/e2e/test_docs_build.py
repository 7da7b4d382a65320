# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docs site (docs/build_docs.sh: antsibull-docs + Sphinx -W) builds without a warning."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def expected_pages():
    """One page per module, inventory plugin, documented filter and role that exists now."""
    pages = ["index.html"]
    for path in glob.glob(os.path.join(REPO_ROOT, "plugins", "modules", "*.py")):
        if not os.path.basename(path).startswith("_"):
            pages.append("%s_module.html" % os.path.basename(path)[:-3])
    for path in glob.glob(os.path.join(REPO_ROOT, "plugins", "inventory", "*.py")):
        if not os.path.basename(path).startswith("_"):
            pages.append("%s_inventory.html" % os.path.basename(path)[:-3])
    for path in glob.glob(os.path.join(REPO_ROOT, "plugins", "filter", "*.yml")):
        pages.append("%s_filter.html" % os.path.basename(path)[:-4])
    for path in glob.glob(os.path.join(REPO_ROOT, "roles", "*", "meta", "argument_specs.yml")):
        pages.append("%s_role.html" % path.split(os.sep)[-3])
    return sorted(pages)


@pytest.mark.toolchain
def test_docs_site_builds_without_warnings(tmp_path):
    for tool in ("antsibull-docs", "sphinx-build"):
        if not os.path.exists(os.path.join(BIN, tool)):
            pytest.fail("%s is missing: pip install -r tests/requirements.txt" % tool)
    out = tmp_path / "docs"
    env = dict(os.environ, PYTHON=sys.executable)
    proc = subprocess.run([os.path.join(REPO_ROOT, "docs", "build_docs.sh"), str(out)], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "WARNING" not in output and "ERROR" not in output, output
    html = out / "html"
    missing = [page for page in expected_pages() if not (html / page).is_file()]
    assert missing == [], "pages not generated: %s" % missing
    inventory_page = (html / "kata_sensors_inventory.html").read_text()
    assert "kata_sensor_id" in inventory_page and "keyed_groups" in inventory_page
    # Nothing is written into the checkout.
    assert not os.path.exists(os.path.join(REPO_ROOT, "docs", "html"))
