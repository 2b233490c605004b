# PostgreSQL: the store and server suites also run against a private cluster.
PG_DIR  := $(abspath build/postgres)
# Empty: a free port chosen when the cluster starts (PG_PORT=N to pin one).
PG_PORT ?=
PG_TESTS := tests/test_server_grpc.py tests/test_artifacts_grpc.py tests/test_replicas.py \
            tests/test_crash_recovery.py tests/test_quotas.py tests/test_gc.py \
            tests/test_concurrent_writes.py tests/test_log_batch_stream.py \
            tests/test_client_mistakes.py tests/test_model_registry.py tests/test_logged_models.py \
            tests/test_metric_buckets.py tests/test_search_runs_ranked.py

CI_DEPS      += postgres-install
TEST_TARGETS += test-python-postgres

.PHONY: postgres-install test-python-postgres

postgres-install: ## install PostgreSQL from Debian packages when missing
	tools/postgres.sh install

# The conformance cases exercise the store, not the client: the Python testee (both wires)
# runs them on PostgreSQL; every language runs them on SQLite in `make conformance`.
test-python-postgres: venv ## the server suites and the conformance cases against PostgreSQL
	@uri=$$(tools/postgres.sh start $(PG_DIR) $(PG_PORT)) && \
	  trap '$(CURDIR)/tools/postgres.sh stop $(PG_DIR)' EXIT && \
	  (cd python && TRACKWIRE_TEST_POSTGRES_URI=$$uri ../$(VENV)/bin/pytest -q $(PG_TESTS)) && \
	  TRACKWIRE_TEST_POSTGRES_URI=$$uri CONFORMANCE_LANGUAGES=python,python-http \
	    $(VENV)/bin/pytest -q tests/conformance
