#!/usr/bin/env bash
# Build the HTML docs site of kaspersky.edr: the module, plugin and role pages are generated
# from the code (DOCUMENTATION/EXAMPLES/RETURN, meta/argument_specs.yml) by antsibull-docs
# and rendered by Sphinx with -W: any warning fails the build. Works offline.
#
# Usage: docs/build_docs.sh [OUTPUT_DIR]      (default build/docs; open OUTPUT_DIR/html/index.html)
#        make docs
# Needs antsibull-docs, sphinx and sphinx-ansible-theme (tests/requirements.txt) in
# $PYTHON's environment (default .venv/bin/python). The HTML is build output: never commit it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
bin="$(dirname "$python")"
out="${1:-$repo/build/docs}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

for tool in antsibull-docs sphinx-build; do
  if [ ! -x "$bin/$tool" ]; then
    echo "docs/build_docs.sh: $bin/$tool not found; run: $bin/python -m pip install -r tests/requirements.txt" >&2
    exit 2
  fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/kaspersky-edr-docs.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# antsibull-docs --use-current reads the collection from the collections path: this checkout.
mkdir -p "$work/collections/ansible_collections/kaspersky"
ln -s "$repo" "$work/collections/ansible_collections/kaspersky/edr"
export ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_HOME="$work/ansible_home" ANSIBLE_LOCAL_TEMP="$work/ansible_home/tmp"
export PATH="$bin:$PATH"

site="$work/site"
mkdir -m 700 "$site"
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error \
  --project "kaspersky.edr" --copyright "kaspersky.edr contributors" \
  --title "kaspersky.edr collection documentation" --html-short-title "kaspersky.edr" \
  --dest-dir "$site" kaspersky.edr >/dev/null

# The collection is installed from its repository, not from Galaxy.
cat >"$site/antsibull-docs.cfg" <<'EOF'
breadcrumbs = true
indexes = true
use_html_blobs = false
add_antsibull_docs_version = true
collection_url = {
  * = "https://github.com/kaspersky-edr-community/kaspersky.edr"
}
collection_install = {
  * = "ansible-galaxy collection install git+https://github.com/kaspersky-edr-community/kaspersky.edr.git"
}
EOF

# Deterministic and offline: no intersphinx downloads. References to ansible-core's own
# documentation (common return values, configuration, ansible.builtin plugins) become plain
# links to docs.ansible.com; every other unresolved reference is still a warning, so an error.
cat >>"$site/conf.py" <<'EOF'


# ---- added by docs/build_docs.sh ------------------------------------------------------------
intersphinx_mapping = {}
ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/latest/'
ANSIBLE_CORE_LABELS = {
    'common_return_values': 'reference_appendices/common_return_values.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
    'playbooks_checkmode': 'playbook_guide/playbooks_checkmode.html',
    'check_mode_dry': 'playbook_guide/playbooks_checkmode.html',
    'module_defaults': 'playbook_guide/playbooks_module_defaults.html',
    'action_plugins': 'plugins/action.html',
}


def _ansible_core_url(domain, reftype, target):
    if reftype == 'envvar' and target.startswith('ANSIBLE_'):
        return ANSIBLE_DOCS + 'reference_appendices/config.html#envvar-' + target
    if reftype in ('ref', 'any'):
        if target in ANSIBLE_CORE_LABELS:
            return ANSIBLE_DOCS + ANSIBLE_CORE_LABELS[target]
        prefix = 'ansible_collections.ansible.builtin.'
        if target.startswith(prefix):
            name = target[len(prefix):]
            if '__' not in name and '#' not in name:
                return ANSIBLE_DOCS + 'collections/ansible/builtin/%s.html' % name
    return None


def _resolve_ansible_core(app, env, node, contnode):
    from docutils import nodes
    url = _ansible_core_url(node.get('refdomain'), node.get('reftype'), node.get('reftarget', ''))
    if url is None:
        return None
    reference = nodes.reference('', '', internal=False, refuri=url)
    reference += contnode
    return reference


def setup(app):
    app.connect('missing-reference', _resolve_ansible_core)
EOF

mkdir -p "$site/rst"
chmod og-w "$site/rst"
antsibull-docs --config-file "$site/antsibull-docs.cfg" collection \
  --cleanup everything --fail-on-error --use-current --squash-hierarchy \
  --dest-dir "$site/rst" kaspersky.edr >/dev/null

rm -rf "$out"
mkdir -p "$out"
sphinx-build -b html -W --keep-going -q -c "$site" -d "$work/doctrees" "$site/rst" "$out/html"
echo "Docs site: $out/html/index.html"
