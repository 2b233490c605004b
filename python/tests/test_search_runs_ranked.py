"""An order led by a metric no filter bounds: read rank by rank (numbers, NaN, missing),
walking the metric's index, it gives the very pages, rows and page tokens of the one sorted
statement. On SQLite, and on PostgreSQL when TRACKWIRE_TEST_POSTGRES_URI is set."""

from __future__ import annotations

import math
import random

import pytest
import sqlalchemy as sa
from server_process import backend_for_tests

from trackwire.server.store import schema
from trackwire.server.store.database import Database
from trackwire.server.store.engine import create_store_engine, upgrade_schema
from trackwire.server.store.keyset import RankedSearchPlan, SearchPlan
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.search_runs import RunCounts, plan_run_search, read_run_counts
from trackwire.v1 import entities_pb2

# Run counts that make the planner walk the index, or sort the experiment's runs.
WALK = RunCounts(searched=1_000_000, stored=1_000_000)
SORT = RunCounts(searched=1_000, stored=1_000_000)
RUNS = 400


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, tmp_path_factory):
    """A migrated store of RUNS runs in experiment 1 and 40 in experiment 2: ties in the
    metric and in start_time, NaN, missing metrics, params and tags, deleted runs."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path_factory.mktemp('ranked') / 'store.db'}"
    else:
        uri = backend_for_tests()
        if uri is None:
            pytest.skip("PostgreSQL: set TRACKWIRE_TEST_POSTGRES_URI (make test-python-postgres)")
    engine = create_store_engine(uri)
    upgrade_schema(engine)
    rng = random.Random(21)
    experiments, runs, metrics, params = [], [], [], []
    for experiment_id in (1, 2):
        experiments.append(
            {
                "experiment_id": experiment_id,
                "name": f"ranked{experiment_id}",
                "artifact_location": "/a",
                "lifecycle_stage": "active",
                "creation_time": 0,
                "last_update_time": 0,
            }
        )
    for index in range(RUNS + 40):
        run_id = f"run{index:04d}"
        runs.append(
            {
                "run_id": run_id,
                "experiment_id": 1 if index < RUNS else 2,
                "run_name": run_id,
                "user_id": "u",
                "status": rng.choice(["FINISHED", "FAILED"]),
                "start_time": rng.randrange(25) * 1000,
                "end_time": None,
                "artifact_uri": f"/a/{run_id}",
                "lifecycle_stage": "deleted" if index % 37 == 0 else "active",
                "deleted_time": None,
            }
        )
        for key, present in (("acc", 0.7), ("loss", 0.5)):
            if rng.random() < present:
                value = rng.choice([math.nan, 0.1, 0.5, 0.9, -math.inf, rng.random()])
                metrics.append(
                    {
                        "run_id": run_id,
                        "key": key,
                        "step": 0,
                        "timestamp": 0,
                        "value": None if math.isnan(value) else value,  # NaN is stored as NULL
                    }
                )
        if rng.random() < 0.7:
            params.append({"run_id": run_id, "key": "bs", "value": rng.choice(["16", "32"])})
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.experiments), experiments)
        conn.execute(sa.insert(schema.runs), runs)
        conn.execute(sa.insert(schema.latest_metrics), metrics)
        conn.execute(sa.insert(schema.params), params)
        for experiment_id, count in ((1, RUNS), (2, 40)):
            conn.execute(
                sa.update(schema.experiments)
                .where(schema.experiments.c.experiment_id == experiment_id)
                .values(run_count=count)
            )
    yield engine, PageTokens(Database(engine))
    engine.dispose()


def pages(store, run_counts, page_size=7, **query):
    """Every page of the search, each as its rows (run columns and sort keys) and token."""
    engine, page_tokens = store
    query = {"experiment_ids": [1], "filter_string": "", "view_type": 0} | query
    found, token = [], ""
    with engine.connect() as conn:
        while True:
            plan = plan_run_search(
                **query,
                max_results=page_size,
                page_token=token,
                page_tokens=page_tokens,
                run_counts=lambda: run_counts,
            )
            rows, token = plan.fetch(conn)
            found.append(([tuple(row) for row in rows], token))
            if not token:
                return found


ALL = entities_pb2.VIEW_TYPE_ALL


@pytest.mark.parametrize(
    "query",
    [
        {"order_by": ["metrics.acc DESC"]},
        {"order_by": ["metrics.acc ASC"]},
        {"order_by": ["metrics.acc DESC"], "experiment_ids": [1, 2], "view_type": ALL},
        {"order_by": ["metrics.acc", "params.bs DESC"]},
        {"order_by": ["metrics.acc DESC", "metrics.loss ASC", "start_time ASC"]},
        {"order_by": ["metrics.acc DESC", "run_id DESC"]},
        {"order_by": ["metrics.acc DESC"], "filter_string": "params.bs = '32'"},
        {"order_by": ["metrics.acc ASC"], "filter_string": "metrics.loss < 0.5"},
        {"order_by": ["metrics.acc DESC"], "filter_string": "status = 'FINISHED'"},
        {"order_by": ["metrics.nothing DESC"]},
    ],
)
@pytest.mark.parametrize("page_size", [1, 7, 1000])
def test_ranked_pages_are_those_of_the_sorted_statement(store, query, page_size):
    walked = pages(store, WALK, page_size, **query)
    assert walked == pages(store, SORT, page_size, **query)
    assert sum(len(rows) for rows, _ in walked) > 7


def test_ranked_order_is_mlflows(store):
    """Values descending (ties by start_time descending, then run_id), then NaN, then
    runs without the metric."""
    engine, _ = store
    r, m = schema.runs.c, schema.latest_metrics.c
    with engine.connect() as conn:
        active = conn.execute(
            sa.select(r.run_id, r.start_time).where(
                r.experiment_id == 1, r.lifecycle_stage == "active"
            )
        ).all()
        acc = dict(conn.execute(sa.select(m.run_id, m.value).where(m.key == "acc")).all())

    def mlflow_order(run):
        rank = 2 if run.run_id not in acc else 1 if acc[run.run_id] is None else 0
        return (rank, -(acc.get(run.run_id) or 0.0), -run.start_time, run.run_id)

    expected = [run.run_id for run in sorted(active, key=mlflow_order)]
    walked = pages(store, WALK, order_by=["metrics.acc DESC"])
    assert [row[0] for rows, _ in walked for row in rows] == expected


def test_a_page_token_of_one_plan_continues_in_the_other(store):
    query = {"order_by": ["metrics.acc DESC"], "max_results": 7}
    engine, page_tokens = store
    common = {"experiment_ids": [1], "filter_string": "", "view_type": 0}
    with engine.connect() as conn:
        token, run_ids = "", {WALK: [], SORT: []}
        while True:
            for counts in (WALK, SORT):
                plan = plan_run_search(
                    **common,
                    **query,
                    page_token=token,
                    page_tokens=page_tokens,
                    run_counts=lambda counts=counts: counts,
                )
                rows, next_token = plan.fetch(conn)
                run_ids[counts].append([row.run_id for row in rows])
            token = next_token
            if not token:
                break
    assert run_ids[WALK] == run_ids[SORT]


def test_the_planner_walks_only_experiments_that_hold_enough_of_the_store(store):
    engine, page_tokens = store
    query = {
        "experiment_ids": [1],
        "filter_string": "",
        "view_type": 0,
        "order_by": ["metrics.acc DESC"],
        "page_token": "",
        "page_tokens": page_tokens,
    }
    with engine.connect() as conn:
        counts = read_run_counts(conn, [1])
    assert counts == RunCounts(searched=RUNS, stored=RUNS + 40)
    assert isinstance(
        plan_run_search(**query, max_results=100, run_counts=lambda: counts), RankedSearchPlan
    )
    # 400 of 440 runs: a page of 1,000 is found sooner by sorting 400 runs.
    assert isinstance(
        plan_run_search(**query, max_results=1000, run_counts=lambda: counts), SearchPlan
    )
    # A bound on the metric walks its index in the one statement (search_runs.py).
    bounded = query | {"filter_string": "metrics.acc > 0"}
    assert isinstance(
        plan_run_search(**bounded, max_results=100, run_counts=lambda: WALK), SearchPlan
    )


def test_sqlite_walks_the_metric_index_for_the_first_rank(store):
    engine, page_tokens = store
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's plan depends on its statistics: checked at scale (BENCHMARKS.md)")
    _, token = pages(store, WALK, order_by=["metrics.acc DESC"])[3]
    for page_token in ("", token):
        plan = plan_run_search(
            experiment_ids=[1],
            filter_string="",
            view_type=0,
            order_by=["metrics.acc DESC"],
            max_results=7,
            page_token=page_token,
            page_tokens=page_tokens,
            run_counts=lambda: WALK,
        )
        assert isinstance(plan, RankedSearchPlan)
        numbers = plan.statements[0]
        sql = numbers.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as conn:
            steps = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        # Walking the index, only the tie-breakers of equal values are sorted.
        assert steps.startswith("SEARCH order_0 USING INDEX ix_latest_metrics_key_value"), steps
        assert "USE TEMP B-TREE FOR ORDER BY" not in steps, steps
