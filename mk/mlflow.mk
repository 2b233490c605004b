# MLflow wire compatibility: the official `mlflow` client (mlflow-skinny: the client without
# the server's dependencies) drives a live trackwire server. It gets its own virtualenv so its
# dependencies never leak into ours; trackwire is not installed there — the tests start the
# server from $(VENV).
MLFLOW_VENV    := .venv-mlflow
MLFLOW_VERSION := 3.17.2

.PHONY: mlflow-venv mlflow-server test-mlflow-compat

mlflow-venv: $(MLFLOW_VENV)/.installed ## virtualenv with the official mlflow client for compat tests

$(MLFLOW_VENV)/.installed: mk/mlflow.mk
	test -x $(MLFLOW_VENV)/bin/python || python3 -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install -q --upgrade pip
	$(MLFLOW_VENV)/bin/python -m pip install -q 'mlflow-skinny==$(MLFLOW_VERSION)' \
	  'pandas>=2' 'pytest>=8' 'scikit-learn' 'cloudpickle' 'skops'
	touch $@

# MLflow's server (for the side-by-side benchmark) needs the full `mlflow` package on top of
# mlflow-skinny.
mlflow-server: $(MLFLOW_VENV)/.server-installed ## MLflow's tracking server in its virtualenv

$(MLFLOW_VENV)/.server-installed: $(MLFLOW_VENV)/.installed
	$(MLFLOW_VENV)/bin/python -m pip install -q 'mlflow==$(MLFLOW_VERSION)'
	touch $@

test-mlflow-compat: venv mlflow-venv ## the mlflow client against a live trackwire server
	TRACKWIRE_SERVER_BIN=$(abspath $(VENV))/bin/trackwire \
	  $(MLFLOW_VENV)/bin/pytest -q --confcutdir=python/tests/mlflow_compat python/tests/mlflow_compat

CI_DEPS      += mlflow-venv
TEST_TARGETS += test-mlflow-compat
