"""Access tokens as stored: a digest per token, never the token (see server/auth/tokens.py)."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import select, update

from trackwire.server.store import schema as t
from trackwire.server.store.database import Database
from trackwire.server.store.rows import now_millis

_c = t.access_tokens.c


class TokenRecord(NamedTuple):
    token_id: str
    user: str
    scope: str
    created_time: int
    revoked_time: int | None


class TokenTable:
    def __init__(self, db: Database):
        self.db = db

    def add(self, token_id: str, digest: str, user: str, scope: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                t.access_tokens.insert().values(
                    token_id=token_id,
                    token_hash=digest,
                    user_name=user,
                    scope=scope,
                    created_time=now_millis(),
                )
            )

    def revoke(self, token_id: str) -> bool:
        """Whether an active token with that id was revoked."""
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    update(t.access_tokens)
                    .where(_c.token_id == token_id, _c.revoked_time.is_(None))
                    .values(revoked_time=now_millis())
                ).rowcount
            )

    def all(self) -> list[TokenRecord]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    _c.token_id, _c.user_name, _c.scope, _c.created_time, _c.revoked_time
                ).order_by(_c.created_time, _c.token_id)
            ).all()
        return [TokenRecord(*row) for row in rows]

    def active(self, digest: str) -> Any:
        """(token_id, user_name, scope) of the active token with that digest, or None."""
        with self.db.read() as conn:
            return conn.execute(
                select(_c.token_id, _c.user_name, _c.scope).where(
                    _c.token_hash == digest, _c.revoked_time.is_(None)
                )
            ).first()
