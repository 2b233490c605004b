"""`MlflowClient`: MLflow's client class, with its method names, signatures and return shapes
(entities from `trackwire.entities`), over trackwire's protobuf-level `TrackingClient`.

Code written against `mlflow.MlflowClient` keeps working with `trackwire.MlflowClient`;
`client.tracking_client` is the faster protobuf-level client underneath.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trackwire import errors
from trackwire.client import rich_artifacts
from trackwire.client.tracking import Page, TrackingClient
from trackwire.entities import (
    Experiment,
    FileInfo,
    LoggedModel,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from trackwire.model_registry import ModelVersion, RegisteredModel

# MLflow's default page size of searches.
SEARCH_MAX_RESULTS_DEFAULT = 1000
PARENT_RUN_TAG = "mlflow.parentRunId"


class PagedList(list):
    """A page of results; `token` continues the search (None on the last page)."""

    def __init__(self, items: Iterable[Any], token: str | None):
        super().__init__(items)
        self.token = token or None


def _paged(page: Page, convert) -> PagedList:
    return PagedList((convert(item) for item in page), page.token)


class MlflowClient:
    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None):
        self.tracking_client = TrackingClient(tracking_uri)

    @property
    def tracking_uri(self) -> str:
        return self.tracking_client.tracking_uri

    def close(self) -> None:
        self.tracking_client.close()

    # Experiments

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        return self.tracking_client.create_experiment(name, artifact_location, _strings(tags))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return Experiment.from_proto(self.tracking_client.get_experiment(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            return Experiment.from_proto(self.tracking_client.get_experiment_by_name(name))
        except errors.NotFound:
            return None

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        page = self.tracking_client.search_experiments(
            filter_string, order_by, view_type, max_results, page_token
        )
        return _paged(page, Experiment.from_proto)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.tracking_client.update_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self.tracking_client.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self.tracking_client.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.tracking_client.set_experiment_tag(experiment_id, key, str(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.tracking_client.delete_experiment_tag(experiment_id, key)

    # Runs

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        proto = self.tracking_client.create_run(experiment_id, start_time, _strings(tags), run_name)
        return Run.from_proto(proto)

    def get_run(self, run_id: str) -> Run:
        return Run.from_proto(self.tracking_client.get_run(run_id))

    def get_parent_run(self, run_id: str) -> Run | None:
        parent_id = self.get_run(run_id).data.tags.get(PARENT_RUN_TAG)
        return self.get_run(parent_id) if parent_id else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        self.tracking_client.update_run(run_id, status=status, run_name=name)

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        self.tracking_client.set_terminated(run_id, status or RunStatus.FINISHED, end_time)

    def delete_run(self, run_id: str) -> None:
        self.tracking_client.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.tracking_client.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        page = self.tracking_client.search_runs(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
        )
        return _paged(page, Run.from_proto)

    # Logging

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        self.tracking_client.log_metric(run_id, key, value, timestamp, step)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        self.tracking_client.log_param(run_id, key, value)
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        self.tracking_client.set_tag(run_id, key, value)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.tracking_client.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        self.tracking_client.log_batch(
            run_id,
            metrics=[m.to_proto() for m in metrics],
            params=[p.to_proto() for p in params],
            tags=[t.to_proto() for t in tags],
        )

    def log_inputs(self, run_id: str, datasets: Sequence[Any] | None = None) -> None:
        self.tracking_client.log_inputs(run_id, [d.to_proto() for d in datasets or ()])

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return [Metric.from_proto(m) for m in self.tracking_client.get_metric_history(run_id, key)]

    # Artifacts

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return [FileInfo.from_proto(f) for f in self.tracking_client.list_artifacts(run_id, path)]

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        destination = dst_path or tempfile.mkdtemp(prefix="trackwire-")
        return self.tracking_client.download_artifacts(run_id, path, destination)

    # Logged models (MLflow 3)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return LoggedModel.from_proto(self.tracking_client.get_logged_model(model_id))

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        page = self.tracking_client.search_logged_models(
            experiment_ids, filter_string, order_by, max_results, page_token, datasets
        )
        return _paged(page, LoggedModel.from_proto)

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        files = self.tracking_client.list_logged_model_artifacts(model_id, path)
        return [FileInfo.from_proto(f) for f in files]

    def download_logged_model_artifacts(
        self, model_id: str, path: str = "", dst_path: str | None = None
    ) -> str:
        destination = dst_path or tempfile.mkdtemp(prefix="trackwire-")
        return self.tracking_client.download_logged_model_artifacts(model_id, path, destination)

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike, artifact_path: str | None = None
    ) -> None:
        self.tracking_client.log_artifact(run_id, local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike, artifact_path: str | None = None
    ) -> None:
        self.tracking_client.log_artifacts(run_id, local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        rich_artifacts.log_text(self.tracking_client, run_id, text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        rich_artifacts.log_dict(self.tracking_client, run_id, dictionary, artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        rich_artifacts.log_figure(
            self.tracking_client, run_id, figure, artifact_file, save_kwargs=save_kwargs
        )

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        rich_artifacts.log_image(
            self.tracking_client, run_id, image, artifact_file, key, step, timestamp
        )

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        rich_artifacts.log_table(self.tracking_client, run_id, data, artifact_file)

    def load_table(
        self,
        experiment_id: str,
        artifact_file: str,
        run_ids: list[str] | None = None,
        extra_columns: list[str] | None = None,
    ):
        return rich_artifacts.load_table(
            self.tracking_client, experiment_id, artifact_file, run_ids, extra_columns
        )

    # Model registry

    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        created = self.tracking_client.create_registered_model(name, _strings(tags), description)
        return RegisteredModel.from_proto(created)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.from_proto(self.tracking_client.get_registered_model(name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        page = self.tracking_client.search_registered_models(
            filter_string, max_results, order_by, page_token
        )
        return _paged(page, RegisteredModel.from_proto)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        versions = self.tracking_client.get_latest_versions(name, stages)
        return [ModelVersion.from_proto(v) for v in versions]

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        created = self.tracking_client.create_model_version(
            name, source, run_id, _strings(tags), description
        )
        return ModelVersion.from_proto(created)

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return ModelVersion.from_proto(self.tracking_client.get_model_version(name, version))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return ModelVersion.from_proto(self.tracking_client.get_model_version_by_alias(name, alias))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        page = self.tracking_client.search_model_versions(
            filter_string, max_results, order_by, page_token
        )
        return _paged(page, ModelVersion.from_proto)

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self.tracking_client.set_registered_model_alias(name, alias, version)

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        moved = self.tracking_client.transition_model_version_stage(
            name, version, stage, archive_existing_versions
        )
        return ModelVersion.from_proto(moved)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return self.tracking_client.get_model_version_download_uri(name, version)


def _strings(mapping: Mapping[str, Any] | None) -> dict[str, str] | None:
    return None if mapping is None else {str(k): str(v) for k, v in mapping.items()}
