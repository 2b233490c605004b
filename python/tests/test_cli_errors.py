"""Mistakes and outages get one line on standard error and a non-zero exit, never a
traceback, and nothing is created on the way."""

from __future__ import annotations

import socket

import pytest
from cli_process import failed_with_one_line, ok, trackwire
from ports import free_port


def _closed_port() -> int:
    """A loopback port nobody listens on: connections to it are refused at once."""
    return free_port()


def _server(*args: str, cwd) -> str:
    """Starts `trackwire server` with fresh ports unless given; the line it failed with."""
    ports = [] if "--grpc-port" in args else ["--grpc-port", str(free_port())]
    if "--http-port" not in args and "--port" not in args:
        ports += ["--http-port", str(free_port())]
    return failed_with_one_line(trackwire("server", *args, *ports, cwd=cwd, timeout=60))


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_invalid_port_is_refused(port, tmp_path):
    for flag in ("--grpc-port", "--http-port", "--port"):
        result = trackwire("server", flag, port, cwd=tmp_path)
        line = failed_with_one_line(result, code=2)
        assert port in line and "port" in line
    assert list(tmp_path.iterdir()) == []  # no store was created


def test_one_port_for_both_wires_is_refused(tmp_path):
    port = str(free_port())
    line = _server("--grpc-port", port, "--http-port", port, cwd=tmp_path)
    assert f"both {port}" in line


@pytest.mark.parametrize("flag, wire", [("--grpc-port", "gRPC"), ("--http-port", "HTTP")])
def test_port_in_use_is_one_line(flag, wire, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _server(flag, str(port), cwd=tmp_path)
    assert line == f"trackwire: cannot listen for {wire} on 127.0.0.1:{port}: the port is in use"


def test_unknown_host_is_one_line(tmp_path):
    line = _server("--host", "no-such-host.invalid", cwd=tmp_path)
    assert "cannot listen for gRPC on no-such-host.invalid" in line


@pytest.mark.parametrize(
    "command",
    [
        ["server", "--backend-store-uri"],
        ["db", "upgrade"],
        ["gc", "--backend-store-uri"],
        ["tokens", "list", "--backend-store-uri"],
        ["tokens", "create", "--user", "ada", "--backend-store-uri"],
    ],
)
def test_unreachable_postgresql_is_one_line(command, tmp_path):
    uri = f"postgresql://tracking:s3cret@127.0.0.1:{_closed_port()}/tracking"
    if command[0] == "server":
        line = _server(*command[1:], uri, cwd=tmp_path)
    else:
        line = failed_with_one_line(trackwire(*command, uri, cwd=tmp_path))
    assert line.startswith("trackwire: database error:") and "refused" in line
    assert "s3cret" not in line


@pytest.mark.parametrize("command", ["server", "gc"])
def test_artifacts_destination_that_is_a_file_is_refused(command, tmp_path):
    ok("db", "upgrade", "--create", f"sqlite:///{tmp_path / 'trackwire.db'}")
    (tmp_path / "a-file").write_text("not a directory")
    for destination in ("a-file", "a-file/below"):
        if command == "server":
            line = _server("--artifacts-destination", destination, cwd=tmp_path)
        else:
            result = trackwire(command, "--artifacts-destination", destination, cwd=tmp_path)
            line = failed_with_one_line(result)
        assert f"artifacts destination {destination!r} is unusable" in line
        assert "a-file is a file, not a directory" in line


@pytest.mark.parametrize(
    "command",
    [
        ["gc"],
        ["tokens", "list"],
        ["tokens", "create", "--user", "ada"],
        ["tokens", "revoke", "0123456789abcdef"],
    ],
)
def test_store_commands_refuse_a_missing_sqlite_file(command, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mistyped.db'}"
    line = failed_with_one_line(trackwire(*command, "--backend-store-uri", uri, cwd=tmp_path))
    assert f"no store at {tmp_path / 'mistyped.db'}" in line
    assert f"trackwire db upgrade --create {uri}" in line
    assert not (tmp_path / "mistyped.db").exists()


def test_tracking_commands_refuse_a_missing_sqlite_file(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mistyped.db'}"
    for command in (["experiments", "list"], ["runs", "list", "-x", "0"]):
        result = trackwire(*command, env={"TRACKWIRE_TRACKING_URI": uri}, cwd=tmp_path)
        assert "no store at" in failed_with_one_line(result)
    assert not (tmp_path / "mistyped.db").exists()


def test_db_upgrade_creates_only_when_told(tmp_path):
    uri = f"sqlite:///{tmp_path / 'new.db'}"
    assert "no store at" in failed_with_one_line(trackwire("db", "upgrade", uri))
    assert not (tmp_path / "new.db").exists()
    assert "up to date" in ok("db", "upgrade", "--create", uri)
    assert "nothing to do" in ok("db", "upgrade", uri)
    assert ok("tokens", "list", "--backend-store-uri", uri).split() == [
        "ID",
        "USER",
        "SCOPE",
        "CREATED",
        "REVOKED",
    ]


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_unreachable_tracking_server_is_one_line(scheme):
    uri = f"{scheme}://127.0.0.1:{_closed_port()}"
    result = trackwire("experiments", "list", "--tracking-uri", uri)
    assert f"cannot reach the tracking server at {uri}" in failed_with_one_line(result)


def test_download_into_a_file_is_refused(server, tmp_path):
    (tmp_path / "a-file").write_text("x")
    result = trackwire(
        "artifacts", "download", "-r", "0" * 32, "--dst-path", str(tmp_path / "a-file"),
        env={"TRACKWIRE_TRACKING_URI": server.tracking_uri},
    )  # fmt: skip
    assert "is a file, not a directory" in failed_with_one_line(result)


def test_usage_mistake_is_one_line():
    result = trackwire("runs", "list")
    line = failed_with_one_line(result, code=2)
    assert "--experiment-id" in line and "trackwire runs list --help" in line
