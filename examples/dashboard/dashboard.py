"""The tracking dashboard: how an evaluation metric changes over time, how many runs each user
started, and the total number of runs across users, as PNG charts.

The same three charts come from two sources: `trackwire.search_runs` (a pandas DataFrame) and
the `trackwire` Spark data source. `--generate` first logs a month of synthetic runs by four
users, so the example runs anywhere:

    python dashboard.py --tracking-uri grpc://127.0.0.1:50051 --generate --out charts

Needs `pip install 'trackwire[pandas,spark]' matplotlib` (and Java 17 for Spark).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import trackwire as tw  # noqa: E402
from trackwire.v1 import entities_pb2  # noqa: E402

METRIC = "eval_accuracy"
USERS = ("alice", "bob", "carol", "dan")
DAY_MILLIS = 86_400_000


def generate_runs(client: tw.TrackingClient, experiment_id: str, runs: int, seed: int = 7) -> None:
    """`runs` finished runs over 30 days; each user's accuracy improves as the month goes on."""
    rng = random.Random(seed)
    start = 1_767_225_600_000  # 2026-01-01 UTC
    for _ in range(runs):
        user = rng.choices(USERS, weights=(5, 3, 2, 1))[0]
        started = start + rng.randrange(30 * DAY_MILLIS)
        run = client.create_run(experiment_id, start_time=started, user_id=user)
        progress = (started - start) / (30 * DAY_MILLIS)
        accuracy = 0.6 + 0.3 * progress + rng.uniform(-0.04, 0.04)
        points = [
            entities_pb2.Metric(
                key=METRIC, value=accuracy * (1 - 0.5 / (step + 1)), step=step, timestamp=started
            )
            for step in range(5)
        ]
        client.log_batch(run.info.run_id, metrics=points, params={"lr": f"{rng.choice((1, 3))}e-4"})
        client.set_terminated(run.info.run_id, end_time=started + 60_000)


def charts_from_search_runs(experiment_id: str, out: Path) -> dict[str, int]:
    """The charts from `search_runs`: one pandas row per run, one column per metric/param/tag."""
    runs = tw.search_runs(experiment_ids=[experiment_id], order_by=["attributes.start_time ASC"])
    runs = runs.rename(columns={f"metrics.{METRIC}": METRIC, "tags.mlflow.user": "user"})
    metric = runs[["start_time", METRIC]].dropna()
    per_user = runs.groupby("user").size().sort_index()
    per_day = runs.groupby(runs.start_time.dt.floor("D")).size()
    draw(metric, per_user, per_day, "search_runs", out / "search_runs")
    return {str(user): int(count) for user, count in per_user.items()}


def spark_session():
    """A local Spark session with the `trackwire` format registered."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Spark's Python workers
    from pyspark.sql import SparkSession

    import trackwire.spark

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("trackwire-dashboard")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    trackwire.spark.register(spark)
    return spark


def charts_from_spark(spark, experiment_id: str, out: Path) -> dict[str, int]:
    """The charts from the Spark data source: aggregate in Spark, plot the small results."""
    from pyspark.sql import functions as F

    runs = (
        spark.read.format("trackwire")
        .option("tracking_uri", tw.get_tracking_uri())
        .load(experiment_id)
    )
    # Reproducibility: Spark keeps no order through a shuffle, so fix both the partitioning
    # and the order inside each partition before anything depends on row order (samples,
    # `limit`, files written): the same input then always gives the same rows in the same
    # places, whatever the number of cores or the timing of tasks.
    runs = runs.repartition(4, "user_id").sortWithinPartitions("start_time", "run_id")

    metric = (
        runs.select("run_id", "start_time", F.col("metrics")[METRIC].alias(METRIC))
        .where(F.col(METRIC).isNotNull())
        .orderBy("start_time", "run_id")
        .toPandas()
    )
    per_user = (
        runs.groupBy(F.col("user_id").alias("user")).count().orderBy("user").toPandas()
    ).set_index("user")["count"]
    per_day = (
        runs.groupBy(F.date_trunc("day", "start_time").alias("day"))
        .count()
        .orderBy("day")
        .toPandas()
    ).set_index("day")["count"]
    draw(metric, per_user, per_day, "Spark data source", out / "spark")
    return {str(user): int(count) for user, count in per_user.items()}


def draw(metric: pd.DataFrame, per_user: pd.Series, per_day: pd.Series, source: str, prefix):
    """Writes <prefix>_metric_over_time.png, _runs_per_user.png and _total_runs.png."""
    prefix.parent.mkdir(parents=True, exist_ok=True)

    figure, axes = plt.subplots(figsize=(8, 4))
    daily = metric.set_index("start_time")[METRIC].resample("D").mean()
    axes.scatter(metric.start_time, metric[METRIC], s=8, alpha=0.4, label="run")
    axes.plot(daily.index, daily.values, color="C1", label="daily mean")
    axes.set(title=f"{METRIC} over time ({source})", xlabel="run start", ylabel=METRIC)
    axes.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(f"{prefix}_metric_over_time.png", dpi=100)
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(6, 4))
    axes.bar(per_user.index.astype(str), per_user.values)
    axes.set(title=f"Runs per user ({source})", xlabel="user", ylabel="runs")
    figure.tight_layout()
    figure.savefig(f"{prefix}_runs_per_user.png", dpi=100)
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(8, 4))
    total = per_day.sort_index().cumsum()
    axes.step(total.index, total.values, where="post")
    axes.set(
        title=f"Total runs across all users: {int(total.iloc[-1]) if len(total) else 0} ({source})",
        xlabel="day",
        ylabel="runs so far",
    )
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(f"{prefix}_total_runs.png", dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", help="default: $TRACKWIRE_TRACKING_URI")
    parser.add_argument("--experiment", default="dashboard-demo", help="experiment name")
    parser.add_argument(
        "--generate",
        type=int,
        nargs="?",
        const=300,
        metavar="RUNS",
        help="first log this many synthetic runs (default 300)",
    )
    parser.add_argument("--source", choices=("search_runs", "spark", "both"), default="both")
    parser.add_argument("--out", type=Path, default=Path("charts"), help="where the PNGs go")
    args = parser.parse_args(argv)

    # Spark's JVM is started before any gRPC channel: a process forked while gRPC's threads
    # are busy can lose the JVM's gateway (grpc skips its fork handlers then).
    spark = spark_session() if args.source in ("spark", "both") else None
    if args.tracking_uri:
        tw.set_tracking_uri(args.tracking_uri)
    client = tw.TrackingClient(tw.get_tracking_uri())
    experiment_id = client.get_or_create_experiment(args.experiment).experiment_id
    if args.generate:
        generate_runs(client, experiment_id, args.generate)
    if args.source in ("search_runs", "both"):
        print("runs per user (search_runs):", charts_from_search_runs(experiment_id, args.out))
    if spark is not None:
        try:
            print("runs per user (Spark):", charts_from_spark(spark, experiment_id, args.out))
        finally:
            spark.stop()
    print(f"charts written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
