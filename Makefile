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

.PHONY: help setup demo test lint types bench lock clean

help:
	@echo "make demo   set up, then open signoff on the bundled demo queue"
	@echo "make test   set up, then run ruff, mypy --strict and pytest"
	@echo "make bench  set up, then measure against same-run yardsticks (SIZE=1000000)"

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

types: $(STAMP)
	$(BIN)/mypy

test: lint types
	$(BIN)/pytest

# Not part of `make test` or CI: minutes at the default size. `make bench SIZE=20000`.
SIZE ?= 1000000
bench: $(STAMP)
	$(BIN)/python bench/run.py --size $(SIZE)

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed '1i # Pinned versions of everything `make` installs (runtime + dev). Regenerate with `make lock`.' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist
