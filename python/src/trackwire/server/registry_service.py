"""The model registry service: one method per RPC of ModelRegistryService.

Registered models and their versions, stages, tags, aliases and per-model grants, with
MLflow's REST shapes. Both wires call these methods, as they call the tracking service.
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse

from trackwire import limits, validation
from trackwire.errors import InvalidArgument, NotFound
from trackwire.server import sent_fields
from trackwire.server.auth.identity import current_identity
from trackwire.server.auth.permissions import permission_name
from trackwire.server.store.registry import Registry
from trackwire.server.store.tracking_store import TrackingStore
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import model_registry_service_pb2 as rpc

# The longest model id the store keeps (its column).
_MAX_MODEL_ID_LENGTH = 64
# MLflow's default and largest page sizes of the registry's searches.
_MODELS_PAGE = 100
_MAX_MODELS_PAGE = 1000
_VERSIONS_PAGE = 10_000
_MAX_VERSIONS_PAGE = 200_000
_RUNS_SCHEME = "runs:/"


def _name(request) -> str:
    return validation.require(request.name, "name")


def _version(request) -> str:
    return validation.require(request.version, "version")


def _caller() -> str:
    identity = current_identity.get()
    return identity.user if identity else ""


def _page_size(max_results: int, default: int, maximum: int) -> int:
    """The page size of a registry search, refused in MLflow's words: over the maximum by
    its check of the query parameter (a string), and a negative one by its store."""
    if max_results > maximum:
        raise InvalidArgument(validation.invalid_type("max_results", str(max_results)))
    if max_results < 0:
        raise InvalidArgument(
            f"Invalid value for request parameter max_results. It must be at most {maximum}, "
            f"but got value {max_results}"
        )
    return max_results or default


class ModelRegistryService:
    def __init__(self, store: TrackingStore, registry: Registry):
        self.store = store
        self.registry = registry

    # -- registered models -----------------------------------------------------------

    def CreateRegisteredModel(
        self, request: rpc.CreateRegisteredModelRequest
    ) -> rpc.CreateRegisteredModelResponse:
        name = _name(request)
        validation.value_length(name, "name", limits.MAX_KEY_LENGTH)
        for tag in request.tags:
            validation.registry_tag(tag.key, tag.value)
        validation.text(request.description, "description")
        model = self.registry.create_model(
            name, request.description, [(t.key, t.value) for t in request.tags], _caller()
        )
        return rpc.CreateRegisteredModelResponse(registered_model=model)

    def RenameRegisteredModel(
        self, request: rpc.RenameRegisteredModelRequest
    ) -> rpc.RenameRegisteredModelResponse:
        new_name = validation.require(request.new_name, "new_name")
        validation.value_length(new_name, "new_name", limits.MAX_KEY_LENGTH)
        model = self.registry.rename_model(_name(request), new_name)
        return rpc.RenameRegisteredModelResponse(registered_model=model)

    def UpdateRegisteredModel(
        self, request: rpc.UpdateRegisteredModelRequest
    ) -> rpc.UpdateRegisteredModelResponse:
        description = validation.text(request.description, "description")
        model = self.registry.update_model(_name(request), description)
        return rpc.UpdateRegisteredModelResponse(registered_model=model)

    def DeleteRegisteredModel(
        self, request: rpc.DeleteRegisteredModelRequest
    ) -> rpc.DeleteRegisteredModelResponse:
        self.registry.delete_model(_name(request))
        return rpc.DeleteRegisteredModelResponse()

    def GetRegisteredModel(
        self, request: rpc.GetRegisteredModelRequest
    ) -> rpc.GetRegisteredModelResponse:
        return rpc.GetRegisteredModelResponse(
            registered_model=self.registry.get_model(_name(request))
        )

    def SearchRegisteredModels(
        self, request: rpc.SearchRegisteredModelsRequest
    ) -> rpc.SearchRegisteredModelsResponse:
        size = _page_size(request.max_results, _MODELS_PAGE, _MAX_MODELS_PAGE)
        models, token = self.registry.search_models(
            request.filter, list(request.order_by), size, request.page_token
        )
        return rpc.SearchRegisteredModelsResponse(registered_models=models, next_page_token=token)

    def GetLatestVersions(
        self, request: rpc.GetLatestVersionsRequest
    ) -> rpc.GetLatestVersionsResponse:
        versions = self.registry.latest_versions(_name(request), list(request.stages))
        return rpc.GetLatestVersionsResponse(model_versions=versions)

    # -- versions --------------------------------------------------------------------

    def CreateModelVersion(
        self, request: rpc.CreateModelVersionRequest
    ) -> rpc.CreateModelVersionResponse:
        _name(request)
        validation.require(request.source, "source")
        _check_source(request.source, request.run_id, request.model_id)
        validation.text(request.description, "description")
        validation.text(request.run_link, "run_link")
        validation.value_length(request.model_id, "model_id", _MAX_MODEL_ID_LENGTH)
        for tag in request.tags:
            validation.registry_tag(tag.key, tag.value)
        if request.run_id:
            self.store.runs.info(request.run_id)  # NotFound for a run that does not exist
        version = self.registry.create_version(request, _caller())
        return rpc.CreateModelVersionResponse(model_version=version)

    def UpdateModelVersion(
        self, request: rpc.UpdateModelVersionRequest
    ) -> rpc.UpdateModelVersionResponse:
        description = validation.text(request.description, "description")
        version = self.registry.update_version(_name(request), _version(request), description)
        return rpc.UpdateModelVersionResponse(model_version=version)

    def TransitionModelVersionStage(
        self, request: rpc.TransitionModelVersionStageRequest
    ) -> rpc.TransitionModelVersionStageResponse:
        version = self.registry.transition_stage(
            _name(request),
            _version(request),
            validation.require(request.stage, "stage"),
            request.archive_existing_versions,
        )
        return rpc.TransitionModelVersionStageResponse(model_version=version)

    def DeleteModelVersion(
        self, request: rpc.DeleteModelVersionRequest
    ) -> rpc.DeleteModelVersionResponse:
        self.registry.delete_version(_name(request), _version(request))
        return rpc.DeleteModelVersionResponse()

    def GetModelVersion(self, request: rpc.GetModelVersionRequest) -> rpc.GetModelVersionResponse:
        version = self.registry.get_version(_name(request), _version(request))
        return rpc.GetModelVersionResponse(model_version=version)

    def SearchModelVersions(
        self, request: rpc.SearchModelVersionsRequest
    ) -> rpc.SearchModelVersionsResponse:
        sent_zero = request.max_results == 0 and sent_fields.sent("max_results")
        if request.max_results < 0 or sent_zero:
            raise InvalidArgument(
                "Invalid value for max_results. It must be a positive integer, but got "
                f"{request.max_results}"
            )
        size = _page_size(request.max_results, _VERSIONS_PAGE, _MAX_VERSIONS_PAGE)
        versions, token = self.registry.search_versions(
            request.filter, list(request.order_by), size, request.page_token
        )
        return rpc.SearchModelVersionsResponse(model_versions=versions, next_page_token=token)

    def GetModelVersionDownloadUri(
        self, request: rpc.GetModelVersionDownloadUriRequest
    ) -> rpc.GetModelVersionDownloadUriResponse:
        version = self.registry.get_version(_name(request), _version(request))
        return rpc.GetModelVersionDownloadUriResponse(
            artifact_uri=self._download_uri(version.source)
        )

    def _download_uri(self, source: str) -> str:
        """A `runs:/<run_id>/<path>` source resolves to the run's artifact location."""
        if not source.startswith(_RUNS_SCHEME):
            return source
        run_id, _, path = source[len(_RUNS_SCHEME) :].partition("/")
        try:
            artifact_uri = self.store.runs.info(run_id).artifact_uri
        except NotFound:
            return source
        return f"{artifact_uri}/{path}" if path else artifact_uri

    # -- tags and aliases ------------------------------------------------------------

    def SetRegisteredModelTag(
        self, request: rpc.SetRegisteredModelTagRequest
    ) -> rpc.SetRegisteredModelTagResponse:
        validation.registry_tag(request.key, request.value)
        self.registry.set_model_tag(_name(request), request.key, request.value)
        return rpc.SetRegisteredModelTagResponse()

    def SetModelVersionTag(
        self, request: rpc.SetModelVersionTagRequest
    ) -> rpc.SetModelVersionTagResponse:
        validation.registry_tag(request.key, request.value)
        self.registry.set_version_tag(_name(request), _version(request), request.key, request.value)
        return rpc.SetModelVersionTagResponse()

    def DeleteRegisteredModelTag(
        self, request: rpc.DeleteRegisteredModelTagRequest
    ) -> rpc.DeleteRegisteredModelTagResponse:
        key = validation.require(request.key, "key")
        self.registry.delete_model_tag(_name(request), key)
        return rpc.DeleteRegisteredModelTagResponse()

    def DeleteModelVersionTag(
        self, request: rpc.DeleteModelVersionTagRequest
    ) -> rpc.DeleteModelVersionTagResponse:
        key = validation.require(request.key, "key")
        self.registry.delete_version_tag(_name(request), _version(request), key)
        return rpc.DeleteModelVersionTagResponse()

    def SetRegisteredModelAlias(
        self, request: rpc.SetRegisteredModelAliasRequest
    ) -> rpc.SetRegisteredModelAliasResponse:
        alias = _alias(request.alias)
        self.registry.set_alias(_name(request), alias, _version(request))
        return rpc.SetRegisteredModelAliasResponse()

    def DeleteRegisteredModelAlias(
        self, request: rpc.DeleteRegisteredModelAliasRequest
    ) -> rpc.DeleteRegisteredModelAliasResponse:
        self.registry.delete_alias(_name(request), _alias(request.alias))
        return rpc.DeleteRegisteredModelAliasResponse()

    def GetModelVersionByAlias(
        self, request: rpc.GetModelVersionByAliasRequest
    ) -> rpc.GetModelVersionByAliasResponse:
        version = self.registry.version_by_alias(_name(request), _alias(request.alias))
        return rpc.GetModelVersionByAliasResponse(model_version=version)

    # -- grants ------------------------------------------------------------------------
    # Stored whether or not authentication is on, as experiment grants are.

    def CreateRegisteredModelPermission(
        self, request: rpc.CreateRegisteredModelPermissionRequest
    ) -> rpc.CreateRegisteredModelPermissionResponse:
        name, user = _name(request), validation.require(request.username, "username")
        self.registry.add_grant(name, user, permission_name(request.permission))
        return rpc.CreateRegisteredModelPermissionResponse(
            registered_model_permission=rpc.RegisteredModelPermission(
                name=name, username=user, permission=request.permission
            )
        )

    def GetRegisteredModelPermission(
        self, request: rpc.GetRegisteredModelPermissionRequest
    ) -> rpc.GetRegisteredModelPermissionResponse:
        name, user = _name(request), validation.require(request.username, "username")
        granted = self.registry.grant(name, user)
        if granted is None:
            raise NotFound(_no_grant(name, user))
        return rpc.GetRegisteredModelPermissionResponse(
            registered_model_permission=rpc.RegisteredModelPermission(
                name=name, username=user, permission=pb.Permission.Value("PERMISSION_" + granted)
            )
        )

    def UpdateRegisteredModelPermission(
        self, request: rpc.UpdateRegisteredModelPermissionRequest
    ) -> rpc.UpdateRegisteredModelPermissionResponse:
        name, user = _name(request), validation.require(request.username, "username")
        if not self.registry.change_grant(name, user, permission_name(request.permission)):
            raise NotFound(_no_grant(name, user))
        return rpc.UpdateRegisteredModelPermissionResponse()

    def DeleteRegisteredModelPermission(
        self, request: rpc.DeleteRegisteredModelPermissionRequest
    ) -> rpc.DeleteRegisteredModelPermissionResponse:
        name, user = _name(request), validation.require(request.username, "username")
        if not self.registry.remove_grant(name, user):
            raise NotFound(_no_grant(name, user))
        return rpc.DeleteRegisteredModelPermissionResponse()


_ALIAS_CHARS = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
# MLflow's longest alias.
_MAX_ALIAS_LENGTH = 255


def _alias(alias: str) -> str:
    """An alias checked in MLflow's order and words."""
    validation.require(alias, "alias")
    if not _ALIAS_CHARS.match(alias):
        raise InvalidArgument(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, "
            "underscores (_), and dashes (-)."
        )
    validation.value_length(alias, "Registered model alias name", _MAX_ALIAS_LENGTH)
    if alias.lower() == "latest":
        raise InvalidArgument("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS.match(alias):
        raise InvalidArgument(f"Version alias name '{alias}' is reserved.")
    return alias


def _check_source(source: str, run_id: str, model_id: str) -> None:
    """A `runs:/<run_id>/<path>` source must be of the version's run, as MLflow's server
    requires (in its words): `run_id` names the run holding the source, and a version of a
    logged model (`model_id`) has that model's location as source instead."""
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme != "runs":
        return
    unquoted = source
    while (once := urllib.parse.unquote_plus(unquoted)) != unquoted:
        unquoted = once
    path = re.sub(r"/+", "/", urllib.parse.urlparse(unquoted).path.rstrip("/"))
    if "\x00" in path or ".." in unquoted.split("/") or posixpath.normpath(path) != path:
        raise InvalidArgument(
            f"Invalid model version source: '{source}'. If supplying a source as an http, "
            "https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path "
            "must be provided without relative path references present. Please provide an "
            "absolute path."
        )
    if model_id:
        raise _source_elsewhere(source, "model_id")
    source_run_id = parsed.path[1:].split("/")[0] if parsed.path.startswith("/") else ""
    if not source_run_id:
        raise InvalidArgument(
            f"Not a proper runs:/ URI: {source}. Runs URIs must be of the form "
            "'runs:/<run_id>/run-relative/path/to/artifact'"
        )
    if parsed.netloc or source_run_id != run_id:
        raise _source_elsewhere(source, "run_id")


def _source_elsewhere(source: str, id_field: str) -> InvalidArgument:
    return InvalidArgument(
        f"Invalid model version source: '{source}'. The {id_field} request parameter must "
        "identify the resource that contains the source."
    )


def _no_grant(name: str, user: str) -> str:
    return f"No permission of user {user!r} on registered model {name!r} exists."
