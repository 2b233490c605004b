"""`trackwire db upgrade`: creates or upgrades a store's schema in place."""

from __future__ import annotations

import argparse
import logging
from contextlib import contextmanager

from rich.progress import Progress

from trackwire.cli.output import working
from trackwire.cli.stores import require_existing_store, without_password

# Alembic announces each migration it applies on this logger, at INFO.
_MIGRATION_LOGGER = "alembic.runtime.migration"


def register(commands) -> None:
    db = commands.add_parser("db", help="manage the backend store")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade the schema in place")
    upgrade.add_argument("uri", help="backend store URI")
    upgrade.add_argument(
        "--create",
        action="store_true",
        help="create the SQLite file when it does not exist (without it, a missing file is "
        "an error: a mistyped path would otherwise get a new, empty store)",
    )
    upgrade.set_defaults(run=upgrade_store)


def upgrade_store(args: argparse.Namespace) -> int:
    from trackwire.server.store.engine import create_store_engine, upgrade_schema

    if not args.create:
        require_existing_store(args.uri)
    engine = create_store_engine(args.uri)
    try:
        with working("upgrading the schema") as progress, _migrations_shown(progress) as applied:
            upgrade_schema(engine)
    finally:
        engine.dispose()
    done = f"{len(applied)} migration(s) applied" if applied else "nothing to do"
    print(f"schema of {without_password(args.uri)} is up to date ({done})")
    return 0


class _MigrationProgress(logging.Handler):
    def __init__(self, progress: Progress):
        super().__init__(logging.INFO)
        self.progress = progress
        self.applied: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running upgrade"):
            self.applied.append(message)
            description = f"migration {len(self.applied)}: {message.removeprefix('Running ')}"
        elif self.applied:  # a long migration's own progress (e.g. 0008's runs summarised)
            description = f"migration {len(self.applied)}: {message}"
        else:
            return
        self.progress.update(self.progress.task_ids[0], description=description)


@contextmanager
def _migrations_shown(progress: Progress):
    """Shows each migration as the spinner's description; yields the list of those applied."""
    logger = logging.getLogger(_MIGRATION_LOGGER)
    handler = _MigrationProgress(progress)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield handler.applied
    finally:
        logger.removeHandler(handler)
        logger.level, logger.propagate = saved
