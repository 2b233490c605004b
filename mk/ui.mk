# The web UI (ui/): built by esbuild from the npm packages pinned in package.json into the
# Python package's ui_assets/ (not committed: generated minified code), which the wheel ships
# and the server serves at `/`. Browser tests drive Debian's chromium-headless-shell.

UI_ASSETS  := python/src/trackwire/server/ui_assets
UI_SOURCES := $(wildcard ui/*.mjs ui/*.html ui/src/*.js ui/src/*/*.js ui/src/*.css)
ESBUILD    := node_modules/.bin/esbuild
CHROMIUM   := /usr/bin/chromium-headless-shell

.PHONY: ui ui-browser test-ui bench-ui

$(ESBUILD): package.json
	npm install --no-fund --no-audit --loglevel=error
	touch $@

$(UI_ASSETS)/index.html: $(ESBUILD) $(UI_SOURCES)
	node ui/build.mjs $(UI_ASSETS)

ui: $(UI_ASSETS)/index.html ## build the web UI into the Python package

ui-browser: ## install the headless browser the UI tests drive (Debian package)
	test -x $(CHROMIUM) || (apt-get update && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y --no-install-recommends chromium-headless-shell)

test-ui: ui venv ## browser tests of the web UI (screenshots in build/ui-screenshots)
	cd python && ../$(VENV)/bin/pytest -q tests/ui

# Each seeding stops at its count or after --budget seconds (600 by default); smaller counts:
# make bench-ui BENCH_UI_ARGS="--runs 1000 --large-runs 20000 --budget 120"
BENCH_UI_ARGS ?=
bench-ui: ui venv mlflow-server ## the UI against MLflow's own, same browser, same data (figures)
	$(VENV)/bin/python bench/ui_bench.py $(BENCH_UI_ARGS)

CI_DEPS      += ui-browser
TEST_TARGETS += test-ui

# The server started by `make run` and the packages built serve the UI; bench-scale opens it.
run check-package: ui
bench-scale: ui ui-browser
