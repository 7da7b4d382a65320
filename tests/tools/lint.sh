#!/usr/bin/env bash
# ansible-lint --profile production with this checkout visible as kaspersky.edr
# (offline: ansible-lint cannot install the collection from a registry).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${VENV_BIN:-$repo/.venv/bin}"
work="$(mktemp -d "${TMPDIR:-/tmp}/kaspersky-edr-lint.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ansible_collections/kaspersky"
ln -s "$repo" "$work/ansible_collections/kaspersky/edr"
cd "$repo"
PATH="$bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$work" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
  "$bin/ansible-lint" --profile production --offline "$@"
