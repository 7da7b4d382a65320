#!/usr/bin/env bash
# make test-matrix: the unit and end-to-end tests on every ansible-core the collection claims
# (meta/runtime.yml requires_ansible) that Python 3.11 runs: 2.16, 2.17, 2.18 and 2.19.
#
# One virtual environment per version under .matrix/<version> (ignored by Git), with
# ansible-core <version>.* and tests/requirements-matrix.txt (the runtime requirements and
# pytest; not the 2.19-only toolchain). Tests marked `toolchain` (molecule, ansible-lint,
# galaxy-importer, ansible-builder, ansible-rulebook, docs build) need that toolchain and run in
# `make test` on 2.19; everything else, the modules' unit and end-to-end tests included, runs on
# every version here.
#
# MATRIX_SCOPE=full (the default, `make test-matrix`): every unit and end-to-end test that is not
# marked toolchain. MATRIX_SCOPE=ci (`make test` runs it for 2.16 to 2.18, whose 2.19 leg is its
# own full pytest run): every unit test, the in-process end-to-end tests of every module against
# the fake servers (fault matrix, hostile input) and each module's ansible-playbook tests, without
# the long GitOps playbook scenarios, the benchmarks and the CI-pipeline examples, to keep CI
# under its time budget.
#
# Usage: tests/tools/matrix.sh [VERSION ...]            (default: 2.16 2.17 2.18 2.19)
#        MATRIX_SCOPE=ci tests/tools/matrix.sh 2.16
#        MATRIX_PYTEST_ARGS="-x -k isolation" tests/tools/matrix.sh 2.16
# Exits non-zero if any version fails; prints one line per version with its time.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(2.16 2.17 2.18 2.19)
requirements=tests/requirements-matrix.txt
read -r -a pytest_args <<< "${MATRIX_PYTEST_ARGS:-}"
scope="${MATRIX_SCOPE:-full}"
case "$scope" in
  full) selection=(tests/unit tests/e2e) ;;
  ci) selection=(tests/unit tests/e2e/test_fault_matrix.py tests/e2e/test_hostile_input.py
                 tests/e2e/test_kata_sensor_info.py tests/e2e/test_kata_isolation.py
                 tests/e2e/test_kata_isolation_fleet.py tests/e2e/test_kata_prevention.py
                 tests/e2e/test_kata_prevention_fleet.py tests/e2e/test_kata_run_process.py
                 tests/e2e/test_ksc_edr_response.py tests/e2e/test_inventory_kata_sensors.py
                 tests/e2e/test_secrets.py -k "not gitops") ;;
  *) echo "matrix: MATRIX_SCOPE must be full or ci, not '$scope'" >&2; exit 2 ;;
esac

summary=()
failed=0
start_all=$(date +%s)
for version in "${versions[@]}"; do
  case "$version" in
    2.1[6-9]) ;;
    *) echo "matrix: unsupported ansible-core version '$version' (2.16 to 2.19)" >&2; exit 2 ;;
  esac
  venv=".matrix/$version"
  stamp="$venv/.installed"
  want="$(cat "$requirements" requirements.txt | sha256sum | cut -c1-16) ansible-core==$version.*"
  start=$(date +%s)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== ansible-core $version: creating $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "ansible-core==$version.*" -r "$requirements"
    echo "$want" > "$stamp"
  fi
  core="$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')"
  case "$core" in
    "$version".*) ;;
    *) echo "matrix: $venv has ansible-core $core, not $version" >&2; exit 2 ;;
  esac
  version_args=()
  echo "== ansible-core $core: unit and end-to-end tests ($scope scope, not toolchain)"
  if "$venv/bin/python" -m pytest -p no:cacheprovider -m "not toolchain" "${selection[@]}" "${version_args[@]}" \
       "${pytest_args[@]}"; then
    result=passed
  else
    result=FAILED
    failed=1
  fi
  summary+=("ansible-core $core ($scope): $result in $(( $(date +%s) - start ))s")
done
echo "== test matrix ($(( $(date +%s) - start_all ))s)"
printf '   %s\n' "${summary[@]}"
exit $failed
