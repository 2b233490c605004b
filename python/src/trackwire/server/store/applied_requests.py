"""The request ids of applied writes: a write retried after its answer was lost (a request id,
policy RETRY_WITH_REQUEST_ID) is recognised and applied once."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from trackwire.server.store import schema as t
from trackwire.server.store.database import Database
from trackwire.server.store.driver import DriverConnection
from trackwire.server.store.rows import now_millis

_RUN_OF = select(t.applied_requests.c.run_id).where(
    t.applied_requests.c.request_id == bindparam("request_id")
)


class AppliedRequests:
    def __init__(self, db: Database):
        self._claim = (
            db.insert(t.applied_requests)
            .values(
                request_id=bindparam("request_id"),
                run_id=bindparam("run_id"),
                applied_time=bindparam("applied_time"),
            )
            .on_conflict_do_nothing()  # no RETURNING: the row count says (see quotas.py)
        )

    def claim(self, conn: DriverConnection, request_id: str, run_id: str) -> bool:
        """Records the request, a write to `run_id`, in this transaction; False when it was
        applied before (or by a concurrent twin, which this one then waited for)."""
        claimed = conn.execute(
            self._claim,
            {"request_id": request_id, "run_id": run_id, "applied_time": now_millis()},
        ).rowcount
        return claimed == 1

    @staticmethod
    def run_of(conn: DriverConnection, request_id: str) -> str | None:
        """The run the request wrote to, when it was applied before."""
        applied = conn.execute(_RUN_OF, {"request_id": request_id}).fetchone()
        return applied[0] if applied is not None else None
