#!/usr/bin/env bash
# Print "<python> <ansible-core line>" for the test toolchain of `make test` (.venv): the current
# stable line, ansible-core 2.21 on Python 3.12. Without a Python 3.12 it says so in one line on
# stderr and falls back to ansible-core 2.19 on Python 3.11; with TOOLCHAIN_STRICT=1 (CI) it fails
# instead. TOOLCHAIN_CORE=2.19 picks the fallback on purpose.
set -euo pipefail
# shellcheck source=tests/tools/pythons.sh
. "$(dirname "$0")/pythons.sh"
stable=2.21
fallback=2.19
core="${TOOLCHAIN_CORE:-$stable}"
line="$(python_line_for_core "$core")" || { echo "toolchain: unsupported TOOLCHAIN_CORE '$core'" >&2; exit 2; }
if python="$(find_python "$line")"; then
  echo "$python $core"
  exit 0
fi
if [ "${TOOLCHAIN_STRICT:-0}" = 1 ]; then
  echo "toolchain: ansible-core $core needs Python $line: none found (python$line on PATH or ~/.pyenv/versions/$line.*)" >&2
  exit 1
fi
python="$(find_python 3.11 || command -v python3)"
echo "toolchain: no Python $line (python$line on PATH or ~/.pyenv/versions/$line.*): testing on ansible-core $fallback with $python instead" >&2
echo "$python $fallback"
