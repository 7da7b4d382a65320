#!/usr/bin/env bash
# Run `ansible-test integration --venv` on a copy of this checkout placed under
# <tmp>/ansible_collections/kaspersky/edr, as ansible-test requires. The targets
# (tests/integration/targets/) start their own fake Central Node and fake KSC.
# Usage: [PYTHON=<venv>/bin/python] tests/tools/integration.sh [extra ansible-test arguments, e.g. target names]
# (default: the toolchain's .venv; `make integration`).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
case "$python" in /*) ;; *) python="$PWD/$python" ;; esac
bin="$(dirname "$python")"

# ansible-test bootstraps pip in its venvs from a downloaded get-pip script; the download
# host is unreachable here, a cached copy is used when present (as in tests/tools/sanity.sh).
pip_version="$("$python" - <<'PY'
import re, pathlib, ansible_test
text = pathlib.Path(ansible_test.__file__).parent.joinpath("_internal", "python_requirements.py").read_text()
match = re.search(r"pip=['\"]([0-9.]+)['\"]", text)
print(match.group(1) if match else "24.2")
PY
)" || pip_version="24.2"
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  cp "$repo/tests/tools/get_pip_offline.py" "$cache"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/kaspersky-edr-integration.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/kaspersky/edr"
mkdir -p "$dest"
tar -C "$repo" \
  --exclude=./.git --exclude=./.venv --exclude=./.venv-demo --exclude=./.matrix --exclude=./build --exclude=./.demo --exclude=./tests/output \
  --exclude=__pycache__ --exclude=.pytest_cache --exclude=.hypothesis --exclude='*.tar.gz' -cf - . | tar -C "$dest" -xf -
# ansible-test lists a collection's files with git when it is a repository; give the copy one.
git -C "$dest" init -q && git -C "$dest" add -A >/dev/null
cd "$dest"
python_line="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
core="$("$python" -c 'from ansible.release import __version__; print(__version__)')"
echo "integration: ansible-test $core on Python $python_line"
start=$SECONDS
PATH="$bin:$PATH" "$bin/ansible-test" integration --venv --python "$python_line" --color no "$@"
echo "integration: passed in $((SECONDS - start)) s"
