# make help lists the targets. Everything sets itself up on a fresh machine.
.DEFAULT_GOAL := help
SHELL := /bin/bash
export RASA_TELEMETRY_ENABLED := false

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
# Rasa 3.6 needs Python < 3.11: use python3.10 from PATH, else from pyenv.
PYTHON310 ?= $(shell command -v python3.10 2>/dev/null || ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.10.*/bin/python3.10 2>/dev/null | tail -n 1)

.PHONY: help install env model seed run test lint bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv (Python 3.10) with the pinned dependencies

$(VENV)/.installed: requirements.txt
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "Python 3.10 not found (Rasa 3.6 needs Python < 3.11)."; \
	  echo "Install it, e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv', then run make again."; \
	  exit 1; fi
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

env: install ## create .env from .env.example with generated secrets (keeps an existing one)
	@$(PY) -m bot init-env

model: install ## train the Rasa model if the training data changed
	@$(PY) -m bot train

seed: env ## reset the demo invoices (due dates relative to today)
	$(PY) -m actions.billing seed

run: env model ## install, train if needed and start everything (Ctrl-C stops it)
	@$(PY) -m actions.billing seed --if-empty
	@$(PY) -m bot users ensure-demo
	@$(PY) -m bot run

test: env model ## install and run every test
	@tools/ensure-packages.sh
	$(PY) -m pytest
	$(RASA) data validate --fail-on-warnings
	$(RASA) test core --e2e --stories tests/stories --model models/current.tar.gz \
	  --fail-on-prediction-errors --out results/stories

lint: install ## ruff
	$(VENV)/bin/ruff check bot actions tests bench

bench: env model ## measure understanding, pipelines, load, start (~30 min): bench/results/
	$(PY) -m bench
