"""MLflow's `mlflow.artifacts` functions: download, list and load a run's artifacts by URI.

URIs: `runs:/<run_id>/<path>`, the artifact URIs runs carry (`mlflow-artifacts:/<experiment>/
<run_id>/artifacts/<path>`), or a local path.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from trackwire import errors, fluent
from trackwire.client import TrackingClient
from trackwire.entities import FileInfo


def _run_and_path(artifact_uri: str) -> tuple[str, str] | None:
    """(run_id, path in the run) of a run artifact URI; None for a local path."""
    parsed = urlparse(artifact_uri)
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.scheme == "runs":
        if not parts:
            raise errors.InvalidArgument(f"{artifact_uri!r} names no run: runs:/<run_id>/<path>")
        return parts[0], "/".join(parts[1:])
    if parsed.scheme == "mlflow-artifacts":
        if len(parts) < 3 or parts[2] != "artifacts":
            raise errors.InvalidArgument(
                f"{artifact_uri!r} is not inside a run: "
                "mlflow-artifacts:/<experiment_id>/<run_id>/artifacts/<path>"
            )
        return parts[1], "/".join(parts[3:])
    if parsed.scheme in ("", "file"):
        return None
    raise errors.InvalidArgument(f"unsupported artifact URI scheme {parsed.scheme!r}")


def _client(tracking_uri: str | None) -> TrackingClient:
    return TrackingClient(tracking_uri) if tracking_uri else fluent._get_client()


def _target(
    artifact_uri: str | None, run_id: str | None, artifact_path: str | None
) -> tuple[str, str] | None:
    if (artifact_uri is None) == (run_id is None):
        raise errors.InvalidArgument("give exactly one of artifact_uri and run_id")
    if artifact_uri is not None:
        if artifact_path is not None:
            raise errors.InvalidArgument("artifact_path goes with run_id, not artifact_uri")
        return _run_and_path(artifact_uri)
    assert run_id is not None
    return run_id, (artifact_path or "").strip("/")


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Downloads a file or directory; returns its local path."""
    target = _target(artifact_uri, run_id, artifact_path)
    if target is None:
        assert artifact_uri is not None
        return urlparse(artifact_uri).path if artifact_uri.startswith("file:") else artifact_uri
    destination = dst_path or tempfile.mkdtemp(prefix="trackwire-")
    return _client(tracking_uri).download_artifacts(target[0], target[1], destination)


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    target = _target(artifact_uri, run_id, artifact_path)
    if target is None:
        raise errors.InvalidArgument("list_artifacts lists a run's artifacts, not a local path")
    files = _client(tracking_uri).list_artifacts(target[0], target[1] or None)
    return [FileInfo.from_proto(f) for f in files]


def _read(artifact_uri: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="trackwire-") as tmp:
        local = download_artifacts(artifact_uri, dst_path=tmp)
        if os.path.isdir(local):
            raise errors.InvalidArgument(f"{artifact_uri!r} is a directory, not a file")
        return Path(local).read_bytes()


def load_text(artifact_uri: str) -> str:
    try:
        return _read(artifact_uri).decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidArgument(f"{artifact_uri!r} is not UTF-8 text") from None


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """A JSON or YAML artifact as a dict."""
    text = load_text(artifact_uri)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        import yaml

        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError:
            loaded = None
        if not isinstance(loaded, dict):
            raise errors.InvalidArgument(f"{artifact_uri!r} is neither JSON nor YAML") from None
        return loaded


def load_image(artifact_uri: str):
    """An image artifact as a PIL image."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(_read(artifact_uri)))
    image.load()
    return image
