# Baton's two commands: `make run` (the demo on the embedded default) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Empty: the demo paces itself to what its agents can answer (desk/demo.py, demo_pace).
RATE ?=
# V=1: every simulated conversation, sweep and log line, not just the summary.
V ?=
# STAFF=0: no simulated agents (desk/demo_staff.py); the desk is worked by whoever logs in.
STAFF ?=
DEMO_ARGS = --host $(HOST) --port $(PORT) $(if $(RATE),--rate $(RATE)) $(if $(V),-v 2) \
	$(if $(filter 0 no off,$(STAFF)),--no-staff)

# The first Python >= 3.12 found: on PATH, then in pyenv's versions (pyenv's shims refuse
# versions that are not selected, so each candidate is asked to run).
PYTHON ?= $(shell for c in python3.13 python3.12 python3 \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    command -v $$c; break; fi; done)

.PHONY: help install run reset test lint bench eval clean

help:
	@echo "make run    - Baton with demo data on the embedded default (SQLite, no services)"
	@echo "make reset  - the same from a clean demo database (keeps .venv)"
	@echo "make test   - the whole test suite"
	@echo "make lint   - ruff"
	@echo "make bench  - ingest benchmark against a server it starts"
	@echo "make eval   - the escalation engine on ../shared/data, and its detectors cross-validated"

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Baton needs Python 3.12 or newer, and none was found (python3.13, python3.12, python3, pyenv's versions)."; \
	  echo "Install one (e.g. 'pyenv install 3.12') or run: make PYTHON=/path/to/python3.12 $(MAKECMDGOALS)"; \
	  exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install --quiet -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" ; test $${PIPESTATUS[0]} -eq 0
	@touch $@

install: $(VENV)/.installed

# Quiet unless V=1: django-axes alone would announce itself at INFO in every process.
run reset: export LOG_LEVEL ?= $(if $(V),INFO,WARNING)

run: install
	@$(PY) manage.py rundemo $(DEMO_ARGS)

reset: install
	@$(PY) manage.py rundemo --fresh $(DEMO_ARGS)

test: install
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) baton.sqlite3* .test-db*.sqlite3* staticfiles

# The engine's figures, then each learned detector cross-validated by source beside its
# baselines (bench/injection_cv.py, bench/sentiment_cv.py; both only read ../shared/data).
eval: install
	$(PY) -m bench.eval
	@echo
	$(PY) -m bench.injection_cv
	@echo
	$(PY) -m bench.sentiment_cv
