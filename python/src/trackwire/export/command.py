"""`trackwire export ...`: the command line of the exports (their libraries load on use)."""

from __future__ import annotations

import argparse
import sys


def register(commands: argparse._SubParsersAction) -> None:
    """Adds `trackwire export delta` to the CLI's subcommands."""
    export = commands.add_parser("export", help="export runs to other storage formats")
    formats = export.add_subparsers(dest="export_format", required=True)
    delta = formats.add_parser(
        "delta",
        help="runs and metric histories as Delta Lake tables; reruns write only what changed",
        description="Writes PATH/runs and PATH/metric_history, partitioned by experiment. "
        "A rerun writes only the runs that changed since the last export, never a row twice.",
    )
    delta.add_argument(
        "--experiment",
        action="append",
        required=True,
        metavar="ID_OR_NAME",
        help="an experiment id, else name (repeat for several)",
    )
    delta.add_argument("--to", required=True, metavar="PATH", help="directory of the tables")
    delta.add_argument("--tracking-uri", help="default: $TRACKWIRE_TRACKING_URI")
    delta.set_defaults(run=_export_delta)


def _export_delta(args: argparse.Namespace) -> int:
    try:
        from trackwire.export.delta import export_delta_by_id_or_name
    except ImportError as e:
        print(f"trackwire: {e}", file=sys.stderr)
        return 1
    report = export_delta_by_id_or_name(args.to, args.experiment, args.tracking_uri)
    print(report.summary())
    return 0
