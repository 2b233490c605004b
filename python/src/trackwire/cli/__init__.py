"""The `trackwire` command line.

Each command group is a module of this package with a `register(commands)` function that
adds its parser(s) and sets `run`, the function that carries the command out; to add a
group, write its module and list it in COMMAND_GROUPS.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from trackwire import __version__
from trackwire.cli import artifacts, db, experiments, gc, runs, server, sync, tokens
from trackwire.cli.failures import one_line
from trackwire.export import command as export

COMMAND_GROUPS = (server, experiments, runs, artifacts, sync, gc, db, tokens, export)


class _Parser(argparse.ArgumentParser):
    """Usage mistakes in one line (argparse's default repeats the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="trackwire", description="Experiment tracking, wire-compatible with MLflow."
    )
    parser.add_argument("--version", action="version", version=f"trackwire {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per migration is noise
    args = build_parser().parse_args(argv)
    # MLflow's variable serves when trackwire's own is not set, as for the tracking URI.
    if not os.environ.get("TRACKWIRE_TOKEN") and os.environ.get("MLFLOW_TRACKING_TOKEN"):
        os.environ["TRACKWIRE_TOKEN"] = os.environ["MLFLOW_TRACKING_TOKEN"]
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - expected failures get one line, bugs a traceback
        line = one_line(error)
        if line is None:
            raise
        print(f"trackwire: {line}", file=sys.stderr)
        return 1
