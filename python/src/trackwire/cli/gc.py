"""`trackwire gc`: purges deleted runs, logged models and experiments for good."""

from __future__ import annotations

import argparse

from trackwire.cli.output import working
from trackwire.cli.stores import (
    add_store_flags,
    check_artifacts_destination,
    require_existing_store,
)


def register(commands) -> None:
    gc = commands.add_parser(
        "gc", help="purge deleted runs, logged models and experiments, artifacts included"
    )
    gc.add_argument(
        "--older-than",
        help="only those deleted at least this long ago, e.g. 30d, 12h, 1d6h (default: all)",
    )
    add_store_flags(gc)
    gc.set_defaults(run=collect)


def collect(args: argparse.Namespace) -> int:
    from trackwire.server.garbage_collection import collect_garbage, parse_age

    older_than = parse_age(args.older_than) if args.older_than else 0
    require_existing_store(args.backend_store_uri)
    check_artifacts_destination(args.artifacts_destination)
    with working("purging deleted runs, logged models and experiments"):
        report = collect_garbage(args.backend_store_uri, args.artifacts_destination, older_than)
    print(
        f"purged {report.runs} runs, {report.logged_models} logged models and "
        f"{report.experiments} experiments"
    )
    return 0
