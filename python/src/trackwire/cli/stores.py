"""Flags and checks shared by the commands that open a backend store or an artifacts
destination themselves (server, gc, tokens, db): a mistyped path fails with one line instead
of creating an empty store or failing at the first upload."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from urllib.parse import urlparse

from trackwire.cli.failures import CommandError

DEFAULT_BACKEND_STORE_URI = "sqlite:///trackwire.db"
DEFAULT_ARTIFACTS_DESTINATION = "./trackwire-artifacts"


def add_store_flags(parser: argparse.ArgumentParser, artifacts: bool = True) -> None:
    parser.add_argument(
        "--backend-store-uri",
        default=DEFAULT_BACKEND_STORE_URI,
        help="sqlite:///path or postgresql://... (default: %(default)s)",
    )
    if artifacts:
        parser.add_argument(
            "--artifacts-destination",
            default=DEFAULT_ARTIFACTS_DESTINATION,
            help="directory or s3://bucket/prefix for artifacts (default: %(default)s)",
        )


def without_password(uri: str) -> str:
    """A store URI fit to print: its password replaced by ***."""
    parsed = urlparse(uri)
    if parsed.password is None:
        return uri
    return parsed._replace(
        netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    ).geturl()


def sqlite_path(uri: str) -> Path | None:
    """The file of a `sqlite:///path` URI; None for other URIs and in-memory databases."""
    if not uri.startswith("sqlite:"):
        return None
    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def require_existing_store(uri: str) -> None:
    """Refuses a SQLite URI whose file does not exist: opening it would create an empty
    store and report success on it."""
    path = sqlite_path(uri)
    if path is not None and not path.exists():
        raise CommandError(
            f"no store at {path} ({uri}): check the path, or create a store there with "
            f"`trackwire db upgrade --create {uri}`"
        )


def check_artifacts_destination(destination: str) -> None:
    """Refuses a local destination that is a file, lies under a file, or cannot be written;
    the directory itself is created by the first upload."""
    parsed = urlparse(destination)
    if parsed.scheme not in ("", "file"):
        return  # object stores are checked by their first request
    path = Path(parsed.path if parsed.scheme == "file" else destination).absolute()
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(
            f"artifacts destination {destination!r} is unusable: {existing} is a file, "
            "not a directory"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(
            f"artifacts destination {destination!r} is unusable: {existing} is not writable"
        )
