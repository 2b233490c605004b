"""The tracking server (or embedded store) that the experiments, runs and artifacts commands
talk to, and the helpers they share."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from trackwire import errors
from trackwire.cli.failures import CommandError
from trackwire.cli.output import OUTPUTS
from trackwire.cli.stores import DEFAULT_BACKEND_STORE_URI, require_existing_store
from trackwire.client import Page, TrackingClient

T = TypeVar("T")

VIEWS = ("active_only", "deleted_only", "all")


def add_tracking_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        help="grpc(s)://host:port, http(s)://host:port or sqlite:///path (default: "
        "$TRACKWIRE_TRACKING_URI, then $MLFLOW_TRACKING_URI, then sqlite:///trackwire.db)",
    )


def tracking_command(
    subcommands, name: str, run, help: str, aliases: tuple[str, ...] = ()
) -> argparse.ArgumentParser:
    """A command of a group (`runs list`) that talks to a tracking server; `run(args)` does it."""
    parser = subcommands.add_parser(name, help=help, aliases=list(aliases))
    add_tracking_flags(parser)
    parser.set_defaults(run=run)
    return parser


def add_output_flag(parser: argparse.ArgumentParser, default: str = "table") -> None:
    parser.add_argument("--output", choices=OUTPUTS, default=default, help="default: %(default)s")


def tracking_uri(args: argparse.Namespace) -> str:
    return (
        args.tracking_uri
        or os.environ.get("TRACKWIRE_TRACKING_URI")
        or os.environ.get("MLFLOW_TRACKING_URI")
        or DEFAULT_BACKEND_STORE_URI  # the embedded store, as for the Python client
    )


@contextmanager
def open_client(args: argparse.Namespace) -> Iterator[TrackingClient]:
    uri = tracking_uri(args)
    # Reading a mistyped SQLite path would create an empty store and show nothing in it.
    require_existing_store(uri)
    with TrackingClient(uri) as client:
        try:
            yield client
        except errors.Unavailable as e:
            raise CommandError(f"cannot reach the tracking server at {uri}: {e}") from None


def all_pages(fetch: Callable[[str | None], Page[T]], limit: int | None = None) -> Iterator[T]:
    """The items of every page `fetch(page_token)` returns, up to `limit` of them."""
    token = None
    count = 0
    while True:
        page = fetch(token)
        for item in page:
            if limit is not None and count >= limit:
                return
            yield item
            count += 1
        token = page.token
        if not token:
            return
