"""Transactions of the auth tables on the store's engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction (BEGIN IMMEDIATE on SQLite, like the store's writes)."""
    with engine.connect() as conn:
        conn.info["write"] = True
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        conn.info["write"] = False
        with conn.begin():
            yield conn
