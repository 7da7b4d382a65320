# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest plugin: the fault matrix summary (fault x module -> outcome, rules lost, duplicates).

``tests/functional/test_fault_matrix.py`` calls :func:`record` once per cell; at the end of the run
``pytest_terminal_summary`` prints the observed table (nothing when no cell ran). The table in
``docs/security.md`` is :func:`render_table` of the test's ``EXPECTED`` outcomes, which every cell
asserts, and a test compares the two. Registered from ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

# Column order of the table; a module not listed goes last.
MODULES = ("kata_prevention", "kata_isolation", "kata_run_process", "ksc_edr_response", "kata_sensor_info")
PHASE_LABELS = {"write": "W", "read": "R", "verify": "V"}

Cell = collections.namedtuple("Cell", "fault module phase outcome rules_lost duplicates message")

_cells = []


def record(fault, module, phase, outcome, rules_lost, duplicates, message=""):
    """One matrix cell: ``outcome`` is ``ok``, ``retried``, ``warned``, ``failed`` or ``TRACEBACK``."""
    _cells.append(Cell(fault, module, phase, outcome, rules_lost, duplicates, message))


def cells():
    return list(_cells)


def _cell_text(entries):
    order = {"write": 0, "read": 1, "verify": 2}
    parts = []
    for entry in sorted(entries, key=lambda item: order.get(item.phase, 3)):
        label = PHASE_LABELS.get(entry.phase)
        parts.append("%s %s" % (label, entry.outcome) if label and len(entries) > 1 else entry.outcome)
    return ", ".join(parts)


def render_table(entries=None):
    """The matrix as a Markdown table, one row per fault, one column per module."""
    entries = _cells if entries is None else entries
    if not entries:
        return ""
    modules = [name for name in MODULES if any(cell.module == name for cell in entries)]
    modules += sorted(set(cell.module for cell in entries) - set(modules))
    # Rows in the order of the entries (not of the cells recorded so far: a run of a few cells must not reorder
    # the table rendered from EXPECTED).
    faults = list(dict.fromkeys(cell.fault for cell in entries))
    header = ["fault"] + modules + ["rules lost", "duplicates"]
    rows = []
    for fault in faults:
        row_cells = [cell for cell in entries if cell.fault == fault]
        row = [fault]
        for module in modules:
            row.append(_cell_text([cell for cell in row_cells if cell.module == module]) or "-")
        row.append(str(sum(cell.rules_lost for cell in row_cells)))
        row.append(str(sum(cell.duplicates for cell in row_cells)))
        rows.append(row)
    widths = [max(len(line[index]) for line in [header] + rows) for index in range(len(header))]

    def line(values):
        return "| " + " | ".join(value.ljust(width) for value, width in zip(values, widths)) + " |"

    out = [line(header), "|" + "|".join("-" * (width + 2) for width in widths) + "|"]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


def summary_line(entries=None):
    entries = _cells if entries is None else entries
    counts = collections.Counter(cell.outcome for cell in entries)
    return ("%d cells: %s; rules lost %d, duplicate tasks/incidents %d, tracebacks %d "
            "(W: fault on the write request, R: on the read that decides the write, V: on the read-back after "
            "the write)"
            % (len(entries), ", ".join("%s %d" % (name, counts[name]) for name in sorted(counts)),
               sum(cell.rules_lost for cell in entries), sum(cell.duplicates for cell in entries),
               counts["TRACEBACK"]))


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # pylint: disable=unused-argument
    """The table after the run; with -v also every failure message of the matrix."""
    if not _cells:
        return
    terminalreporter.section("fault matrix")
    terminalreporter.write_line(render_table())
    terminalreporter.write_line(summary_line())
    if config.getoption("verbose") > 0:
        for cell in _cells:
            if cell.message:
                terminalreporter.write_line("%s / %s / %s: %s" % (cell.fault, cell.module, cell.phase, cell.message))
