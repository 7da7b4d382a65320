#!/usr/bin/env bash
# Make sure .matrix/<line> holds ansible-core <line> on the Python that line is tested on, with
# tests/requirements-matrix.txt (the runtime, pytest, hypothesis; not the toolchain), and print
# that venv's python. Used by matrix.sh and by `make sanity` for its second ansible-core line.
# Exit 3 when the Python for the line is missing (one line on stderr says which).
# Usage: tests/tools/core_venv.sh 2.19
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=tests/tools/pythons.sh
. "$repo/tests/tools/pythons.sh"
cd "$repo"
version="$1"
line="$(python_line_for_core "$version")" || {
  echo "core_venv: unsupported ansible-core version '$version' (2.16 to 2.22)" >&2; exit 2; }
python="$(find_python "$line")" || {
  echo "core_venv: ansible-core $version needs Python $line: none found (python$line on PATH or ~/.pyenv/versions/$line.*)" >&2
  exit 3; }
requirement="$(core_requirement "$version")"
requirements=tests/requirements-matrix.txt
venv=".matrix/$version"
stamp="$venv/.installed"
want="$(cat "$requirements" requirements.txt | sha256sum | cut -c1-16) $requirement $python"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== ansible-core $version: creating $venv with $python" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet "$requirement" -r "$requirements" >&2
  echo "$want" > "$stamp"
fi
core="$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')"
case "$core" in
  "$version".*) ;;
  *) echo "core_venv: $venv has ansible-core $core, not $version" >&2; exit 2 ;;
esac
echo "$repo/$venv/bin/python"
