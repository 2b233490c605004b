"""The model registry part of the low-level client: a method per registry call it offers.

Mixed into `TrackingClient`, whose transport carries the registry service beside the
tracking service. Methods return the registry's protobuf messages (`RegisteredModel`,
`ModelVersion`), or `Page`s of them for searches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trackwire import errors
from trackwire.client.pages import Page
from trackwire.v1 import model_registry_service_pb2 as reg


class RegistryMethods:
    _registry: Any  # the transport's ModelRegistryService

    def create_registered_model(
        self, name: str, tags: Mapping[str, str] | None = None, description: str | None = None
    ) -> reg.RegisteredModel:
        request = reg.CreateRegisteredModelRequest(
            name=name,
            tags=[reg.RegisteredModelTag(key=k, value=v) for k, v in (tags or {}).items()],
            description=description or "",
        )
        return self._registry.CreateRegisteredModel(request).registered_model

    def get_registered_model(self, name: str) -> reg.RegisteredModel:
        request = reg.GetRegisteredModelRequest(name=name)
        return self._registry.GetRegisteredModel(request).registered_model

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Iterable[str] | None = None,
        page_token: str | None = None,
    ) -> Page[reg.RegisteredModel]:
        request = reg.SearchRegisteredModelsRequest(
            **_search_fields(filter_string, max_results, order_by, page_token)
        )
        response = self._registry.SearchRegisteredModels(request)
        return Page(response.registered_models, response.next_page_token)

    def get_latest_versions(
        self, name: str, stages: Iterable[str] | None = None
    ) -> list[reg.ModelVersion]:
        request = reg.GetLatestVersionsRequest(name=name, stages=list(stages or ()))
        return list(self._registry.GetLatestVersions(request).model_versions)

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> reg.ModelVersion:
        request = reg.CreateModelVersionRequest(
            name=name,
            source=source,
            run_id=run_id or "",
            tags=[reg.ModelVersionTag(key=k, value=v) for k, v in (tags or {}).items()],
            description=description or "",
        )
        return self._registry.CreateModelVersion(request).model_version

    def register_model(self, model_uri: str, name: str) -> reg.ModelVersion:
        """A new version of `name` (created first if needed) from `model_uri`, for instance
        `runs:/<run_id>/model`."""
        try:
            self.create_registered_model(name)
        except errors.AlreadyExists:
            pass  # versions are added to an existing model
        run_id = ""
        if model_uri.startswith("runs:/"):
            run_id = model_uri[len("runs:/") :].split("/", 1)[0]
        return self.create_model_version(name, model_uri, run_id=run_id)

    def get_model_version(self, name: str, version: str | int) -> reg.ModelVersion:
        request = reg.GetModelVersionRequest(name=name, version=str(version))
        return self._registry.GetModelVersion(request).model_version

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Iterable[str] | None = None,
        page_token: str | None = None,
    ) -> Page[reg.ModelVersion]:
        request = reg.SearchModelVersionsRequest(
            **_search_fields(filter_string, max_results, order_by, page_token)
        )
        response = self._registry.SearchModelVersions(request)
        return Page(response.model_versions, response.next_page_token)

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> reg.ModelVersion:
        request = reg.TransitionModelVersionStageRequest(
            name=name,
            version=str(version),
            stage=stage,
            archive_existing_versions=archive_existing_versions,
        )
        return self._registry.TransitionModelVersionStage(request).model_version

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        request = reg.SetRegisteredModelAliasRequest(name=name, alias=alias, version=str(version))
        self._registry.SetRegisteredModelAlias(request)

    def get_model_version_by_alias(self, name: str, alias: str) -> reg.ModelVersion:
        request = reg.GetModelVersionByAliasRequest(name=name, alias=alias)
        return self._registry.GetModelVersionByAlias(request).model_version

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        request = reg.GetModelVersionDownloadUriRequest(name=name, version=str(version))
        return self._registry.GetModelVersionDownloadUri(request).artifact_uri


def _search_fields(
    filter_string: str | None,
    max_results: int | None,
    order_by: Iterable[str] | None,
    page_token: str | None,
) -> dict[str, Any]:
    """The fields both registry searches share, with None as the request's default."""
    return {
        "filter": filter_string or "",
        "max_results": max_results or 0,
        "order_by": list(order_by or ()),
        "page_token": page_token or "",
    }
