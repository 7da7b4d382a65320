# Two commands for a fresh machine with Python 3.11 and make (and Python 3.12/3.13 for the current cores):
#   make demo   starts the embedded fake Central Node and fake KSC and runs the real playbooks
#               (installs only the runtime, ansible-core and cryptography into .venv-demo)
#   make test   runs the whole test suite on the current stable core, ansible-core 2.21 on Python 3.12
#               (pytest: unit, functional, end-to-end, molecule, galaxy-importer, ansible-rulebook;
#               ansible-test units and integration; sanity on 2.21 and 2.19; lint), and the unit,
#               functional and end-to-end tests of every other core in CI scope
# make test-matrix runs the unit and end-to-end tests on every core the collection claims:
# 2.16 to 2.19 on Python 3.11, 2.20 and 2.21 on 3.12, 2.22 on 3.13 (one venv each under .matrix/);
# MATRIX_VERSIONS="2.16 2.22" picks versions. Pythons are found as pythonX.Y on PATH, else under pyenv.
#
# The toolchain's Python and core (tests/tools/toolchain.sh): 2.21 on Python 3.12; without a Python
# 3.12 it says so in one line and falls back to 2.19 on 3.11. TOOLCHAIN_STRICT=1 (CI) fails instead.
TOOLCHAIN := $(shell tests/tools/toolchain.sh)
PYTHON ?= $(word 1,$(TOOLCHAIN))
TOOLCHAIN_CORE ?= $(word 2,$(TOOLCHAIN))
VENV := .venv
BIN := $(VENV)/bin
DEMO_VENV := .venv-demo
DEMO_PYTHON ?= $(shell command -v python3.11 || command -v python3)
ALL_CORES := 2.16 2.17 2.18 2.19 2.20 2.21 2.22
MATRIX_VERSIONS ?= $(ALL_CORES)
# make test runs the toolchain's core in full in .venv; the matrix step adds every other line (CI scope).
MATRIX_CI_VERSIONS := $(filter-out $(TOOLCHAIN_CORE),$(ALL_CORES))
# ansible-test sanity on the toolchain's core and on 2.19, the last line on Python 3.11.
SANITY_SECOND_CORE := 2.19
MATRIX_MISSING := $(if $(filter 1,$(TOOLCHAIN_STRICT)),fail,skip)

.PHONY: demo test venv unit functional e2e pytest sanity sanity-toolchain sanity-second lint changelog-lint docs clean bench bench-alerts \
	test-matrix matrix-ci

venv: $(VENV)/.installed-$(TOOLCHAIN_CORE)

$(VENV)/.installed-$(TOOLCHAIN_CORE): requirements.txt tests/requirements.txt
	@test -n "$(PYTHON)" || { echo "make: no Python for the toolchain (tests/tools/toolchain.sh)"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "ansible-core==$(TOOLCHAIN_CORE).*" -r tests/requirements.txt
	touch $@

$(DEMO_VENV)/.installed: requirements.txt tests/requirements-demo.txt
	$(DEMO_PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet -r tests/requirements-demo.txt
	touch $@

demo: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/python -m tests.demo

test: venv pytest units integration sanity lint changelog-lint matrix-ci
	@echo "make test: all checks passed (toolchain: ansible-core $(TOOLCHAIN_CORE))"

test-matrix:
	tests/tools/matrix.sh $(MATRIX_VERSIONS)

matrix-ci:
	MATRIX_SCOPE=ci MATRIX_MISSING=$(MATRIX_MISSING) tests/tools/matrix.sh $(MATRIX_CI_VERSIONS)

pytest: venv
	$(BIN)/python -m pytest

unit: venv
	$(BIN)/python -m pytest tests/unit

functional: venv
	$(BIN)/python -m pytest tests/functional

e2e: venv
	$(BIN)/python -m pytest tests/e2e

# ansible-test units --venv on a copy under <tmp>/ansible_collections/kaspersky/edr: tests/unit only, in
# ansible-test's own venv (tests/unit/requirements.txt) and pytest configuration (tests/tools/units.sh).
.PHONY: units
units: venv
	PYTHON=$(BIN)/python tests/tools/units.sh

sanity: sanity-toolchain sanity-second

sanity-toolchain: venv
	tests/tools/sanity.sh

sanity-second:
	@if [ "$(TOOLCHAIN_CORE)" = "$(SANITY_SECOND_CORE)" ]; then echo "sanity: ansible-core $(SANITY_SECOND_CORE) is the toolchain's core, already checked"; \
	else PYTHON="$$(tests/tools/core_venv.sh $(SANITY_SECOND_CORE))" tests/tools/sanity.sh; fi

# ansible-test integration --venv on a copy under <tmp>/ansible_collections/kaspersky/edr (tests/integration/targets,
# each against its own fake Central Node and fake KSC); prints its wall time. Extra arguments: INTEGRATION_ARGS=...
.PHONY: integration
integration: venv
	PYTHON=$(BIN)/python tests/tools/integration.sh $(INTEGRATION_ARGS)

lint: venv
	tests/tools/lint.sh

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

# Fleet-mode benchmark (docs/performance.md): make bench [N=sensors] [L=latency ms] [SCALE=50,200,1000]
# [BENCH_ARGS="--scenarios abcde --wait-quiet 600 ..."]; prints a table and writes JSON to tests/perf/results/.
bench: venv
	$(BIN)/python -m tests.perf.bench $(if $(N),--sensors $(N)) $(if $(L),--latency-ms $(L)) \
	  $(if $(SCALE),--scale $(SCALE)) $(BENCH_ARGS)

# KATA alert to isolation through the real ansible-rulebook (docs/performance.md): make bench-alerts
# [BENCH_ARGS="--singles 20 --storm-alerts 500 --storm-hosts 200 ..."]; prints a table, JSON to tests/perf/results/.
bench-alerts: venv
	$(BIN)/python -m tests.perf.bench_alerts $(BENCH_ARGS)

docs: venv
	PYTHON=$(BIN)/python docs/build_docs.sh build/docs

clean:
	rm -rf $(VENV) $(DEMO_VENV) .matrix build .demo .pytest_cache tests/output
