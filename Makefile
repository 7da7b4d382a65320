# Two commands for a fresh machine with Python 3.11 and make:
#   make demo   starts the embedded fake Central Node and fake KSC and runs the real playbooks
#   make test   runs the whole test suite (unit, end-to-end, molecule, sanity, lint)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test venv unit e2e pytest sanity lint changelog-lint docs clean bench

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	touch $@

demo: venv
	$(BIN)/python -m tests.demo

test: venv pytest sanity lint changelog-lint
	@echo "make test: all checks passed"

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

docs: venv
	PYTHON=$(BIN)/python docs/build_docs.sh build/docs

clean:
	rm -rf $(VENV) build .demo .pytest_cache tests/output
