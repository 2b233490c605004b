"""Statements of the store's hot path, run on the database driver's own cursor.

SQLAlchemy's execution machinery costs some 40 µs a statement; SQLite runs a metric write in
a few. The writes a training loop makes (log_batch and friends, create_run) therefore run
SQLAlchemy Core statements compiled once per dialect straight on the DBAPI cursor of their
write transaction (opened like every other one, by store/database.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from psycopg.errors import UniqueViolation
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement


class Compiled:
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

    def __init__(self, dbapi_connection, compile_cached: Callable[[ClauseElement], Compiled]):
        self._cursor = dbapi_connection.cursor()
        self._compile = compile_cached

    def begin_immediate(self) -> None:
        """SQLite: takes the database's write lock now rather than at the first write."""
        self._cursor.execute("BEGIN IMMEDIATE")

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
        bound = compiled.bind_rows(columns, rows)
        if len(bound) == 1:  # psycopg runs an executemany through a pipeline: dearer for one
            self._cursor.execute(compiled.sql, bound[0])
        else:
            self._cursor.executemany(compiled.sql, bound)
        return self._cursor.rowcount

    def copy_rows(
        self, table: str, columns: Sequence[str], types: Sequence[str], rows: Iterable[tuple]
    ) -> bool:
        """PostgreSQL: `rows` (values of `columns`, of the PostgreSQL `types`) into `table` by
        one binary COPY, which costs a third less than an INSERT of the same rows (no
        executor pass per row, heap pages written whole). False, and none of them in, when
        one would repeat a unique key: the transaction then goes back to a savepoint before
        its next statement."""
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        try:
            with self._cursor.copy(statement) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
        except UniqueViolation:
            return False
        return True


class StatementCache:
    """Hot-path statements compiled once for one dialect."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self._statements: dict[int, tuple[ClauseElement, Compiled]] = {}

    def __call__(self, statement: ClauseElement) -> Compiled:
        # Keyed by identity: hot-path statements are module or instance constants.
        entry = self._statements.get(id(statement))
        if entry is None or entry[0] is not statement:
            entry = (statement, Compiled(statement, self.dialect))
            self._statements[id(statement)] = entry
        return entry[1]
