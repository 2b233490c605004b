# trackwire monorepo build. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
# buf's own binary for this machine, from the npm package's platform dependency
# (@bufbuild/buf-linux-x64, -linux-aarch64, -darwin-arm64, -darwin-x64, ...): no Node per call.
BUF_PLATFORM := $(shell uname -s | tr A-Z a-z)-$(shell uname -m | sed 's/x86_64/x64/; s/armv7l/armv7/')
BUF          := node_modules/@bufbuild/buf-$(BUF_PLATFORM)/bin/buf
THIRD_PARTY := build/third_party
GOOGLEAPIS  := $(THIRD_PARTY)/google/api

.PHONY: help venv run gen gen-python check-generated lint typecheck test test-python \
        check-package conformance buf-tools ci-deps clean

# Language fragments (mk/*.mk) extend these lists with their own targets.
GEN_TARGETS  := gen-python
TEST_TARGETS := lint typecheck check-generated test-python check-package
CI_DEPS      := venv buf-tools
GENERATED    := python/src/trackwire/v1 python/src/trackwire/conformance python/src/trackwire/_version.py

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## create the Python virtualenv with the server and dev tools

$(VENV)/.installed: python/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e 'python[server,dev]'
	touch $@

run: venv ## start the tracking server on the embedded default (sqlite:///trackwire.db)
	$(VENV)/bin/trackwire server

$(BUF): package.json
	npm install --no-fund --no-audit --loglevel=error
	touch $@

# googleapis' http annotations come from the googleapis-common-protos wheel.
$(GOOGLEAPIS)/annotations.proto: $(VENV)/.installed
	mkdir -p $(GOOGLEAPIS)
	cp "$$($(PY) -c 'import os, google.api.annotations_pb2 as a; print(os.path.dirname(a.__file__))')"/{annotations,http}.proto $(GOOGLEAPIS)/

buf-tools: $(BUF) $(GOOGLEAPIS)/annotations.proto

gen-python: buf-tools
	tools/gen_python.sh $(abspath $(PY)) $(THIRD_PARTY)

check-generated: ## fail when checked-in generated code differs from proto/
	$(MAKE) gen
	@untracked=$$(git ls-files --others --exclude-standard -- $(GENERATED)); \
	if ! git diff --exit-code --stat -- $(GENERATED) || [ -n "$$untracked" ]; then \
	  echo "generated code is stale: run 'make gen' and commit $$untracked"; exit 1; fi

lint: buf-tools ## buf format/lint/breaking, ruff
	$(BUF) format -d --exit-code
	$(BUF) lint
	tools/buf_breaking.sh $(BUF)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv ## mypy over the Python package
	cd python && ../$(VENV)/bin/mypy src/trackwire --ignore-missing-imports

test-python: venv ## Python unit and integration tests (real server processes)
	cd python && ../$(VENV)/bin/pytest -q

check-package: venv ## build wheel + sdist and try them in a fresh venv
	tools/check_package.sh $(abspath $(PY))

conformance: venv ## cross-language conformance suite; prints a case x language matrix
	$(VENV)/bin/pytest -q tests/conformance

-include mk/*.mk

gen: $(GEN_TARGETS) ## regenerate checked-in code (Python stubs, R bindings) from proto/

ci-deps: $(CI_DEPS) ## install everything the tests need (venv, buf, JVM deps, R, PostgreSQL)

test: $(TEST_TARGETS) conformance ## everything CI runs

clean:
	rm -rf build node_modules $(VENV) python/build python/dist
