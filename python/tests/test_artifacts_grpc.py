"""The artifact service over gRPC: streaming, listing, deletion, and hostile paths."""

from __future__ import annotations

import os

import grpc
import pytest

from trackwire import limits
from trackwire.v1 import artifact_service_pb2 as art
from trackwire.v1 import artifact_service_pb2_grpc, tracking_service_pb2_grpc
from trackwire.v1 import tracking_service_pb2 as rpc


@pytest.fixture(params=["local", "s3"])
def artifact_server(request):
    """Each test runs against local-disk artifacts and against an S3 bucket."""
    return request.getfixturevalue("server" if request.param == "local" else "s3_server")


@pytest.fixture
def stubs(artifact_server):
    with grpc.insecure_channel(artifact_server.grpc_target) as channel:
        yield (
            tracking_service_pb2_grpc.TrackingServiceStub(channel),
            artifact_service_pb2_grpc.ArtifactServiceStub(channel),
        )


@pytest.fixture
def artifacts(stubs):
    return stubs[1]


@pytest.fixture
def run_id(stubs) -> str:
    return stubs[0].CreateRun(rpc.CreateRunRequest()).run.info.run_id


def _upload(artifacts, run_id, path, data: bytes):
    chunk = limits.ARTIFACT_CHUNK_SIZE
    messages = [art.UploadArtifactRequest(run_id=run_id, path=path)]
    messages += [
        art.UploadArtifactRequest(data=data[i : i + chunk]) for i in range(0, len(data), chunk)
    ]
    return artifacts.UploadArtifact(iter(messages))


def _download(artifacts, run_id, path) -> bytes:
    stream = artifacts.DownloadArtifact(art.DownloadArtifactRequest(run_id=run_id, path=path))
    return b"".join(message.data for message in stream)


@pytest.mark.parametrize("size", [0, 3 * 1024 * 1024 + 17, 20 * 1024 * 1024 + 5])
def test_upload_download_round_trip(artifacts, run_id, size):
    data = os.urandom(size)
    info = _upload(artifacts, run_id, "dir/blob.bin", data).file_info
    assert (info.path, info.file_size) == ("dir/blob.bin", size)
    assert _download(artifacts, run_id, "dir/blob.bin") == data


def test_list_and_delete(artifacts, run_id):
    _upload(artifacts, run_id, "a.txt", b"a")
    _upload(artifacts, run_id, "sub/b.txt", b"bb")
    root = artifacts.ListArtifacts(art.ListArtifactsRequest(run_id=run_id))
    assert root.root_uri.endswith(f"/{run_id}/artifacts")
    assert [(f.path, f.is_dir) for f in root.files] == [("a.txt", False), ("sub", True)]
    sub = artifacts.ListArtifacts(art.ListArtifactsRequest(run_id=run_id, path="sub")).files
    assert [(f.path, f.file_size) for f in sub] == [("sub/b.txt", 2)]
    artifacts.DeleteArtifact(art.DeleteArtifactRequest(run_id=run_id, path="sub"))
    root = artifacts.ListArtifacts(art.ListArtifactsRequest(run_id=run_id))
    assert [f.path for f in root.files] == ["a.txt"]


@pytest.mark.parametrize(
    "path",
    ["../escape.txt", "/etc/passwd", "a/../../b", "nul\x00byte", "a\\b", "", "a" * 256]
    + ["/".join(["d" * 200] * 6)],
)
def test_hostile_paths_refused(artifacts, run_id, path):
    with pytest.raises(grpc.RpcError) as info:
        _upload(artifacts, run_id, path, b"x")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        _download(artifacts, run_id, path)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_symlink_escape_refused(artifact_server, artifacts, run_id, tmp_path):
    if artifact_server.artifacts_destination.startswith("s3://"):
        pytest.skip("object stores have no symlinks")
    server = artifact_server
    _upload(artifacts, run_id, "inside.txt", b"x")
    run_root = next(server.artifacts.glob(f"*/{run_id}/artifacts"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (run_root / "link").symlink_to(outside)
    for call in (
        lambda: _download(artifacts, run_id, "link/secret.txt"),
        lambda: _upload(artifacts, run_id, "link/new.txt", b"x"),
    ):
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert not (outside / "new.txt").exists()


def test_missing_artifact_and_run(artifacts, run_id):
    with pytest.raises(grpc.RpcError) as info:
        _download(artifacts, run_id, "nothing-here.txt")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as info:
        artifacts.ListArtifacts(art.ListArtifactsRequest(run_id="f" * 32))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
