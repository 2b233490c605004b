"""The `trackwire` Spark data source: runs, or their metric histories, as a DataFrame.

Planning (in Spark's Python planner) resolves the experiments and cuts each into ranges of
runs with searches that carry no run data; every range is one Spark partition, read by a task
with its own client. See `trackwire.spark` for the options.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition

from trackwire import analytics, errors, limits
from trackwire.analytics import RunRange
from trackwire.spark.filters import PushedFilters, push

RUNS_SCHEMA = (
    "run_id string, experiment_id string, metrics map<string,double>, "
    "params map<string,string>, tags map<string,string>, start_time timestamp, "
    "end_time timestamp, status string, artifact_uri string, "
    "run_name string, user_id string, lifecycle_stage string"
)
HISTORY_SCHEMA = "run_id string, key string, step long, timestamp timestamp, value double"

MODES = ("runs", "history")
DEFAULT_RUNS_PER_PARTITION = 10_000


@dataclass(frozen=True)
class ReadOptions:
    """The reader's options, validated once at planning."""

    tracking_uri: str | None
    token: str | None
    experiment_ids: list[str]
    experiment_names: list[str]
    history: bool
    filter_string: str
    run_view_type: str
    runs_per_partition: int

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> ReadOptions:
        mode = options.get("mode", "runs").lower()
        if mode not in MODES:
            raise errors.InvalidArgument(f"mode {mode!r} is not one of {', '.join(MODES)}")
        ids = analytics.split_list(options.get("path")) + analytics.split_list(
            options.get("experiment_ids")
        )
        names = [options["experiment_name"]] if options.get("experiment_name") else []
        if not ids and not names:
            raise errors.InvalidArgument(
                "name the experiments: load('<id>,<id>') or option('experiment_name', ...)"
            )
        runs_per_partition = options.get("runs_per_partition", str(DEFAULT_RUNS_PER_PARTITION))
        if not runs_per_partition.isdigit() or int(runs_per_partition) < 1:
            raise errors.InvalidArgument(
                f"runs_per_partition must be a positive integer, not {runs_per_partition!r}"
            )
        return cls(
            tracking_uri=options.get("tracking_uri"),
            token=options.get("token"),
            experiment_ids=ids,
            experiment_names=names,
            history=mode == "history",
            filter_string=options.get("filter", ""),
            run_view_type=analytics.run_view_type(options.get("run_view_type")),
            runs_per_partition=int(runs_per_partition),
        )


class TrackwireDataSource(DataSource):
    """`spark.read.format("trackwire")`."""

    @classmethod
    def name(cls) -> str:
        return "trackwire"

    def schema(self) -> str:
        return HISTORY_SCHEMA if ReadOptions.parse(self.options).history else RUNS_SCHEMA

    def reader(self, schema) -> DataSourceReader:
        return TrackwireReader(ReadOptions.parse(self.options))


@dataclass
class RunRangePartition(InputPartition):
    run_range: RunRange


class TrackwireReader(DataSourceReader):
    def __init__(self, options: ReadOptions):
        self.options = options
        self.pushed = PushedFilters()

    def pushFilters(self, filters):  # noqa: N802 - Spark's name
        return list(push(filters, self.pushed, history=self.options.history))

    def partitions(self) -> list[InputPartition]:
        options = self.options
        with analytics.open_client(options.tracking_uri, options.token) as client:
            experiment_ids = analytics.resolve_experiment_ids(
                client, options.experiment_ids, options.experiment_names
            )
            if self.pushed.experiment_ids is not None:
                experiment_ids = [e for e in experiment_ids if e in self.pushed.experiment_ids]
            partitions: list[InputPartition] = [
                RunRangePartition(run_range)
                for experiment_id in experiment_ids
                for run_range in analytics.plan_run_ranges(
                    client,
                    experiment_id,
                    options.runs_per_partition,
                    self._filter_string(),
                    options.run_view_type,
                )
            ]
        # Spark needs at least one partition; an empty one reads nothing.
        return partitions or [InputPartition(None)]

    def read(self, partition) -> Iterator[tuple]:
        if not isinstance(partition, RunRangePartition):
            return
        options = self.options
        keys = self.pushed.metric_keys
        columns = None
        if options.history:  # only the metrics' names are needed to read their histories
            columns = {"metrics": sorted(keys)} if keys is not None else None
        with analytics.open_client(options.tracking_uri, options.token) as client:
            runs = analytics.runs_in_range(
                client,
                partition.run_range,
                self._filter_string(),
                options.run_view_type,
                page_size=min(options.runs_per_partition, limits.MAX_SEARCH_RUNS_MAX_RESULTS),
                columns=columns,
            )
            for run in runs:
                if options.history:
                    yield from analytics.history_rows(client, run, keys)
                else:
                    row = analytics.run_row(run)
                    yield tuple(row[column] for column in analytics.RUN_COLUMNS)

    def _filter_string(self) -> str:
        return self.pushed.filter_string(self.options.filter_string)
