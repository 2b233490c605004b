"""The store reads the scale benchmark found slow, timed in-process on a seeded SQLite store.

    .venv/bin/python bench/store_queries.py STORE.db [--runs 100000] [--steps 1000000]

Seeds (once; a second run reuses the file) one experiment of `--runs` runs (5 params, 5
metrics each, 10% of metrics missing) and one run of `--steps` steps, then prints the best
of three: the first page of 100 of `metrics.m0 > 0.5 and params.p1 = 'a'` ordered by
`metrics.m0 DESC`, its 51st page through page tokens, the same pages with no filter (the
experiment's runs sorted, and the metric's index walked rank by rank), the bulk-interval
read of 1,000 of the long run's steps, and the chart's 1,000 buckets of them
(GetMetricBuckets). To compare with another version of the store, run the same command with
PYTHONPATH pointing at that version's `python/src` (the chart's first read builds its block
summaries: the best of three leaves that out).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import sqlalchemy as sa

from trackwire.server.store import schema
from trackwire.server.store.database import Database
from trackwire.server.store.engine import create_store_engine
from trackwire.server.store.history import MetricHistory
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.search_runs import RunCounts, plan_run_search

LONG_RUN = "f" * 32
_POINT = ("run_id", "key", "step", "timestamp", "value")
BATCH = 10_000


def seed(engine: sa.Engine, run_count: int, step_count: int) -> None:
    schema.metadata.create_all(engine)
    rng = random.Random(1)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.experiments).values(
                experiment_id=1,
                name="scale",
                artifact_location="/a",
                lifecycle_stage="active",
                creation_time=0,
                last_update_time=0,
            )
        )
        for start in range(0, run_count, BATCH):
            run_ids = [f"{i:032x}" for i in range(start, min(start + BATCH, run_count))]
            conn.execute(sa.insert(schema.runs), [_run(run_id, rng) for run_id in run_ids])
            conn.execute(
                sa.insert(schema.latest_metrics),
                [
                    {"run_id": r, "key": f"m{k}", "value": rng.random(), "timestamp": 0, "step": 0}
                    for r in run_ids
                    for k in range(5)
                    if rng.random() < 0.9
                ],
            )
            conn.execute(
                sa.insert(schema.params),
                [
                    {"run_id": r, "key": f"p{k}", "value": rng.choice("abcd")}
                    for r in run_ids
                    for k in range(5)
                ],
            )
        conn.execute(sa.insert(schema.runs).values(_run(LONG_RUN, rng)))
        for start in range(0, step_count, BATCH * 10):
            rows = [
                (LONG_RUN, "loss", s, 1, s / 2)
                for s in range(start, min(start + BATCH * 10, step_count))
            ]
            conn.execute(
                sa.insert(schema.metrics),
                [dict(zip(_POINT, row, strict=True)) | {"seq": 0} for row in rows],
            )


def _run(run_id: str, rng: random.Random) -> dict:
    return {
        "run_id": run_id,
        "experiment_id": 1,
        "run_name": run_id,
        "user_id": "u",
        "status": "FINISHED",
        "start_time": rng.randrange(10**9),
        "artifact_uri": "/a",
        "lifecycle_stage": "active",
    }


def best_of_three(read: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        read()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=1_000_000)
    args = parser.parse_args()
    engine = create_store_engine(f"sqlite:///{args.store}")
    if not sa.inspect(engine).has_table("runs"):
        seed(engine, args.runs, args.steps)
    db = Database(engine)
    page_tokens = PageTokens(db)

    def page(token: str, filter_string: str, run_counts: RunCounts | None = None) -> str:
        counts = None if run_counts is None else lambda: run_counts
        plan = plan_run_search(
            experiment_ids=[1],
            filter_string=filter_string,
            order_by=["metrics.m0 DESC"],
            view_type=0,
            max_results=100,
            page_token=token,
            page_tokens=page_tokens,
            run_counts=counts,
        )
        with engine.connect() as conn:
            return plan.fetch(conn)[1]

    def first_and_deep(filter_string: str, run_counts: RunCounts | None = None) -> str:
        first = best_of_three(lambda: page("", filter_string, run_counts))
        token = page("", filter_string, run_counts)
        for _ in range(49):
            token = page(token, filter_string, run_counts)
        deep = best_of_three(lambda: page(token, filter_string, run_counts))
        return f"first page {first * 1000:.1f} ms, page 51 {deep * 1000:.1f} ms"

    bounded = first_and_deep("metrics.m0 > 0.5 and params.p1 = 'a'")
    print(f"search, bounded: {bounded}")
    # No filter: the experiment's runs sorted, or the metric's index walked rank by rank.
    sort, walk = RunCounts(1, args.runs), RunCounts(args.runs, args.runs)
    print(f"search, unbounded, sorted: {first_and_deep('', sort)}")
    print(f"search, unbounded, walked: {first_and_deep('', walk)}")
    history = MetricHistory(db, page_tokens)
    bulk = best_of_three(lambda: history.bulk_interval([LONG_RUN], "loss", None, None, 1000))
    buckets = best_of_three(lambda: history.metric_buckets([LONG_RUN], "loss", None, None, 1000))
    print(
        f"bulk interval, 1,000 of {args.steps:,} steps: {bulk * 1000:.1f} ms; "
        f"1,000 buckets of them: {buckets * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
