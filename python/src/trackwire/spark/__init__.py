"""Runs as a Spark DataFrame: the `trackwire` data source (needs `trackwire[spark]`).

    import trackwire.spark
    trackwire.spark.register(spark)
    runs = (spark.read.format("trackwire")
            .option("tracking_uri", "grpc://tracking:50051")
            .load("1,2"))

Options: `tracking_uri` (else $TRACKWIRE_TRACKING_URI), `token` (else $TRACKWIRE_TOKEN),
experiment ids as the load path (comma-separated) or `experiment_ids`, and/or
`experiment_name`; `filter` (a search filter, e.g. "metrics.loss < 0.5"), `run_view_type`
(ACTIVE_ONLY, DELETED_ONLY, ALL), `mode` ("runs", or "history" for one row per logged metric
point), `runs_per_partition` (default 10,000).
"""

from __future__ import annotations

try:
    from pyspark.sql import SparkSession
except ImportError as e:  # pragma: no cover - depends on the install
    raise ImportError("trackwire.spark needs PySpark: pip install 'trackwire[spark]'") from e

from trackwire.spark.source import HISTORY_SCHEMA, RUNS_SCHEMA, TrackwireDataSource

__all__ = ["HISTORY_SCHEMA", "RUNS_SCHEMA", "TrackwireDataSource", "register"]


def register(spark: SparkSession) -> None:
    """Registers the `trackwire` format with `spark`, and turns on Spark's filter push-down
    for Python data sources (off by default in Spark 4), which the source uses to let the
    server select runs."""
    spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")
    spark.dataSource.register(TrackwireDataSource)
