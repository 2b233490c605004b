"""`trackwire sync`: uploads the runs the Python client logged offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from trackwire.cli.output import working


def register(commands) -> None:
    sync = commands.add_parser("sync", help="upload the runs logged offline to the spool")
    sync.add_argument(
        "--spool-dir", help="the spool (default: $TRACKWIRE_SPOOL_DIR or ~/.trackwire/spool)"
    )
    sync.add_argument(
        "--tracking-uri", help="upload here instead of the server each run was logged for"
    )
    sync.set_defaults(run=upload_spool)


def upload_spool(args: argparse.Namespace) -> int:
    from trackwire.client import spool

    directory = Path(args.spool_dir) if args.spool_dir else spool.spool_dir()
    with working(f"uploading spooled runs from {directory}"):
        synced = spool.sync(directory, args.tracking_uri)
    for spooled, remote in synced:
        print(f"uploaded spooled run {spooled} as run {remote}")
    print(f"{len(synced)} spooled run(s) uploaded from {directory}")
    return 0
