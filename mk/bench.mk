# Benchmarks (issues 6 and 21). Never part of `make test`: they print figures and assert nothing.
# `bench` runs trackwire alone at 1/10 of the counts (~75 s); `bench-compare` runs the full
# workloads side by side with MLflow's server (default workers and --workers 1), ~17 min.
# BACKEND=postgresql: every server on one private PostgreSQL cluster (fsync on).
# Extra arguments for bench/run.py: make bench-compare BENCH_ARGS='--large-runs 100000'
BACKEND    ?= sqlite
BENCH_ARGS ?=

.PHONY: bench bench-compare mlflow-postgres

bench: venv ## benchmark trackwire alone, quick counts (figures, no assertions)
	$(PY) bench/run.py --quick --backend $(BACKEND) $(BENCH_ARGS)

# MLflow's venv and server come from mk/mlflow.mk.
bench-compare: venv mlflow-venv mlflow-server mlflow-postgres ## full benchmark side by side with MLflow's server
	$(PY) bench/run.py --compare --backend $(BACKEND) $(BENCH_ARGS)

# MLflow's server reaches PostgreSQL through psycopg 3 (postgresql+psycopg://). mk/mlflow.mk
# names the venv too; set here as well, so that this fragment's rules do not depend on the
# order the fragments are included in.
MLFLOW_VENV ?= .venv-mlflow
mlflow-postgres: $(MLFLOW_VENV)/.postgres-installed

$(MLFLOW_VENV)/.postgres-installed: $(MLFLOW_VENV)/.server-installed
	$(MLFLOW_VENV)/bin/python -m pip install -q 'psycopg[binary]>=3.1'
	touch $@

# Team scale (issue 21): a million runs, a hundred million points, on BACKEND. Seeding stops at
# its count or its time budget (an hour each by default); the stores are deleted at the end.
# make bench-scale BACKEND=postgresql SCALE_ARGS='--runs-budget-s 900 --points-budget-s 900'
SCALE_ARGS ?=

.PHONY: bench-scale
bench-scale: venv mlflow-venv mlflow-server mlflow-postgres ## a million runs and 100M points (figures, no assertions)
	$(PY) bench/scale.py --backend $(BACKEND) $(SCALE_ARGS)

# Soak (issue 15): 16 client processes (gRPC and HTTP, low-level and fluent) for 180 s, the
# server killed with SIGKILL twice and restarted on the same ports and store; the store is
# compared with every client's ledger, and the run exits 1 on any difference. Under 5 minutes.
# make soak BACKEND=postgresql SOAK_ARGS='--duration 120 --outage 5'
SOAK_ARGS ?=

.PHONY: soak
soak: venv ## 16 clients, two SIGKILL restarts, exact counts at the end (BACKEND=postgresql too)
	$(PY) bench/soak.py --backend $(BACKEND) $(SOAK_ARGS)
