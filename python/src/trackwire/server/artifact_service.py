"""The artifact service: the files of a run or of a logged model, streamed in chunks both
ways."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from trackwire import limits, validation
from trackwire.errors import InvalidArgument
from trackwire.server.artifacts.locations import ArtifactLocations
from trackwire.server.artifacts.paths import clean_relative_path
from trackwire.server.store.rows import ACTIVE
from trackwire.server.store.tracking_store import TrackingStore
from trackwire.v1 import artifact_service_pb2 as rpc


class ArtifactService:
    def __init__(self, store: TrackingStore, locations: ArtifactLocations):
        self.store = store
        self.locations = locations

    def _repository(self, run_id: str, model_id: str, *, for_write: bool):
        """The artifact root URI and repository of the run, or of the model when no run is
        named."""
        if model_id and not run_id:
            model = self.store.logged_models.get(validation.text(model_id, "model_id")).info
            return model.artifact_uri, self.locations.repository(model.artifact_uri)
        info = self.store.runs.info(validation.require(run_id, "run_id"))
        if for_write and info.lifecycle_stage != ACTIVE:
            raise InvalidArgument(
                f"The run {run_id} must be in the 'active' state. "
                f"Current state is {info.lifecycle_stage}."
            )
        return info.artifact_uri, self.locations.repository(info.artifact_uri)

    def ListArtifacts(self, request: rpc.ListArtifactsRequest) -> rpc.ListArtifactsResponse:
        path = clean_relative_path(request.path, allow_root=True)
        root_uri, repository = self._repository(
            request.run_id or request.run_uuid, request.model_id, for_write=False
        )
        return rpc.ListArtifactsResponse(root_uri=root_uri, files=repository.list(path))

    def UploadArtifact(
        self, request_iterator: Iterable[rpc.UploadArtifactRequest]
    ) -> rpc.UploadArtifactResponse:
        requests = iter(request_iterator)
        header = next(requests, None)
        if header is None:
            raise InvalidArgument("An upload must start with a message naming run_id and path.")
        path = clean_relative_path(header.path, allow_root=False)
        _, repository = self._repository(header.run_id, header.model_id, for_write=True)

        def chunks() -> Iterator[bytes]:
            if header.data:
                yield header.data
            for request in requests:
                if request.run_id or request.model_id or request.path:
                    raise InvalidArgument("Only the first message of an upload names the file.")
                yield request.data

        return rpc.UploadArtifactResponse(file_info=repository.write(path, chunks()))

    def DownloadArtifact(
        self, request: rpc.DownloadArtifactRequest
    ) -> Iterator[rpc.DownloadArtifactResponse]:
        path = clean_relative_path(request.path, allow_root=False)
        _, repository = self._repository(request.run_id, request.model_id, for_write=False)
        # Opening happens here, so a missing file fails before the stream starts.
        chunks = repository.read(path, limits.ARTIFACT_CHUNK_SIZE)
        return (rpc.DownloadArtifactResponse(data=chunk) for chunk in chunks)

    def DeleteArtifact(self, request: rpc.DeleteArtifactRequest) -> rpc.DeleteArtifactResponse:
        path = clean_relative_path(request.path, allow_root=False)
        _, repository = self._repository(request.run_id, request.model_id, for_write=True)
        repository.delete(path)
        return rpc.DeleteArtifactResponse()
