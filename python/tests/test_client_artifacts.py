"""Artifacts through TrackingClient against a real server, over gRPC and HTTP: sizes, trees,
streaming memory, paths."""

from __future__ import annotations

import hashlib
import os
import resource
import uuid
from pathlib import Path

import pytest

from trackwire import errors
from trackwire.client import TrackingClient

MB = 1024 * 1024


@pytest.fixture(scope="module", params=["grpc", "http"])
def client(request, server):
    """The same tests over both wires: gRPC, and HTTP/JSON through the gateway."""
    uri = server.tracking_uri if request.param == "grpc" else server.http_url
    with TrackingClient(uri) as c:
        yield c


@pytest.fixture
def run_id(client):
    eid = client.create_experiment(f"art-{uuid.uuid4().hex}")
    return client.create_run(eid).info.run_id


def write_file(path: Path, size: int) -> str:
    """Writes `size` pseudo-random bytes in 1 MB pieces; returns their sha256."""
    digest = hashlib.sha256()
    seed = hashlib.sha256(path.name.encode()).digest()
    with open(path, "wb") as f:
        written = 0
        while written < size:
            block = (seed * (MB // len(seed)))[: min(MB, size - written)]
            seed = hashlib.sha256(seed).digest()
            f.write(block)
            digest.update(block)
            written += len(block)
    return digest.hexdigest()


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(MB):
            digest.update(block)
    return digest.hexdigest()


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


@pytest.mark.parametrize("size", [0, 1, 3 * MB, 3 * MB + 17])
def test_round_trip_sizes(client, run_id, tmp_path, size):
    source = tmp_path / "data.bin"
    digest = write_file(source, size)
    info = client.log_artifact(run_id, source, "blobs")
    assert (info.path, info.file_size) == ("blobs/data.bin", size)
    listed = client.list_artifacts(run_id, "blobs")
    assert [(f.path, f.is_dir, f.file_size) for f in listed] == [("blobs/data.bin", False, size)]
    local = client.download_artifacts(run_id, "blobs/data.bin", tmp_path / "out")
    assert Path(local) == tmp_path / "out" / "blobs" / "data.bin"
    assert sha256_of(local) == digest


def test_200_mb_file_is_streamed_both_ways(client, run_id, tmp_path):
    size = 200 * MB
    source = tmp_path / "big.bin"
    digest = write_file(source, size)
    before = max_rss_bytes()
    client.log_artifact(run_id, source)
    local = client.download_artifacts(run_id, "big.bin", tmp_path / "out")
    growth = max_rss_bytes() - before
    assert sha256_of(local) == digest
    # Holding the file would add at least 200 MB; chunks in flight add a few.
    assert growth < 64 * MB, f"peak RSS grew by {growth / MB:.0f} MB"


def test_directory_trees_upload_and_download(client, run_id, tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b.txt").write_text("bb")
    (tree / "sub" / "deeper" / "c.txt").write_text("ccc")
    (tree / "sub" / "empty.txt").write_bytes(b"")
    client.log_artifacts(run_id, tree, "model")

    root = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in root] == [("model", True)]
    listed = client.list_artifacts(run_id, "model/sub")
    assert sorted((f.path, f.is_dir) for f in listed) == [
        ("model/sub/b.txt", False),
        ("model/sub/deeper", True),
        ("model/sub/empty.txt", False),
    ]

    local = Path(client.download_artifacts(run_id, "model", tmp_path / "out"))
    assert local == tmp_path / "out" / "model"
    files = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    assert files == ["a.txt", "sub/b.txt", "sub/deeper/c.txt", "sub/empty.txt"]
    assert (local / "sub" / "deeper" / "c.txt").read_text() == "ccc"

    everything = Path(client.download_artifacts(run_id, "", tmp_path / "all"))
    assert (everything / "model" / "a.txt").read_text() == "a"


def test_delete_artifact(client, run_id, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    client.log_artifact(run_id, tmp_path / "x.txt", "dir")
    client.log_artifact(run_id, tmp_path / "x.txt")
    client.delete_artifact(run_id, "dir")
    assert [f.path for f in client.list_artifacts(run_id)] == ["x.txt"]


def test_path_escapes_are_refused(client, run_id, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(errors.InvalidArgument):
        client.log_artifact(run_id, tmp_path / "x.txt", "../..")
    with pytest.raises(errors.InvalidArgument):
        client.download_artifacts(run_id, "../../etc/passwd", tmp_path / "out")
    with pytest.raises(errors.InvalidArgument):
        client.list_artifacts(run_id, "/etc")


def test_missing_artifacts_and_bad_local_paths(client, run_id, tmp_path):
    with pytest.raises(errors.NotFound):
        client.download_artifacts(run_id, "nope.txt", tmp_path)
    assert not (tmp_path / "nope.txt").exists()
    with pytest.raises(errors.InvalidArgument, match="not a file"):
        client.log_artifact(run_id, tmp_path / "missing.bin")
    with pytest.raises(errors.InvalidArgument, match="not a directory"):
        client.log_artifacts(run_id, tmp_path / "missing-dir")
    assert os.listdir(tmp_path) == []
