# graphdiff — bootstrap a local .venv (torch first, CPU build), then install the package with all extras.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_SPEC ?= torch>=2.4,<2.14
DATA_DIR := $(abspath ../shared/data)
export GRAPHDIFF_DATA ?= $(if $(wildcard $(DATA_DIR)),$(DATA_DIR),)

.PHONY: install demo lint docs test test-fast bench clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -e ".[all]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m graphdiff.demo --out demo_output

NOTEBOOKS := $(wildcard notebooks/*.ipynb)

lint: $(STAMP)
	$(BIN)/python -m ruff check --no-cache graphdiff benchmarks tests notebooks

# the documentation site into site/ (git-ignored); warnings are errors
docs: $(STAMP)
	$(BIN)/python -m mkdocs build --strict

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -p no:cacheprovider --nbmake tests $(NOTEBOOKS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -m "not slow" tests

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean-venv:
	rm -rf $(VENV)
