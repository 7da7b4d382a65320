#!/usr/bin/env bash
# `ansible-test sanity` on a copy under <tmp>/ansible_collections/kaspersky/edr (tests/tools/ansible_test.sh).
# Usage: [PYTHON=<venv>/bin/python] tests/tools/sanity.sh [extra ansible-test arguments]
exec "$(dirname "$0")/ansible_test.sh" sanity "$@"
