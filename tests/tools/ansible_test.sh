#!/usr/bin/env bash
# Run `ansible-test sanity|units|integration` on a copy of this checkout placed under
# <tmp>/ansible_collections/kaspersky/edr, as ansible-test requires.
# Usage: [PYTHON=<venv>/bin/python] tests/tools/ansible_test.sh sanity|units|integration [ansible-test arguments]
# (default: the toolchain's .venv). sanity.sh, units.sh and integration.sh name the command for make.
#   sanity       no ignore file; on 2.22 pylint is skipped (its requirements need a GitHub archive)
#   units        --venv: tests/unit only, in ansible-test's venv (tests/unit/requirements.txt), its pytest configuration
#   integration  --venv: tests/integration/targets, which start their own fake Central Node and fake KSC
set -euo pipefail
command="${1:?usage: tests/tools/ansible_test.sh sanity|units|integration [ansible-test arguments]}"
shift
case "$command" in sanity|units|integration) ;; *) echo "ansible_test.sh: unknown command '$command'" >&2; exit 2 ;; esac
repo="$(cd "$(dirname "$0")/../.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
case "$python" in /*) ;; *) python="$PWD/$python" ;; esac
bin="$(dirname "$python")"

# ansible-test bootstraps pip in its venvs from a downloaded get-pip script; the download
# host is unreachable here, a cached copy is used when present.
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

work="$(mktemp -d "${TMPDIR:-/tmp}/kaspersky-edr-$command.XXXXXX")"
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
options=(--python "$python_line" --color no)
case "$command" in
  sanity)
    case "$core" in
      # ansible-test 2.22's pylint needs a source archive from GitHub (dill) that cannot be fetched here.
      2.22.*) echo "sanity: ansible-core $core: pylint skipped (its requirements cannot be installed offline)"
              options+=(--skip-test pylint) ;;
    esac ;;
  *) options+=(--venv) ;;
esac
echo "$command: ansible-test $core on Python $python_line"
start=$SECONDS
PATH="$bin:$PATH" "$bin/ansible-test" "$command" "${options[@]}" "$@"
echo "$command: passed in $((SECONDS - start)) s"
