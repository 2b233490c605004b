"""Runs exported to Delta Lake tables with delta-rs (`deltalake`; no Spark, no JVM).

Two tables under the destination, both partitioned by `experiment_id`:

- `runs`: one row per run: the `mlflow-experiment` columns, with the latest metrics and, beside
  them, each metric's minimum and maximum over its history (NaN ignored), plus the digest of
  what the export saw (`export_digest`);
- `metric_history`: one row per logged metric point.

An export reads every run of the experiments (a search, no history) and compares it with its
digest in the `runs` table: only new or changed runs have their histories read and written.
The history table gets the points it does not hold yet (so a rerun never duplicates a row),
then the runs are merged on `run_id`. Histories go first: an export interrupted in between
leaves the runs' old digests behind, and the next export writes them again, still without
duplicates. Runs of every lifecycle stage are exported, so a deletion shows; runs purged from
the server stay in the tables.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake
except ImportError as e:  # pragma: no cover - depends on the install
    raise ImportError(
        "the Delta Lake export needs deltalake: pip install 'trackwire[delta]'"
    ) from e

from trackwire import analytics, errors
from trackwire.client import TrackingClient
from trackwire.v1 import entities_pb2 as ent

RUNS_TABLE = "runs"
HISTORY_TABLE = "metric_history"
PARTITION_COLUMN = "experiment_id"
# History points held in memory at once: changed runs are written in batches of about this.
BATCH_POINTS = 500_000

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_METRICS = pa.map_(pa.string(), pa.float64())
_STRINGS = pa.map_(pa.string(), pa.string())
RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("experiment_id", pa.string()),
        ("metrics", _METRICS),
        ("metrics_min", _METRICS),
        ("metrics_max", _METRICS),
        ("params", _STRINGS),
        ("tags", _STRINGS),
        ("start_time", _TIMESTAMP),
        ("end_time", _TIMESTAMP),
        ("status", pa.string()),
        ("artifact_uri", pa.string()),
        ("run_name", pa.string()),
        ("user_id", pa.string()),
        ("lifecycle_stage", pa.string()),
        ("export_digest", pa.string()),
    ]
)
HISTORY_SCHEMA = pa.schema(
    [
        ("experiment_id", pa.string()),
        ("run_id", pa.string()),
        ("key", pa.string()),
        ("step", pa.int64()),
        ("timestamp", _TIMESTAMP),
        ("value", pa.float64()),
    ]
)


@dataclass(frozen=True)
class ExportReport:
    """What one export did: runs seen and written, history rows written, table versions."""

    experiment_ids: list[str]
    runs_seen: int
    runs_written: int
    history_rows_written: int
    runs_version: int
    history_version: int

    def summary(self) -> str:
        return (
            f"experiments {', '.join(self.experiment_ids)}: {self.runs_seen} runs seen, "
            f"{self.runs_written} written (runs table version {self.runs_version}), "
            f"{self.history_rows_written} metric points written "
            f"(metric_history table version {self.history_version})"
        )


def export_delta(
    destination: str | Path,
    experiment_ids: Iterable[str] = (),
    experiment_names: Iterable[str] = (),
    tracking_uri: str | None = None,
    token: str | None = None,
) -> ExportReport:
    """Exports the runs of the experiments (by id and/or name) to Delta tables under
    `destination` (`<destination>/runs`, `<destination>/metric_history`), writing only what
    changed since the last export there."""
    with analytics.open_client(tracking_uri, token) as client:
        ids = analytics.resolve_experiment_ids(client, experiment_ids, experiment_names)
        if not ids:
            raise errors.InvalidArgument("name at least one experiment to export")
        return _export(client, Path(destination), ids)


def _export(client: TrackingClient, destination: Path, experiment_ids: list[str]) -> ExportReport:
    runs_path, history_path = destination / RUNS_TABLE, destination / HISTORY_TABLE
    runs_table = _open_table(runs_path, RUNS_SCHEMA)
    history_table = _open_table(history_path, HISTORY_SCHEMA)
    exported = _exported_digests(runs_table, experiment_ids)
    changed: list[tuple[ent.Run, str]] = []
    runs_seen = 0
    for run in analytics.search_runs(client, experiment_ids, run_view_type="ALL"):
        runs_seen += 1
        digest = run_digest(run)
        if exported.get(run.info.run_id) != digest:
            changed.append((run, digest))

    # Changed runs are written in batches of about BATCH_POINTS history points, each batch
    # history first, so memory stays bounded and an interruption loses at most one batch.
    runs_written = points_written = 0
    batch: list[tuple[ent.Run, str, list[tuple]]] = []
    batch_points = 0
    for number, (run, digest) in enumerate(changed, 1):
        points = list(analytics.history_rows(client, run))
        batch.append((run, digest, points))
        batch_points += len(points)
        if batch_points >= BATCH_POINTS or number == len(changed):
            points_written += _write_batch(runs_table, history_table, batch, experiment_ids)
            runs_written += len(batch)
            batch, batch_points = [], 0
    return ExportReport(
        experiment_ids=experiment_ids,
        runs_seen=runs_seen,
        runs_written=runs_written,
        history_rows_written=points_written,
        runs_version=DeltaTable(runs_path).version(),
        history_version=DeltaTable(history_path).version(),
    )


def _write_batch(
    runs_table: DeltaTable,
    history_table: DeltaTable,
    batch: list[tuple[ent.Run, str, list[tuple]]],
    experiment_ids: list[str],
) -> int:
    """Appends the batch's history points the table lacks, then merges its runs on run_id;
    how many points were written."""
    held = _held_points(history_table, [run.info.run_id for run, _, _ in batch], experiment_ids)
    history_rows = [
        _history_row(run.info.experiment_id, point)
        for run, _, points in batch
        for point in points
        if _point_identity(point) not in held
    ]
    if history_rows:
        history_table.update_incremental()
        write_deltalake(
            history_table, pa.Table.from_pylist(history_rows, schema=HISTORY_SCHEMA), mode="append"
        )
    runs_table.update_incremental()
    source = pa.Table.from_pylist(
        [_run_row(run, digest, points) for run, digest, points in batch], schema=RUNS_SCHEMA
    )
    (
        runs_table.merge(
            source,
            "target.experiment_id = source.experiment_id AND target.run_id = source.run_id",
            source_alias="source",
            target_alias="target",
        )
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )
    return len(history_rows)


def _open_table(path: Path, schema: pa.Schema) -> DeltaTable:
    """The Delta table at `path`, created empty (partitioned by experiment) when missing."""
    if not DeltaTable.is_deltatable(str(path)):
        path.mkdir(parents=True, exist_ok=True)
        write_deltalake(
            str(path), schema.empty_table(), partition_by=[PARTITION_COLUMN], mode="append"
        )
    return DeltaTable(str(path))


def _experiments(table: DeltaTable, experiment_ids: Sequence[str]):
    """The table's rows of these experiments, as a pyarrow dataset (only their files)."""
    return table.to_pyarrow_dataset(
        file_pruning_predicate=[(PARTITION_COLUMN, "in", list(experiment_ids))]
    )


def _exported_digests(table: DeltaTable, experiment_ids: Sequence[str]) -> dict[str, str]:
    """run_id -> digest of the runs the table holds for these experiments."""
    held = _experiments(table, experiment_ids).to_table(columns=["run_id", "export_digest"])
    return dict(
        zip(
            held.column("run_id").to_pylist(), held.column("export_digest").to_pylist(), strict=True
        )
    )


def _held_points(
    table: DeltaTable, run_ids: Sequence[str], experiment_ids: Sequence[str]
) -> set[tuple]:
    """The identities of the points the history table holds for `run_ids`."""
    if not run_ids:
        return set()
    import pyarrow.compute as pc

    held = _experiments(table, experiment_ids).to_table(
        columns=list(analytics.HISTORY_COLUMNS),
        filter=pc.field("run_id").isin(list(run_ids)),
    )
    return {_point_identity(tuple(row.values())) for row in held.to_pylist()}


def _history_row(experiment_id: str, point: Sequence[Any]) -> dict[str, Any]:
    return {
        "experiment_id": experiment_id,
        **dict(zip(analytics.HISTORY_COLUMNS, point, strict=True)),
    }


def _point_identity(point: Sequence[Any]) -> tuple:
    """A point's identity; NaN, unequal to itself, is named instead."""
    run_id, key, step, timestamp, value = point
    return run_id, key, step, timestamp, "NaN" if math.isnan(value) else value


def _run_row(run: ent.Run, digest: str, points: list[tuple]) -> dict[str, Any]:
    values: dict[str, list[float]] = {}
    for _, key, _, _, value in points:
        if not math.isnan(value):
            values.setdefault(key, []).append(value)
    keys = [m.key for m in run.data.metrics]
    row = analytics.run_row(run)
    row["metrics_min"] = {k: min(values[k]) if k in values else math.nan for k in keys}
    row["metrics_max"] = {k: max(values[k]) if k in values else math.nan for k in keys}
    row["export_digest"] = digest
    return row


def run_digest(run: ent.Run) -> str:
    """A digest of everything a search shows of a run, in an order independent of the
    server's: any logged point that changes a latest value, any param, tag or state change."""
    info = ent.RunInfo()
    info.CopyFrom(run.info)
    canonical = ent.Run(info=info)
    canonical.data.metrics.extend(sorted(run.data.metrics, key=lambda m: m.key))
    canonical.data.params.extend(sorted(run.data.params, key=lambda p: p.key))
    canonical.data.tags.extend(sorted(run.data.tags, key=lambda t: t.key))
    return hashlib.sha256(canonical.SerializeToString(deterministic=True)).hexdigest()


def export_delta_by_id_or_name(
    destination: str | Path, experiments: Iterable[str], tracking_uri: str | None = None
) -> ExportReport:
    """`export_delta` for the command line: each of `experiments` is an experiment id when
    one exists, else a name."""
    with analytics.open_client(tracking_uri) as client:
        ids = [_experiment_id(client, value) for value in experiments]
        return _export(client, Path(destination), list(dict.fromkeys(ids)))


def _experiment_id(client: TrackingClient, id_or_name: str) -> str:
    if id_or_name.isdigit():
        try:
            return client.get_experiment(id_or_name).experiment_id
        except errors.NotFound:
            pass
    return client.get_experiment_by_name(id_or_name).experiment_id
