#!/usr/bin/env bash
# make test-matrix: the unit and end-to-end tests on every ansible-core the collection claims
# (meta/runtime.yml requires_ansible), each on the Python it is tested on (tests/tools/pythons.sh):
# 2.16, 2.17, 2.18 and 2.19 on Python 3.11, 2.20 and 2.21 on 3.12, 2.22 on 3.13.
#
# One virtual environment per version under .matrix/<version> (ignored by Git, made by
# tests/tools/core_venv.sh), with that ansible-core and tests/requirements-matrix.txt (the runtime
# requirements and pytest; not the toolchain). Tests marked `toolchain` (molecule, ansible-lint,
# galaxy-importer, ansible-builder, ansible-rulebook, docs build) need that toolchain and run in
# `make test` on the toolchain's core; everything else, the modules' unit and end-to-end tests
# included, runs on every version here.
#
# MATRIX_SCOPE=full (the default, `make test-matrix`): every unit, functional and end-to-end test that is not
# marked toolchain. MATRIX_SCOPE=ci (`make test` runs it for every line but the toolchain's, which
# is its own full pytest run): every unit test, the functional tests (every module in-process
# against the fake servers: fault matrix, hostile input) and each module's ansible-playbook tests,
# without the long GitOps playbook scenarios, the benchmarks and the CI-pipeline examples, to keep
# CI under its time budget.
#
# A line whose Python is missing fails the run, or with MATRIX_MISSING=skip (`make test` on a
# machine without Python 3.12/3.13) is reported as skipped in one line.
#
# Usage: tests/tools/matrix.sh [VERSION ...]            (default: 2.16 to 2.22)
#        MATRIX_SCOPE=ci tests/tools/matrix.sh 2.16
#        MATRIX_PYTEST_ARGS="-x -k isolation" tests/tools/matrix.sh 2.16
# Exits non-zero if any version fails; prints one line per version with its time.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(2.16 2.17 2.18 2.19 2.20 2.21 2.22)
read -r -a pytest_args <<< "${MATRIX_PYTEST_ARGS:-}"
scope="${MATRIX_SCOPE:-full}"
case "$scope" in
  full) selection=(tests/unit tests/functional tests/e2e) ;;
  ci) selection=(tests/unit tests/functional tests/e2e/test_awx_credential_types.py
                 tests/e2e/test_fake_servers_cli.py tests/e2e/test_isolation_budget.py
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
  start=$(date +%s)
  status=0
  python="$(tests/tools/core_venv.sh "$version")" || status=$?
  if [ "$status" = 3 ] && [ "${MATRIX_MISSING:-fail}" = skip ]; then
    summary+=("ansible-core $version: SKIPPED, its Python is not on this machine (see above)")
    continue
  elif [ "$status" != 0 ]; then
    summary+=("ansible-core $version: FAILED to set up its venv")
    failed=1
    continue
  fi
  core="$("$python" -c 'from ansible.release import __version__; print(__version__)')"
  echo "== ansible-core $core on $("$python" -c 'import platform; print("Python", platform.python_version())'): unit and end-to-end tests ($scope scope, not toolchain)"
  if "$python" -m pytest -p no:cacheprovider -m "not toolchain" "${selection[@]}" "${pytest_args[@]}"; then
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
