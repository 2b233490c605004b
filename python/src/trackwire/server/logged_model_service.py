"""The logged-model service: MLflow 3's logged models and run outputs, one method per RPC."""

from __future__ import annotations

import secrets

from trackwire import validation
from trackwire.errors import InvalidArgument
from trackwire.server.artifacts.locations import ArtifactLocations
from trackwire.server.artifacts.paths import clean_relative_path
from trackwire.server.store.tracking_store import TrackingStore
from trackwire.v1 import logged_model_service_pb2 as rpc

DEFAULT_SEARCH_MAX_RESULTS = 100
_FINAL_STATUSES = (
    rpc.LOGGED_MODEL_STATUS_LOGGED_MODEL_READY,
    rpc.LOGGED_MODEL_STATUS_LOGGED_MODEL_UPLOAD_FAILED,
)


def _entries(entries) -> None:
    """A model's params or tags."""
    for entry in entries:
        validation.unbounded_entry(entry.key, entry.value)


class LoggedModelService:
    def __init__(self, store: TrackingStore, locations: ArtifactLocations):
        self.models = store.logged_models
        self.locations = locations

    def CreateLoggedModel(
        self, request: rpc.CreateLoggedModelRequest
    ) -> rpc.CreateLoggedModelResponse:
        experiment_id = validation.require(request.experiment_id, "experiment_id")
        name = request.name or f"model-{secrets.token_hex(4)}"
        validation.value_length(name, "name", 500)
        validation.text(request.model_type, "model_type")
        validation.text(request.source_run_id, "source_run_id")
        _entries(request.params)
        _entries(request.tags)
        model = self.models.create(
            experiment_id,
            name,
            request.model_type,
            request.source_run_id,
            request.params,
            request.tags,
        )
        return rpc.CreateLoggedModelResponse(model=model)

    def FinalizeLoggedModel(
        self, request: rpc.FinalizeLoggedModelRequest
    ) -> rpc.FinalizeLoggedModelResponse:
        model_id = validation.require(request.model_id, "model_id")
        if request.status not in _FINAL_STATUSES:
            raise InvalidArgument(
                "A logged model is finalized with status LOGGED_MODEL_READY or "
                "LOGGED_MODEL_UPLOAD_FAILED."
            )
        return rpc.FinalizeLoggedModelResponse(model=self.models.finalize(model_id, request.status))

    def GetLoggedModel(self, request: rpc.GetLoggedModelRequest) -> rpc.GetLoggedModelResponse:
        model_id = validation.require(request.model_id, "model_id")
        return rpc.GetLoggedModelResponse(model=self.models.get(model_id))

    def DeleteLoggedModel(
        self, request: rpc.DeleteLoggedModelRequest
    ) -> rpc.DeleteLoggedModelResponse:
        self.models.delete(validation.require(request.model_id, "model_id"))
        return rpc.DeleteLoggedModelResponse()

    def SearchLoggedModels(
        self, request: rpc.SearchLoggedModelsRequest
    ) -> rpc.SearchLoggedModelsResponse:
        # MLflow's server takes any page size: none (or a non-positive one) is the default.
        max_results = request.max_results if request.max_results > 0 else DEFAULT_SEARCH_MAX_RESULTS
        validation.text(request.filter, "filter")
        experiment_keys = []
        for experiment_id in request.experiment_ids:
            if not experiment_id.isdigit():
                raise InvalidArgument(f"Invalid experiment id {experiment_id!r}.")
            experiment_keys.append(int(experiment_id))
        models, token = self.models.search(
            experiment_keys,
            request.filter,
            [(d.dataset_name, d.dataset_digest) for d in request.datasets],
            request.order_by,
            max_results,
            request.page_token,
        )
        return rpc.SearchLoggedModelsResponse(models=models, next_page_token=token)

    def SetLoggedModelTags(
        self, request: rpc.SetLoggedModelTagsRequest
    ) -> rpc.SetLoggedModelTagsResponse:
        model_id = validation.require(request.model_id, "model_id")
        _entries(request.tags)
        return rpc.SetLoggedModelTagsResponse(model=self.models.set_tags(model_id, request.tags))

    def DeleteLoggedModelTag(
        self, request: rpc.DeleteLoggedModelTagRequest
    ) -> rpc.DeleteLoggedModelTagResponse:
        model_id = validation.require(request.model_id, "model_id")
        self.models.delete_tag(model_id, validation.require(request.tag_key, "tag_key"))
        return rpc.DeleteLoggedModelTagResponse()

    def LogLoggedModelParams(
        self, request: rpc.LogLoggedModelParamsRequest
    ) -> rpc.LogLoggedModelParamsResponse:
        model_id = validation.require(request.model_id, "model_id")
        _entries(request.params)
        self.models.log_params(model_id, request.params)
        return rpc.LogLoggedModelParamsResponse()

    def ListLoggedModelArtifacts(
        self, request: rpc.ListLoggedModelArtifactsRequest
    ) -> rpc.ListLoggedModelArtifactsResponse:
        model = self.models.get(validation.require(request.model_id, "model_id"))
        path = clean_relative_path(request.artifact_directory_path, allow_root=True)
        repository = self.locations.repository(model.info.artifact_uri)
        return rpc.ListLoggedModelArtifactsResponse(
            root_uri=model.info.artifact_uri, files=repository.list(path)
        )

    def LogOutputs(self, request: rpc.LogOutputsRequest) -> rpc.LogOutputsResponse:
        run_id = validation.require(request.run_id, "run_id")
        for output in request.models:
            validation.require(output.model_id, "model_id")
        self.models.log_outputs(run_id, request.models)
        return rpc.LogOutputsResponse()
