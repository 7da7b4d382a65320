#!/usr/bin/env bash
# `ansible-test units` on a copy under <tmp>/ansible_collections/kaspersky/edr (tests/tools/ansible_test.sh).
# Usage: [PYTHON=<venv>/bin/python] tests/tools/units.sh [extra ansible-test arguments]
exec "$(dirname "$0")/ansible_test.sh" units "$@"
