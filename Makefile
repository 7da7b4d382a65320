# Two commands for a fresh machine with Python 3.11 and make:
#   make demo   starts the embedded fake Central Node and fake KSC and runs the real playbooks
#               (installs only the runtime, ansible-core and cryptography into .venv-demo)
#   make test   runs the whole test suite (unit, end-to-end, molecule, sanity, lint, galaxy-importer,
#               ansible-rulebook, and the unit and end-to-end tests on ansible-core 2.16 to 2.18)
# make test-matrix runs the unit and end-to-end tests on ansible-core 2.16, 2.17, 2.18 and 2.19
# (one venv each under .matrix/); MATRIX_VERSIONS="2.16 2.18" picks versions.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_VENV := .venv-demo
MATRIX_VERSIONS ?= 2.16 2.17 2.18 2.19
# make test runs 2.19 (the full suite) in .venv already; the matrix step adds the older versions.
MATRIX_CI_VERSIONS := 2.16 2.17 2.18

.PHONY: demo test venv unit e2e pytest sanity lint changelog-lint docs clean bench bench-alerts test-matrix matrix-ci

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	touch $@

$(DEMO_VENV)/.installed: requirements.txt tests/requirements-demo.txt
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet -r tests/requirements-demo.txt
	touch $@

demo: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/python -m tests.demo

test: venv pytest sanity lint changelog-lint matrix-ci
	@echo "make test: all checks passed"

test-matrix:
	tests/tools/matrix.sh $(MATRIX_VERSIONS)

matrix-ci:
	MATRIX_SCOPE=ci tests/tools/matrix.sh $(MATRIX_CI_VERSIONS)

pytest: venv
	$(BIN)/python -m pytest

unit: venv
	$(BIN)/python -m pytest tests/unit

e2e: venv
	$(BIN)/python -m pytest tests/e2e

sanity: venv
	tests/tools/sanity.sh

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
