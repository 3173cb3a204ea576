# Rollout — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# Python 3.13, else 3.12 (Django 6 needs >= 3.12): on PATH first, then pyenv's installs.
PYTHON := $(shell for c in python3.13 python3.12; do \
	  $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v $$c; exit 0; }; done; \
	for c in $$HOME/.pyenv/versions/3.13*/bin/python3.13 $$HOME/.pyenv/versions/3.12*/bin/python3.12 \
	  /usr/local/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	  [ -x "$$c" ] && { echo $$c; exit 0; }; done)

.PHONY: help venv run test lint format bench chaos

help:
	@echo "make run    start Rollout (web, worker, scheduler) on embedded defaults, with demo data"
	@echo "make test   run the whole test suite (unit, integration, browser)"
	@echo "make lint   ruff check, format check and the import layering contracts (lint-imports)"
	@echo "make bench  speed figures on PostgreSQL against same-run baselines (JSON lines)"
	@echo "make chaos  faults (worker killed, Redis/PostgreSQL lost, retries, poison) on its own services"
	@echo "make venv   only create .venv and install"
	@echo "PORT=8001 make run, DATABASE_URL=postgres://... make test: see README.md"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "Rollout needs Python 3.13 or 3.12; none was found." >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: venv
	$(BIN)/python manage.py run_embedded

# Everything but the browser journeys on two pytest-xdist workers; then the journeys in one process
# (they share one live server per module). PYTEST_ARGS goes to both runs.
test: venv node_modules/.installed
	$(BIN)/python -m pytest -m "not browser" -n 2 $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m browser $(PYTEST_ARGS)

# Speed targets against same-run baselines, on PostgreSQL (DATABASE_URL; default local postgres)
# and Redis when it answers. Needs wrk (installed here when missing, as root). See bench/run.py.
bench: venv
	@command -v wrk >/dev/null || { apt-get install -y -q wrk >/dev/null || \
	  { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; }
	$(BIN)/python -m bench.run

# Faults against Rollout on its own PostgreSQL cluster, Redis, SMTP sink, gunicorn, worker and beat
# (all started and killed by the script; under ten minutes; not run in CI). See chaos/run.py.
chaos: venv
	$(BIN)/python -m chaos.run

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
