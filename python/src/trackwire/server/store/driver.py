"""Write transactions run on the database driver's own connection: the store's hot path.

SQLAlchemy's execution machinery costs some 40 µs a statement and 45 µs a transaction;
SQLite runs a metric write in a few. The writes a training loop makes (log_batch and
friends, create_run) therefore run SQLAlchemy Core statements compiled once per dialect
straight on the DBAPI cursor, in transactions opened here.

On SQLite, every write transaction of the process (these and the store's SQLAlchemy
ones) first takes one in-process lock: the server's threads then queue on the lock and
are woken at once, rather than on SQLite's busy handler, which polls a locked database
with sleeps of 1 to 100 ms. Other processes on the same file still meet the busy handler.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, cast

from sqlalchemy import Engine, text
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_BEGIN_IMMEDIATE = text("BEGIN IMMEDIATE")


class _Compiled:
    """A statement's SQL in the driver's parameter style, and how to bind it."""

    __slots__ = ("sql", "positions", "defaults")

    def __init__(self, statement: ClauseElement, dialect: Dialect):
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("statements with expanding IN lists cannot be compiled once")
        self.sql = str(compiled)
        # qmark drivers (sqlite3) take tuples in this order of names; named ones take dicts.
        self.positions: list[str] | None = (
            list(compiled.positiontup or ()) if compiled.positional else None
        )
        # Values bound in the statement itself (literals such as lifecycle_stage == 'active').
        self.defaults: dict[str, Any] = {
            name: value for name, value in compiled.params.items() if value is not None
        }

    def bind(self, params: dict[str, Any]) -> tuple | dict:
        if self.defaults:
            params = {**self.defaults, **params}
        if self.positions is None:
            return params
        return tuple(params[name] for name in self.positions)

    def bind_rows(self, columns: Sequence[str], rows: Sequence[tuple]) -> Sequence[tuple | dict]:
        """Rows given as tuples in `columns` order, bound without building a dict per row
        when the driver is positional and the statement's order is the same."""
        if self.positions == list(columns) and not self.defaults:
            return rows
        return [self.bind(dict(zip(columns, row, strict=True))) for row in rows]


class DriverConnection:
    """A DBAPI connection inside a write transaction, running compiled Core statements."""

    def __init__(self, dbapi_connection, compile_cached):
        self._cursor = dbapi_connection.cursor()
        self._compile = compile_cached

    def execute(self, statement: ClauseElement, params: dict[str, Any] | None = None):
        """Runs `statement`; returns the DBAPI cursor (fetchone/fetchall give tuples)."""
        compiled = self._compile(statement)
        self._cursor.execute(compiled.sql, compiled.bind(params or {}))
        return self._cursor

    def executemany(
        self, statement: ClauseElement, columns: Sequence[str], rows: Sequence[tuple]
    ) -> int:
        """Runs `statement` once per row; each row holds the values of `columns` in order.
        Returns the number of rows the statement changed in all."""
        if not rows:
            return 0
        compiled = self._compile(statement)
        self._cursor.executemany(compiled.sql, compiled.bind_rows(columns, rows))
        return self._cursor.rowcount


class DriverWrites:
    """Opens write transactions on driver connections from the engine's pool."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        # SQLite's one writer at a time, queued on in this process (None on PostgreSQL).
        # Re-entrant so that a nested write by mistake fails on SQLite's busy timeout
        # rather than hanging forever.
        self.serial_lock = threading.RLock() if self._sqlite else None
        self.lock = self.serial_lock or nullcontext()
        self._statements: dict[int, tuple[ClauseElement, _Compiled]] = {}

    def _compiled(self, statement: ClauseElement) -> _Compiled:
        # Keyed by identity: hot-path statements are module or instance constants.
        entry = self._statements.get(id(statement))
        if entry is None or entry[0] is not statement:
            entry = (statement, _Compiled(statement, self.engine.dialect))
            self._statements[id(statement)] = entry
        return entry[1]

    @contextmanager
    def transaction(self) -> Iterator[DriverConnection]:
        """A write transaction, committed when the block ends and rolled back on an error."""
        # The pool checkout happens before the lock: the lock is held only for SQL.
        dbapi_connection = self.engine.raw_connection()
        try:
            conn = DriverConnection(dbapi_connection, self._compiled)
            with self.lock:
                if self._sqlite:
                    conn.execute(_BEGIN_IMMEDIATE)  # the write lock now, not at the first write
                try:
                    yield conn
                except BaseException:
                    dbapi_connection.rollback()
                    raise
                dbapi_connection.commit()
        finally:
            dbapi_connection.close()  # back to the pool
