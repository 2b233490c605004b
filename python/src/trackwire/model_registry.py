"""Model registry entities shaped like MLflow's (`mlflow.entities.model_registry`): plain
Python objects with MLflow's attribute names (`model.aliases["champion"]`,
`version.current_stage`), made from the registry's protobuf messages."""

from __future__ import annotations

from dataclasses import dataclass, field

from trackwire.v1 import model_registry_service_pb2 as pb


@dataclass
class ModelVersion:
    name: str
    version: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    description: str = ""
    user_id: str = ""
    current_stage: str = "None"
    source: str = ""
    run_id: str | None = None
    status: str = "READY"
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)

    @classmethod
    def from_proto(cls, proto: pb.ModelVersion) -> ModelVersion:
        return cls(
            name=proto.name,
            version=proto.version,
            creation_timestamp=proto.creation_timestamp or None,
            last_updated_timestamp=proto.last_updated_timestamp or None,
            description=proto.description,
            user_id=proto.user_id,
            current_stage=proto.current_stage,
            source=proto.source,
            run_id=proto.run_id or None,
            status=pb.ModelVersionStatus.Name(proto.status).removeprefix("MODEL_VERSION_STATUS_"),
            status_message=proto.status_message or None,
            tags={t.key: t.value for t in proto.tags},
            run_link=proto.run_link or None,
            aliases=list(proto.aliases),
        )


@dataclass
class RegisteredModel:
    name: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    description: str = ""
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_proto(cls, proto: pb.RegisteredModel) -> RegisteredModel:
        return cls(
            name=proto.name,
            creation_timestamp=proto.creation_timestamp or None,
            last_updated_timestamp=proto.last_updated_timestamp or None,
            description=proto.description,
            latest_versions=[ModelVersion.from_proto(v) for v in proto.latest_versions],
            tags={t.key: t.value for t in proto.tags},
            aliases={a.alias: a.version for a in proto.aliases},
        )
