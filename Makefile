# presence-sync: the user's interface. `make setup` once, then `make demo` or `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
# uv installs the locked dependencies in seconds; it is itself pinned and kept outside the repo.
UV_VERSION := 0.13.9
CACHE := $(or $(PRESENCE_SYNC_CACHE),$(XDG_CACHE_HOME:%=%/presence-sync),$(HOME)/.cache/presence-sync)
UV := $(CACHE)/uv-$(UV_VERSION)/bin/uv
INSTALL_STAMP := $(VENV)/.installed

# The Pulumi CLI every target uses: an installed one if new enough, else the one engine/ builds into the cache.
PULUMI_BIN := $(shell $(PYTHON) engine/pulumi_engine.py bin-dir)
export PATH := $(PULUMI_BIN):$(abspath $(VENV))/bin:$(PATH)
# Offline, reproducible engine runs: no update check, no plugin downloads, plugins and credentials out of the repo.
export PULUMI_SKIP_UPDATE_CHECK := 1
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION := true
export PULUMI_HOME ?= $(CACHE)/pulumi-home

.PHONY: help setup venv engine test lint typecheck unit e2e pulumi-version demo demo-stop sandbox clean

help:
	@echo "make setup           create .venv, install the locked dependencies, build/find the Pulumi CLI"
	@echo "make demo            the main job on the local sandbox: sandbox up, pulumi up, summary"
	@echo "make test            lint + type check + every test: make unit (fast) then make e2e (real engine)"
	@echo "make sandbox         run the local Salesforce and CXone emulators in the foreground"
	@echo "make pulumi-version  the version of the Pulumi CLI the other targets use"

setup: venv engine

venv: $(INSTALL_STAMP)

$(UV):
	$(PYTHON) -m venv $(CACHE)/uv-$(UV_VERSION)
	$(CACHE)/uv-$(UV_VERSION)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(INSTALL_STAMP): requirements.lock pyproject.toml | $(UV)
	test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(UV) pip sync --python $(VENV_PY) --quiet requirements.lock
	$(UV) pip install --python $(VENV_PY) --quiet --no-deps --editable .
	touch $@

engine:
	@$(PYTHON) engine/pulumi_engine.py ensure >/dev/null

pulumi-version:
	@pulumi version

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy .

# Everything but the real-engine runs: unit tests and the tests against the sandbox's emulators.
unit: venv
	$(VENV)/bin/pytest -m "not pulumi"

# The real Pulumi engine end to end (`pulumi up`/preview/refresh/destroy against the sandbox): slower.
e2e: venv engine
	$(VENV)/bin/pytest -m pulumi

test: lint typecheck unit e2e

sandbox: venv
	$(VENV)/bin/presence-sync sandbox serve

demo: setup
	$(VENV)/bin/python -m presence_sync.demo

demo-stop: venv
	$(VENV)/bin/python -m presence_sync.demo --stop

clean:
	rm -rf $(VENV) .state .sandbox .pytest_cache .mypy_cache .ruff_cache
