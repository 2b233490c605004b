"""Where artifacts live: artifact URIs of experiments and runs, and their repositories.

Experiments created without an explicit location get `mlflow-artifacts:/<id>`, as
MLflow's server does with --artifacts-destination: clients reach the files through
the server, which keeps them under the destination (a local directory or
s3://bucket/prefix). Explicit locations may be local paths, file:// or s3:// URIs.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from urllib.parse import urlparse

from trackwire.errors import InvalidArgument
from trackwire.server.artifacts.local import LocalArtifactRepository
from trackwire.server.artifacts.s3 import S3ArtifactRepository, s3_client

PROXY_SCHEME = "mlflow-artifacts"


class ArtifactLocations:
    def __init__(self, destination: str):
        self.destination = destination.rstrip("/") if "://" in destination else destination
        if self._storage(self.destination) is None:
            raise InvalidArgument(
                f"Unsupported --artifacts-destination {destination!r}: use a local directory, "
                "a file:// URI or s3://bucket/prefix."
            )

    @cached_property
    def _s3(self):
        return s3_client()

    def default_experiment_location(self, experiment_id: str) -> str:
        return f"{PROXY_SCHEME}:/{experiment_id}"

    def check_experiment_location(self, location: str) -> None:
        """Refuses locations this server could not store to."""
        if self._storage(location) is None:
            raise InvalidArgument(
                f"Unsupported artifact_location {location!r}: use an absolute local path, "
                f"a file:// or s3:// URI, or leave it empty for {PROXY_SCHEME}:/<experiment_id>."
            )

    def repository(self, artifact_uri: str) -> LocalArtifactRepository | S3ArtifactRepository:
        storage = self._storage(artifact_uri)
        if storage is None:
            raise InvalidArgument(f"Unsupported artifact URI {artifact_uri!r}.")
        return storage

    def _storage(self, uri: str):
        parsed = urlparse(uri)
        if parsed.scheme == PROXY_SCHEME:
            relative = parsed.path.strip("/")
            if ".." in relative.split("/"):
                return None
            base = self.destination
            return self._storage(
                f"{base}/{relative}" if "://" in base else str(Path(base) / relative)
            )
        if parsed.scheme == "s3":
            if not parsed.netloc:
                return None
            return S3ArtifactRepository(self._s3, parsed.netloc, parsed.path)
        if parsed.scheme == "file":
            return LocalArtifactRepository(Path(parsed.path))
        if parsed.scheme == "" and uri:
            return LocalArtifactRepository(Path(uri))
        return None
