"""Tracking entities shaped like MLflow's (`mlflow.entities`): plain Python objects with
MLflow's attribute names and value types (`run.info.status == "FINISHED"`,
`run.data.params["lr"]`), each convertible to and from its protobuf message
(`to_proto()`, `from_proto()`), the wire form every client shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import logged_model_service_pb2 as lm


class RunStatus:
    """Run statuses by MLflow's names; the wire enum is `trackwire.v1.RunStatus`."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @staticmethod
    def to_proto(status: str | int) -> int:
        """`"FINISHED"`, `"RUN_STATUS_FINISHED"` or the enum number -> the enum number."""
        return _enum_number(pb.RunStatus, "RUN_STATUS_", status)

    @staticmethod
    def from_proto(number: int) -> str:
        return pb.RunStatus.Name(number).removeprefix("RUN_STATUS_")  # type: ignore[arg-type]

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)

    @staticmethod
    def all_status() -> list[str]:
        return ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]


class ViewType:
    """Which runs or experiments a search sees: the same numbers as MLflow's."""

    ACTIVE_ONLY = pb.VIEW_TYPE_ACTIVE_ONLY
    DELETED_ONLY = pb.VIEW_TYPE_DELETED_ONLY
    ALL = pb.VIEW_TYPE_ALL

    @staticmethod
    def to_proto(view_type: str | int) -> int:
        return _enum_number(pb.ViewType, "VIEW_TYPE_", view_type)


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


def _enum_number(enum: Any, prefix: str, value: str | int) -> int:
    if isinstance(value, int):
        return value
    name = value.upper()
    try:
        return int(enum.Value(name if name.startswith(prefix) else prefix + name))
    except ValueError:
        names = [n.removeprefix(prefix) for n in enum.keys() if not n.endswith("UNSPECIFIED")]
        raise ValueError(f"{value!r} is not one of {', '.join(names)}") from None


def _pairs(messages) -> dict[str, str]:
    return {m.key: m.value for m in messages}


@dataclass
class Metric:
    key: str
    value: float
    timestamp: int
    step: int
    run_id: str | None = None

    def to_proto(self) -> pb.Metric:
        return pb.Metric(key=self.key, value=self.value, timestamp=self.timestamp, step=self.step)

    @classmethod
    def from_proto(cls, proto: pb.Metric | pb.MetricWithRunId) -> Metric:
        run_id = getattr(proto, "run_id", None) or None
        return cls(proto.key, proto.value, proto.timestamp, proto.step, run_id)


@dataclass
class Param:
    key: str
    value: str

    def to_proto(self) -> pb.Param:
        return pb.Param(key=self.key, value=self.value)

    @classmethod
    def from_proto(cls, proto: pb.Param) -> Param:
        return cls(proto.key, proto.value)


@dataclass
class RunTag:
    key: str
    value: str

    def to_proto(self) -> pb.RunTag:
        return pb.RunTag(key=self.key, value=self.value)

    @classmethod
    def from_proto(cls, proto: pb.RunTag) -> RunTag:
        return cls(proto.key, proto.value)


@dataclass
class ExperimentTag:
    key: str
    value: str

    def to_proto(self) -> pb.ExperimentTag:
        return pb.ExperimentTag(key=self.key, value=self.value)

    @classmethod
    def from_proto(cls, proto: pb.ExperimentTag) -> ExperimentTag:
        return cls(proto.key, proto.value)


@dataclass
class InputTag:
    key: str
    value: str

    def to_proto(self) -> pb.InputTag:
        return pb.InputTag(key=self.key, value=self.value)

    @classmethod
    def from_proto(cls, proto: pb.InputTag) -> InputTag:
        return cls(proto.key, proto.value)


@dataclass
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_proto(self) -> pb.Dataset:
        return pb.Dataset(
            name=self.name,
            digest=self.digest,
            source_type=self.source_type,
            source=self.source,
            schema=self.schema or "",
            profile=self.profile or "",
        )

    @classmethod
    def from_proto(cls, proto: pb.Dataset) -> Dataset:
        return cls(
            proto.name,
            proto.digest,
            proto.source_type,
            proto.source,
            proto.schema or None,
            proto.profile or None,
        )


@dataclass
class DatasetInput:
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)

    def to_proto(self) -> pb.DatasetInput:
        return pb.DatasetInput(
            dataset=self.dataset.to_proto(), tags=[t.to_proto() for t in self.tags]
        )

    @classmethod
    def from_proto(cls, proto: pb.DatasetInput) -> DatasetInput:
        return cls(Dataset.from_proto(proto.dataset), [InputTag.from_proto(t) for t in proto.tags])


@dataclass
class RunInputs:
    dataset_inputs: list[DatasetInput] = field(default_factory=list)

    def to_proto(self) -> pb.RunInputs:
        return pb.RunInputs(dataset_inputs=[d.to_proto() for d in self.dataset_inputs])

    @classmethod
    def from_proto(cls, proto: pb.RunInputs) -> RunInputs:
        return cls([DatasetInput.from_proto(d) for d in proto.dataset_inputs])


@dataclass
class RunInfo:
    run_id: str
    experiment_id: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    run_name: str

    @property
    def run_uuid(self) -> str:
        return self.run_id

    def to_proto(self) -> pb.RunInfo:
        proto = pb.RunInfo(
            run_id=self.run_id,
            run_name=self.run_name,
            experiment_id=self.experiment_id,
            user_id=self.user_id,
            status=RunStatus.to_proto(self.status),  # type: ignore[arg-type]
            start_time=self.start_time,
            artifact_uri=self.artifact_uri,
            lifecycle_stage=self.lifecycle_stage,
        )
        if self.end_time is not None:
            proto.end_time = self.end_time
        return proto

    @classmethod
    def from_proto(cls, proto: pb.RunInfo) -> RunInfo:
        return cls(
            run_id=proto.run_id,
            experiment_id=proto.experiment_id,
            user_id=proto.user_id,
            status=RunStatus.from_proto(proto.status),
            start_time=proto.start_time,
            end_time=proto.end_time if proto.HasField("end_time") else None,
            lifecycle_stage=proto.lifecycle_stage,
            artifact_uri=proto.artifact_uri,
            run_name=proto.run_name,
        )


@dataclass
class RunData:
    """Latest metric values, params and tags as dicts (MLflow's shape)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    _metric_objs: list[Metric] = field(default_factory=list, repr=False)

    def to_proto(self) -> pb.RunData:
        metrics = self._metric_objs or [Metric(k, v, 0, 0) for k, v in self.metrics.items()]
        return pb.RunData(
            metrics=[m.to_proto() for m in metrics],
            params=[pb.Param(key=k, value=v) for k, v in self.params.items()],
            tags=[pb.RunTag(key=k, value=v) for k, v in self.tags.items()],
        )

    @classmethod
    def from_proto(cls, proto: pb.RunData) -> RunData:
        metric_objs = [Metric.from_proto(m) for m in proto.metrics]
        return cls(
            metrics={m.key: m.value for m in metric_objs},
            params=_pairs(proto.params),
            tags=_pairs(proto.tags),
            _metric_objs=metric_objs,
        )


@dataclass
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)

    def to_proto(self) -> pb.Run:
        return pb.Run(
            info=self.info.to_proto(), data=self.data.to_proto(), inputs=self.inputs.to_proto()
        )

    @classmethod
    def from_proto(cls, proto: pb.Run) -> Run:
        return cls(
            RunInfo.from_proto(proto.info),
            RunData.from_proto(proto.data),
            RunInputs.from_proto(proto.inputs),
        )

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "info": {k: v for k, v in vars(self.info).items()},
            "data": {
                "metrics": self.data.metrics,
                "params": self.data.params,
                "tags": self.data.tags,
            },
        }


@dataclass
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None

    def to_proto(self) -> pb.Experiment:
        return pb.Experiment(
            experiment_id=self.experiment_id,
            name=self.name,
            artifact_location=self.artifact_location,
            lifecycle_stage=self.lifecycle_stage,
            creation_time=self.creation_time or 0,
            last_update_time=self.last_update_time or 0,
            tags=[pb.ExperimentTag(key=k, value=v) for k, v in self.tags.items()],
        )

    @classmethod
    def from_proto(cls, proto: pb.Experiment) -> Experiment:
        return cls(
            experiment_id=proto.experiment_id,
            name=proto.name,
            artifact_location=proto.artifact_location,
            lifecycle_stage=proto.lifecycle_stage,
            tags=_pairs(proto.tags),
            creation_time=proto.creation_time or None,
            last_update_time=proto.last_update_time or None,
        )


@dataclass
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None = None

    def to_proto(self) -> pb.FileInfo:
        proto = pb.FileInfo(path=self.path, is_dir=self.is_dir)
        if self.file_size is not None:
            proto.file_size = self.file_size
        return proto

    @classmethod
    def from_proto(cls, proto: pb.FileInfo) -> FileInfo:
        return cls(
            proto.path, proto.is_dir, proto.file_size if proto.HasField("file_size") else None
        )


@dataclass
class LoggedModel:
    """An MLflow 3 logged model (`mlflow.entities.LoggedModel`): status is "READY",
    "PENDING" or "UPLOAD_FAILED"; metrics carry their dataset and run."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    status: str
    source_run_id: str | None = None
    model_type: str | None = None
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)

    @classmethod
    def from_proto(cls, proto: lm.LoggedModel) -> LoggedModel:
        info = proto.info
        return cls(
            model_id=info.model_id,
            experiment_id=info.experiment_id,
            name=info.name,
            artifact_location=info.artifact_uri,
            status=lm.LoggedModelStatus.Name(info.status).removeprefix(
                "LOGGED_MODEL_STATUS_LOGGED_MODEL_"
            ),
            source_run_id=info.source_run_id or None,
            model_type=info.model_type or None,
            creation_timestamp=info.creation_timestamp_ms or None,
            last_updated_timestamp=info.last_updated_timestamp_ms or None,
            tags=_pairs(info.tags),
            params=_pairs(proto.data.params),
            metrics=[Metric.from_proto(m) for m in proto.data.metrics],
        )
