# Two entry points, each self-contained on a fresh machine (Python 3.11, pip):
#   make quickstart   set up .venv and run the main job on the embedded dataset
#   make test         set up .venv and run the test suite
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
WORKDIR ?= runs/quickstart

.PHONY: quickstart test test-avx2 lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

quickstart: $(VENV)/.installed
	$(PY) -m experiments.main --config experiments/quickstart/config.py --workdir $(WORKDIR)

# Two to four test processes: on a cold compilation cache most of the time is
# single-threaded XLA compilation (4.7 -> 3.5 min on 2 cores; warm 2.1 -> 1.3).
test: $(VENV)/.installed
	$(PY) -m pytest -n auto --maxprocesses=4

# The suite with XLA's code generation limited to AVX2, as on CPUs without
# AVX-512 (see docs/determinism.md for what this does and does not emulate).
test-avx2: $(VENV)/.installed
	XLA_FLAGS="$$XLA_FLAGS --xla_cpu_max_isa=AVX2" $(PY) -m pytest -n auto --maxprocesses=4

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV)
