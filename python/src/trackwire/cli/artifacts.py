"""`trackwire artifacts list|download|upload` (MLflow's `mlflow artifacts` flag names), with
progress bars for transfers."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from trackwire.cli.failures import CommandError
from trackwire.cli.output import print_table, transfer_progress
from trackwire.cli.tracking import open_client, tracking_command
from trackwire.client import TrackingClient
from trackwire.errors import NotFound
from trackwire.v1 import entities_pb2 as ent


def register(commands) -> None:
    artifacts = commands.add_parser("artifacts", help="list, download and upload run artifacts")
    subcommands = artifacts.add_subparsers(dest="artifacts_command", required=True)

    listing = tracking_command(subcommands, "list", list_artifacts, "a run's artifacts")
    download = tracking_command(
        subcommands, "download", download_artifacts, "download a run's file or directory"
    )
    for command in (listing, download):
        _run_and_path_flags(command)
    listing.add_argument("--output", choices=("table", "json"), default="table")
    download.add_argument(
        "--dst-path", "-d", default=".", help="local directory to download into (default: .)"
    )

    upload = tracking_command(
        subcommands,
        "upload",
        upload_artifacts,
        "upload a file or a directory tree to a run",
        aliases=("log-artifact", "log-artifacts"),
    )
    upload.add_argument("--run-id", "-r", required=True)
    local = upload.add_mutually_exclusive_group(required=True)
    local.add_argument("--local-file", "-l", help="a file to upload")
    local.add_argument("--local-dir", help="a directory whose files to upload, keeping its layout")
    upload.add_argument(
        "--artifact-path", "-a", help="directory of the run's artifacts to upload into"
    )


def _run_and_path_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-id", "-r", help="the run")
    parser.add_argument(
        "--artifact-path", "-a", default="", help="a path in the run's artifacts (default: all)"
    )
    parser.add_argument(
        "--artifact-uri", "-u", help="runs:/<run_id>/<path>, instead of --run-id/--artifact-path"
    )


def _run_and_path(args: argparse.Namespace) -> tuple[str, str]:
    if args.artifact_uri:
        if args.run_id:
            raise CommandError("give either --artifact-uri or --run-id, not both")
        parsed = urlparse(args.artifact_uri)
        run_id, _, path = parsed.path.strip("/").partition("/")
        if parsed.scheme != "runs" or not run_id:
            raise CommandError(
                f"--artifact-uri {args.artifact_uri!r}: expected runs:/<run_id>/<path>"
            )
        return run_id, path
    if not args.run_id:
        raise CommandError("give --run-id (or --artifact-uri runs:/<run_id>/<path>)")
    return args.run_id, args.artifact_path.strip("/")


def list_artifacts(args: argparse.Namespace) -> int:
    run_id, path = _run_and_path(args)
    with open_client(args) as client:
        files = client.list_artifacts(run_id, path or None)
    if args.output == "json":
        entries = [
            {"path": f.path, "is_dir": f.is_dir, "file_size": _size(f) if not f.is_dir else None}
            for f in files
        ]
        print(json.dumps(entries, indent=2))
    else:
        print_table(
            ("PATH", "SIZE"),
            ((f.path + "/" if f.is_dir else f.path, None if f.is_dir else _size(f)) for f in files),
        )
    return 0


def _size(file: ent.FileInfo) -> int:
    return file.file_size if file.HasField("file_size") else 0


def download_artifacts(args: argparse.Namespace) -> int:
    run_id, path = _run_and_path(args)
    destination = Path(args.dst_path)
    if destination.exists() and not destination.is_dir():
        raise CommandError(f"--dst-path {args.dst_path!r} is a file, not a directory")
    with open_client(args) as client:
        files = list(_files_under(client, run_id, path))
        with transfer_progress() as progress:
            task = progress.add_task("downloading", total=sum(_size(f) for f in files))
            for file in files:
                progress.update(task, description=file.path)
                client.download_artifacts(run_id, file.path, destination)
                progress.advance(task, _size(file))
            progress.update(task, description=f"downloaded {len(files)} file(s)")
    print(destination.resolve() / path if path else destination.resolve())
    return 0


def _files_under(client: TrackingClient, run_id: str, path: str) -> Iterator[ent.FileInfo]:
    """The files at `path` in a run's artifacts: the file itself, or every file of the
    directory tree."""
    if path:
        parent = str(PurePosixPath(path).parent)
        siblings = client.list_artifacts(run_id, None if parent == "." else parent)
        entry = next((f for f in siblings if f.path == path), None)
        if entry is None:
            raise NotFound(f"run {run_id} has no artifact {path!r}")
        if not entry.is_dir:
            yield entry
            return
    yield from _tree(client, run_id, path)


def _tree(client: TrackingClient, run_id: str, directory: str) -> Iterator[ent.FileInfo]:
    for entry in client.list_artifacts(run_id, directory or None):
        if entry.is_dir:
            yield from _tree(client, run_id, entry.path)
        else:
            yield entry


def upload_artifacts(args: argparse.Namespace) -> int:
    if args.local_file:
        root = Path(args.local_file)
        if not root.is_file():
            raise CommandError(f"--local-file {args.local_file!r} is not a file")
        files = [root]
        base = root.parent
    else:
        base = Path(args.local_dir)
        if not base.is_dir():
            raise CommandError(f"--local-dir {args.local_dir!r} is not a directory")
        files = sorted(Path(folder, name) for folder, _, names in os.walk(base) for name in names)
    with open_client(args) as client, transfer_progress() as progress:
        task = progress.add_task("uploading", total=sum(f.stat().st_size for f in files))
        for file in files:
            # The file's folder relative to what was named, under --artifact-path.
            folders = (args.artifact_path or "", file.parent.relative_to(base).as_posix())
            directory = "/".join(f.strip("/") for f in folders if f.strip("/") not in ("", "."))
            progress.update(task, description=str(file))
            client.log_artifact(args.run_id, file, directory or None)
            progress.advance(task, file.stat().st_size)
        progress.update(task, description=f"uploaded {len(files)} file(s)")
    print(f"{len(files)} file(s) uploaded to run {args.run_id}")
    return 0
