"""The one place transactions on the store are opened: `Database.read()`, `Database.write()`,
and `Database.write_statements()` for the hot path's writes.

Every write transaction of the process takes one in-process lock on SQLite: the server's
threads then queue on the lock and are woken at once, rather than on SQLite's busy handler,
which polls a locked database with sleeps of 1 to 100 ms (other processes on the same file
still meet the busy handler). The lock is taken after the pool checkout, so it is held for
SQL only. PostgreSQL has no such lock: its writers serialise on row locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

from trackwire.server.store.driver import DriverConnection, StatementCache


class Database:
    """The store's engine, its write lock and its compiled hot-path statements."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        # The dialect's INSERT, which has ON CONFLICT (both dialects spell it the same way).
        self.insert = cast(
            Callable[[Table], Any],
            {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[self.dialect],
        )
        # SQLite's one writer at a time, queued on in this process (None on PostgreSQL).
        # Re-entrant so that a nested write by mistake fails on SQLite's busy timeout
        # rather than hanging forever. The wires read it to run quick writes inline.
        self.write_lock = threading.RLock() if self.dialect == "sqlite" else None
        self._lock: AbstractContextManager = self.write_lock or nullcontext()
        self._compiled = StatementCache(engine.dialect)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one snapshot of the store."""
        with self.engine.connect() as conn:
            conn.info["write"] = False
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite, under the process write lock),
        committed when the block ends and rolled back on an error."""
        with self.engine.connect() as conn:
            conn.info["write"] = True
            with self._lock, conn.begin():
                yield conn

    @contextmanager
    def write_statements(self) -> Iterator[DriverConnection]:
        """A write transaction like `write()`'s (the same lock, BEGIN IMMEDIATE on SQLite),
        run on the driver's own connection with the hot path's compiled statements: a
        SQLAlchemy Connection's checkout, begin and commit machinery would cost a quarter
        of a small write."""
        dbapi_connection = self.engine.raw_connection()  # checked out before the lock
        try:
            conn = DriverConnection(dbapi_connection, self._compiled)
            with self._lock:
                if self.dialect == "sqlite":  # PostgreSQL's driver begins implicitly
                    conn.begin_immediate()
                try:
                    yield conn
                except BaseException:
                    dbapi_connection.rollback()
                    raise
                dbapi_connection.commit()
        finally:
            dbapi_connection.close()  # back to the pool
