"""The rows most reads and writes start from: a run or an experiment by id, checked to
exist (NotFound) and, for writes, to be active."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from trackwire.errors import InvalidArgument, NotFound
from trackwire.server.store import schema as t
from trackwire.server.store.rows import ACTIVE

_RUN_BY_ID = select(t.runs).where(t.runs.c.run_id == bindparam("run_id"))
_EXPERIMENT_STAGE = select(t.experiments.c.lifecycle_stage).where(
    t.experiments.c.experiment_id == bindparam("experiment_id")
)
# The largest value of a BIGINT column.
_MAX_ID = 2**63 - 1


def experiment_key(experiment_id: str) -> int:
    """The stored key of an experiment id: NotFound for one that is not a number, and
    InvalidArgument for a number no experiment id can be (beyond a 64-bit key)."""
    try:
        key = int(experiment_id)
    except (TypeError, ValueError):
        raise NotFound(f"No Experiment with id={experiment_id!r} exists.") from None
    if not -_MAX_ID <= key <= _MAX_ID:
        raise InvalidArgument(
            f"Invalid experiment id {experiment_id!r}: experiment ids are 64-bit integers."
        )
    return key


def run_not_found(run_id: str) -> NotFound:
    return NotFound(f"Run with id={run_id} not found")


def require_active(run_id: str, lifecycle_stage: str) -> None:
    if lifecycle_stage != ACTIVE:
        raise InvalidArgument(
            f"The run {run_id} must be in the 'active' state. Current state is {lifecycle_stage}."
        )


def run_row(conn: Connection, run_id: str) -> Any:
    row = conn.execute(_RUN_BY_ID, {"run_id": run_id}).first()
    if row is None:
        raise run_not_found(run_id)
    return row


def active_run(conn: Connection, run_id: str) -> Any:
    row = run_row(conn, run_id)
    require_active(run_id, row.lifecycle_stage)
    return row


def experiment_stage(conn: Connection, experiment_id: int) -> str:
    """The lifecycle stage of an experiment that exists."""
    stage = conn.execute(_EXPERIMENT_STAGE, {"experiment_id": experiment_id}).scalar()
    if stage is None:
        raise NotFound(f"No Experiment with id={experiment_id} exists.")
    return stage
