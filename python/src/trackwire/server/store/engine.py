"""Engines for the backend store URI, and schema upgrades through Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text

from trackwire.errors import InvalidArgument

_MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaTooNew(RuntimeError):
    """The database was upgraded by a newer trackwire than this one."""


def create_store_engine(uri: str, fsync_commits: bool = False) -> Engine:
    """An engine for `sqlite:///path` or `postgresql://...`, tuned for the store.

    SQLite runs in WAL mode with synchronous=NORMAL: a commit survives a crash of the
    process, but the last commits can be lost to an OS crash or power loss.
    `fsync_commits` syncs every commit to disk (synchronous=FULL), surviving those too,
    at a cost per commit. PostgreSQL's durability is its own (synchronous_commit).
    """
    if uri.startswith("sqlite:"):
        return _sqlite_engine(uri, fsync_commits)
    if uri.startswith(("postgresql:", "postgresql+psycopg:", "postgres:")):
        uri = uri.replace("postgres://", "postgresql://", 1)
        if uri.startswith("postgresql://"):
            uri = "postgresql+psycopg://" + uri[len("postgresql://") :]
        return create_engine(uri, pool_size=10, max_overflow=20, pool_pre_ping=True)
    raise InvalidArgument(
        f"Unsupported backend store URI {uri!r}: use sqlite:///path or postgresql://..."
    )


def _sqlite_engine(uri: str, fsync_commits: bool) -> Engine:
    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Pooled connections: closing the last connection to a WAL database checkpoints
    # and syncs it, which would cost milliseconds per request. WAL lets readers run
    # beside the single writer.
    engine = create_engine(
        uri, pool_size=8, max_overflow=32, connect_args={"check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record):
        # Manage transactions ourselves (BEGIN IMMEDIATE for writes) rather than
        # pysqlite's implicit ones.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={'FULL' if fsync_commits else 'NORMAL'}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # On the driver's connection: SQLAlchemy's execution would cost more than the BEGIN.
        dbapi_connection = conn.connection.dbapi_connection
        dbapi_connection.execute("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

    return engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


# Any constant shared by every trackwire process: the advisory lock that serialises
# schema upgrades when several replicas start at once on one PostgreSQL database.
_UPGRADE_LOCK_ID = 0x7472_6B77


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Creates or upgrades the schema to `revision` (the newest this version knows).

    Safe when several processes start together: the upgrade runs in one write
    transaction (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), and
    Alembic reads the current revision inside it.
    """
    config = alembic_config()
    scripts = ScriptDirectory.from_config(config)
    known = {script.revision for script in scripts.walk_revisions()}
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current is not None and current not in known:
        raise SchemaTooNew(
            f"The database schema is at revision {current!r}, newer than this trackwire "
            f"knows (newest: {scripts.get_current_head()!r}). Upgrade trackwire before "
            "serving this database."
        )
    target = scripts.get_current_head() if revision == "head" else revision
    if current == target:
        return
    with engine.connect() as connection:
        connection.info["write"] = True
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _UPGRADE_LOCK_ID}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
