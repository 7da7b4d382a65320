#!/usr/bin/env bash
# Which Python runs which ansible-core, and where to find it; sourced by matrix.sh, core_venv.sh and
# toolchain.sh. A Python is found the way a user's machine has it: pythonX.Y on PATH, else a pyenv
# copy (~/.pyenv/versions/X.Y.*/bin/python, the newest patch release).

# The Python line each ansible-core line is tested on (each core's controller minimum we can run).
python_line_for_core() {
  case "$1" in
    2.1[6-9]) echo 3.11 ;;
    2.2[01]) echo 3.12 ;;
    2.22) echo 3.13 ;;
    *) return 1 ;;
  esac
}

# The pip requirement for an ansible-core line: 2.22 is at release candidate, which pip takes only
# when the specifier names a pre-release; the final release satisfies the same specifier.
core_requirement() {
  case "$1" in
    2.22) echo "ansible-core>=2.22.0rc1,<2.23" ;;
    *) echo "ansible-core==$1.*" ;;
  esac
}

# Print the path of a Python X.Y, or return 1.
find_python() {
  local line="$1" candidate pyenv_copies=()
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$line".*/bin/python; do
    [ -x "$candidate" ] && pyenv_copies+=("$candidate")
  done
  for candidate in "$(command -v "python$line" 2>/dev/null)" \
                   $( [ ${#pyenv_copies[@]} -eq 0 ] || printf '%s\n' "${pyenv_copies[@]}" | sort -V -r); do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$line" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
