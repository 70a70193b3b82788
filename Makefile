# presence-sync: the user's interface. `make setup` once, then `make demo` or `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
# uv installs the locked dependencies in seconds. It is itself pinned by version and hash (requirements-uv.txt,
# installed with pip --require-hashes) and kept outside the repo, in a folder named after that file's digest:
# a uv installed some other way is never picked up, and a change of pin means a fresh, checked install.
UV_VERSION := $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements-uv.txt)
UV_PIN_DIGEST := $(shell $(PYTHON) -c "import hashlib; print(hashlib.sha256(open('requirements-uv.txt', 'rb').read()).hexdigest()[:12])")
CACHE := $(or $(PRESENCE_SYNC_CACHE),$(XDG_CACHE_HOME:%=%/presence-sync),$(HOME)/.cache/presence-sync)
UV_HOME := $(CACHE)/uv-$(UV_VERSION)-$(UV_PIN_DIGEST)
UV := $(UV_HOME)/bin/uv
INSTALL_STAMP := $(VENV)/.installed
# Every install is hash-checked: the locks carry a sha256 for every file of every pinned version.
UV_COMPILE = $(UV) pip compile --quiet --python-version 3.11 --generate-hashes

# The Pulumi CLI every target uses: an installed one if new enough, else the one engine/ builds into the cache.
PULUMI_BIN := $(shell $(PYTHON) engine/pulumi_engine.py bin-dir)
export PATH := $(PULUMI_BIN):$(abspath $(VENV))/bin:$(PATH)
# Offline, reproducible engine runs: no update check, no plugin downloads, plugins and credentials out of the repo.
export PULUMI_SKIP_UPDATE_CHECK := 1
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION := true
export PULUMI_HOME ?= $(CACHE)/pulumi-home

.PHONY: help setup venv engine browser nice-sdk lock lock-uv test test-failover lint typecheck unit e2e pulumi-version demo demo-stop sandbox clean

help:
	@echo "make setup           create .venv, install the locked dependencies, build/find the Pulumi CLI"
	@echo "make demo            the main job on the local sandbox: sandbox up, pulumi up, summary"
	@echo "make test            lint + type check + every test: make unit (fast) then make e2e (real engine)"
	@echo "make test-failover   only the PostgreSQL failover tests (also in make test), figures printed"
	@echo "make sandbox         run the local Salesforce and CXone emulators in the foreground"
	@echo "make pulumi-version  the version of the Pulumi CLI the other targets use"
	@echo "make lock            re-resolve the locks (dev, runtime image, build backend) with hashes; review the diff"

setup: venv engine browser nice-sdk

# NICE's agent SDK (npm, pinned with integrity hashes in tests/nice_sdk/package-lock.json) for the test that reads
# the presence-sync rule from the sandbox as CXone Agent Embedded does. `npm ci` installs exactly the lock and runs
# no package's install scripts.
NICE_SDK := tests/nice_sdk
nice-sdk: $(NICE_SDK)/node_modules/.package-lock.json

$(NICE_SDK)/node_modules/.package-lock.json: $(NICE_SDK)/package.json $(NICE_SDK)/package-lock.json
	npm ci --prefix $(NICE_SDK) --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# The live view's browser test drives Debian's Chromium (Playwright points at it; it never downloads a browser).
# Installed from Debian's packages when missing and we are root (CI is); otherwise say how.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			{ apt-cache policy chromium | grep -q 'Candidate: [0-9]' || apt-get update -qq; } && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "make setup: no chromium: the browser test needs Debian's (sudo apt-get install chromium)" >&2; \
		fi; \
	fi

venv: $(INSTALL_STAMP)

# Wheels only: building uv from its sdist would fetch an unpinned build toolchain.
$(UV):
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check \
		--require-hashes --no-deps --only-binary=:all: --requirement requirements-uv.txt

# requirements.lock: every dependency with its hashes (--require-hashes refuses anything else); the editable
# install of this project builds with the locked, hash-checked backend from requirements-build.lock.
$(INSTALL_STAMP): requirements.lock requirements-build.lock pyproject.toml | $(UV)
	test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(UV) pip sync --python $(VENV_PY) --quiet --require-hashes requirements.lock
	$(UV) pip install --python $(VENV_PY) --quiet --no-deps \
		--build-constraints requirements-build.lock --require-build-hashes --editable .
	touch $@

# Re-resolve (needs the package index). Keeps the pinned versions unless an input changed; the runtime lock takes
# its versions from requirements.lock, so the image runs what the tests ran.
lock: | $(UV)
	$(UV_COMPILE) pyproject.toml --extra dev -o requirements.lock
	$(UV_COMPILE) requirements-runtime.in -c requirements.lock --python-platform linux -o requirements-runtime.lock
	$(UV_COMPILE) requirements-build.in -o requirements-build.lock

# The hashes of every file the index serves for a uv version, computed by the current (checked) uv:
# `make lock-uv NEW_UV_VERSION=x.y.z`, then review the diff.
NEW_UV_VERSION ?= $(UV_VERSION)
lock-uv: | $(UV)
	echo "uv==$(NEW_UV_VERSION)" | $(UV) pip compile --quiet --generate-hashes --no-header --no-annotate - \
		| cat <(sed -n '/^#/p' requirements-uv.txt) - > requirements-uv.txt.new
	mv requirements-uv.txt.new requirements-uv.txt

engine:
	@$(PYTHON) engine/pulumi_engine.py ensure >/dev/null

pulumi-version:
	@pulumi version

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: venv
	$(VENV)/bin/mypy .

# Everything but the real-engine runs: unit tests and the tests against the sandbox's emulators.
unit: venv
	$(VENV)/bin/pytest -m "not pulumi"

# The real Pulumi engine end to end (`pulumi up`/preview/refresh/destroy against the sandbox): slower.
e2e: venv engine
	$(VENV)/bin/pytest -m pulumi

test: lint typecheck unit e2e

# Only the replicas frozen or killed mid-work on PostgreSQL (the 3-replica failover end to end, feed holders frozen
# in a transaction), with their figures printed; they run in `make unit` too.
test-failover: venv
	$(VENV)/bin/pytest -m failover -s

sandbox: venv
	$(VENV)/bin/presence-sync sandbox serve

demo: setup
	$(VENV)/bin/python -m presence_sync.demo

demo-stop: venv
	$(VENV)/bin/python -m presence_sync.demo --stop

clean:
	rm -rf $(VENV) .state .sandbox .pytest_cache .mypy_cache .ruff_cache
