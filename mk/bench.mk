# Benchmarks (issue 6). Never part of `make test`: they print figures and assert nothing.
# `bench` runs trackwire alone at 1/10 of the counts (~75 s); `bench-compare` runs the full
# workloads side by side with MLflow's server (default workers and --workers 1), ~17 min.
# Extra arguments for bench/run.py: make bench-compare BENCH_ARGS='--large-runs 100000'
BENCH_ARGS ?=

.PHONY: bench bench-compare

bench: venv ## benchmark trackwire alone, quick counts (figures, no assertions)
	$(PY) bench/run.py --quick $(BENCH_ARGS)

# MLflow's venv and server come from mk/mlflow.mk.
bench-compare: venv mlflow-venv mlflow-server ## full benchmark side by side with MLflow's server
	$(PY) bench/run.py --compare $(BENCH_ARGS)
