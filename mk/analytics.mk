# Analytics (issue 20): the Spark data source, the Delta Lake export and the dashboard example.
# They get their own virtualenv: PySpark alone is ~490 MB, and the other suites need none of it
# (run there, the analytics tests skip themselves for want of pyspark). pandas < 3: PySpark 4.3
# warns that it does not fully support pandas 3 yet.
ANALYTICS_VENV := .venv-analytics
ANALYTICS_PY   := $(ANALYTICS_VENV)/bin/python
ANALYTICS_TESTS := tests/test_spark_source.py tests/test_delta_export.py tests/test_dashboard_example.py

.PHONY: analytics-deps test-analytics dashboard

CI_DEPS      += analytics-deps
TEST_TARGETS += test-analytics

analytics-deps: $(ANALYTICS_VENV)/.installed ## virtualenv with PySpark, deltalake and matplotlib

$(ANALYTICS_VENV)/.installed: python/pyproject.toml mk/analytics.mk
	test -x $(ANALYTICS_PY) || python3 -m venv $(ANALYTICS_VENV)
	$(ANALYTICS_PY) -m pip install -q --upgrade pip
	$(ANALYTICS_PY) -m pip install -q -e 'python[server,spark,delta]' 'pyspark==4.3.0' \
	  'deltalake==1.6.6' 'matplotlib>=3.8' 'pytest>=8' 'pandas>=2.2,<3'
	touch $@

# Spark runs its Python workers with PYSPARK_PYTHON; a skipped test here is a failure.
test-analytics: analytics-deps ## Spark source, Delta export and dashboard example against a real server
	@mkdir -p build; set -o pipefail; cd python && PYSPARK_PYTHON=$(abspath $(ANALYTICS_PY)) \
	  ../$(ANALYTICS_PY) -m pytest -q -rs $(ANALYTICS_TESTS) | tee ../build/test-analytics.log || exit 1; \
	if grep -q ' skipped' ../build/test-analytics.log; then echo "analytics tests were skipped"; exit 1; fi

# The runs go to an embedded store (no server needed), made afresh each time.
DASHBOARD_DIR := $(abspath build/dashboard)

dashboard: analytics-deps ## the dashboard example on generated runs; PNGs in build/dashboard
	rm -rf $(DASHBOARD_DIR) && mkdir -p $(DASHBOARD_DIR)
	PYSPARK_PYTHON=$(abspath $(ANALYTICS_PY)) $(ANALYTICS_PY) examples/dashboard/dashboard.py \
	  --tracking-uri sqlite:///$(DASHBOARD_DIR)/tracking.db --generate --out $(DASHBOARD_DIR)
