"""Where artifacts live: artifact URIs of experiments and runs, and their repositories.

Experiments created without an explicit location get `mlflow-artifacts:/<id>`, as
MLflow's server does with --artifacts-destination: clients reach the files
through the server, which keeps them under the destination.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from trackwire.errors import InvalidArgument
from trackwire.server.artifacts.local import LocalArtifactRepository

PROXY_SCHEME = "mlflow-artifacts"


class ArtifactLocations:
    def __init__(self, destination: str):
        if urlparse(destination).scheme not in ("", "file"):
            raise InvalidArgument(
                f"Unsupported --artifacts-destination {destination!r}: use a local directory."
            )
        self.destination = Path(urlparse(destination).path if "://" in destination else destination)

    def default_experiment_location(self, experiment_id: str) -> str:
        return f"{PROXY_SCHEME}:/{experiment_id}"

    def check_experiment_location(self, location: str) -> None:
        """Refuses locations this server could not store to."""
        if self._local_path(location) is None:
            raise InvalidArgument(
                f"Unsupported artifact_location {location!r}: use an absolute local path, "
                f"a file:// URI, or leave it empty for {PROXY_SCHEME}:/<experiment_id>."
            )

    def repository(self, artifact_uri: str) -> LocalArtifactRepository:
        path = self._local_path(artifact_uri)
        if path is None:
            raise InvalidArgument(f"Unsupported artifact URI {artifact_uri!r}.")
        return LocalArtifactRepository(path)

    def _local_path(self, uri: str) -> Path | None:
        parsed = urlparse(uri)
        if parsed.scheme == PROXY_SCHEME:
            relative = parsed.path.lstrip("/")
            if ".." in relative.split("/"):
                return None
            return self.destination / relative
        if parsed.scheme == "file":
            return Path(parsed.path)
        if parsed.scheme == "" and uri.startswith("/"):
            return Path(uri)
        return None
