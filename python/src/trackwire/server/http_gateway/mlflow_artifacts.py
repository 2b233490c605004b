"""MLflow's artifact proxy API (`mlflow-artifacts:` URIs), served by the artifact service.

Runs have artifact URIs `mlflow-artifacts:/<experiment_id>/<run_id>/artifacts`, logged models
`mlflow-artifacts:/<experiment_id>/models/<model_id>/artifacts`; MLflow clients turn them into
`/api/2.0/mlflow-artifacts/artifacts/<same path>/<relative path>`. The proxy maps such a path
onto the UploadArtifact / DownloadArtifact / ListArtifacts / DeleteArtifact RPCs (run id or
model id + relative path), so artifacts have one implementation, with its path checks and
permissions. The experiment segment is not consulted: the run or model id alone names it.
"""

from __future__ import annotations

import mimetypes
import posixpath

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trackwire.errors import InvalidArgument
from trackwire.server.http_gateway import transcode
from trackwire.server.http_gateway.streams import request_chunks, stream_response
from trackwire.v1 import artifact_service_pb2 as pb

ROOT = "/api/2.0/mlflow-artifacts/artifacts"
_EMPTY = b"{}"


def _target(artifact_path: str) -> dict[str, str]:
    """`<experiment_id>/<run_id>/artifacts[/<relative>]` -> {run_id, path}, and
    `<experiment_id>/models/<model_id>/artifacts[/<relative>]` -> {model_id, path}: the
    fields of the artifact RPCs that name the file. The service checks the relative path."""
    parts = artifact_path.strip("/").split("/", 4)
    if len(parts) >= 4 and parts[1] == "models" and parts[2] and parts[3] == "artifacts":
        return {"model_id": parts[2], "path": parts[4] if len(parts) == 5 else ""}
    parts = artifact_path.strip("/").split("/", 3)
    if len(parts) < 3 or parts[2] != "artifacts" or not parts[1]:
        raise InvalidArgument(
            f"Artifact path {artifact_path!r} is not inside a run or a logged model: trackwire "
            "serves '<experiment_id>/<run_id>/artifacts/<path>' (a run's artifact_uri) and "
            "'<experiment_id>/models/<model_id>/artifacts/<path>' (a logged model's)"
        )
    return {"run_id": parts[1], "path": parts[3] if len(parts) == 4 else ""}


def mlflow_artifact_routes(artifacts) -> list[Route]:
    """Routes of the proxy API over an ArtifactService implementation."""

    async def list_files(request: Request) -> Response:
        target = _target(request.query_params.get("path", ""))
        listing = await anyio.to_thread.run_sync(
            artifacts.ListArtifacts, pb.ListArtifactsRequest(**target)
        )
        # MLflow's proxy lists base names; its client joins them to the requested path.
        files = []
        for info in listing.files:
            entry = {"path": posixpath.basename(info.path), "is_dir": info.is_dir}
            if info.HasField("file_size"):
                entry["file_size"] = info.file_size
            files.append(entry)
        return Response(
            transcode.dumps({"files": files} if files else {}), media_type="application/json"
        )

    async def download(request: Request) -> Response:
        target = _target(request.path_params["artifact_path"])
        media_type = mimetypes.guess_type(target["path"])[0] or "application/octet-stream"
        message = pb.DownloadArtifactRequest(**target)
        return await stream_response(
            lambda: artifacts.DownloadArtifact(message), lambda r: r.data, media_type
        )

    async def upload(request: Request) -> Response:
        target = _target(request.path_params["artifact_path"])
        head = pb.UploadArtifactRequest(
            run_id=target.get("run_id", ""),
            model_id=target.get("model_id", ""),
            path=target["path"],
        )
        messages = request_chunks(request, head, lambda chunk: pb.UploadArtifactRequest(data=chunk))
        await anyio.to_thread.run_sync(artifacts.UploadArtifact, messages)
        return Response(_EMPTY, media_type="application/json")

    async def delete(request: Request) -> Response:
        message = pb.DeleteArtifactRequest(**_target(request.path_params["artifact_path"]))
        await anyio.to_thread.run_sync(artifacts.DeleteArtifact, message)
        return Response(_EMPTY, media_type="application/json")

    routes = []
    for root in (ROOT, ROOT.replace("/api/", "/ajax-api/", 1)):
        file_path = root + "/{artifact_path:path}"
        routes += [
            Route(root, list_files, methods=["GET"]),
            Route(file_path, download, methods=["GET"]),
            Route(file_path, upload, methods=["PUT"]),
            Route(file_path, delete, methods=["DELETE"]),
        ]
    return routes
