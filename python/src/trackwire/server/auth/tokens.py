"""Access tokens: created and revoked by `trackwire tokens`, verified on every call.

Only a SHA-256 digest of each token is stored. A token is 256 random bits, so unlike a
password it cannot be guessed from a dictionary: a fast, unsalted digest is as safe as a slow
password hash here, and it can be looked up by an index in one query. Verified tokens are
cached for a few seconds, so the hot path costs no query, and a revocation reaches every
replica within that time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from trackwire.errors import InvalidArgument, NotFound, Unauthenticated
from trackwire.server.auth.db import read_transaction, write_transaction
from trackwire.server.auth.identity import SCOPES, Identity
from trackwire.server.store import schema as t

TOKEN_PREFIX = "tw_"
CACHE_SECONDS = 5.0
_CACHE_ENTRIES = 10_000


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenRecord:
    token_id: str
    user: str
    scope: str
    created_time: int
    revoked_time: int | None


class TokenStore:
    def __init__(self, engine: Engine, cache_seconds: float = CACHE_SECONDS):
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Identity | None]] = {}
        self._lock = threading.Lock()

    def create(self, user: str, scope: str) -> tuple[str, str]:
        """A new token for `user`: (token id, the token itself, shown only this once)."""
        if not user:
            raise InvalidArgument("A token needs a user name (--user).")
        if scope not in SCOPES:
            raise InvalidArgument(f"Unknown scope {scope!r}: use one of {', '.join(SCOPES)}.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(8)
        with write_transaction(self.engine) as conn:
            conn.execute(
                t.access_tokens.insert().values(
                    token_id=token_id,
                    token_hash=token_digest(token),
                    user_name=user,
                    scope=scope,
                    created_time=_now_millis(),
                )
            )
        return token_id, token

    def revoke(self, token_id: str) -> None:
        with write_transaction(self.engine) as conn:
            revoked = conn.execute(
                update(t.access_tokens)
                .where(
                    t.access_tokens.c.token_id == token_id,
                    t.access_tokens.c.revoked_time.is_(None),
                )
                .values(revoked_time=_now_millis())
            ).rowcount
        if not revoked:
            raise NotFound(f"No active token with id {token_id!r}.")

    def list(self) -> list[TokenRecord]:
        c = t.access_tokens.c
        with read_transaction(self.engine) as conn:
            rows = conn.execute(
                select(c.token_id, c.user_name, c.scope, c.created_time, c.revoked_time).order_by(
                    c.created_time, c.token_id
                )
            ).all()
        return [TokenRecord(*row) for row in rows]

    def verify(self, token: str) -> Identity:
        """The identity of a valid token, or Unauthenticated."""
        digest = token_digest(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            identity = cached[1]
        else:
            identity = self._lookup(digest)
            with self._lock:
                if len(self._cache) >= _CACHE_ENTRIES:
                    self._cache.clear()
                self._cache[digest] = (now + self.cache_seconds, identity)
        if identity is None:
            raise Unauthenticated("Invalid or revoked access token.")
        return identity

    def cached(self, authorization: str | None) -> Identity | None:
        """The identity of a bearer token verified moments ago, without touching the store
        (lets the HTTP gateway skip a thread hop on the hot path)."""
        if not authorization or not authorization[:7].lower() == "bearer ":
            return None
        cached = self._cache.get(token_digest(authorization[7:].strip()))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        return None

    def _lookup(self, digest: str) -> Identity | None:
        c = t.access_tokens.c
        with read_transaction(self.engine) as conn:
            row = conn.execute(
                select(c.token_id, c.user_name, c.scope).where(
                    c.token_hash == digest, c.revoked_time.is_(None)
                )
            ).first()
        return (
            None
            if row is None
            else Identity(user=row.user_name, scope=row.scope, token_id=row.token_id)
        )

    def authenticate(self, authorization: str | None) -> Identity:
        """The identity of an `Authorization` header value: `Bearer <token>`, or HTTP Basic
        with the token as password (what MLflow clients send with a username/password)."""
        if not authorization:
            raise Unauthenticated(
                "Authentication required: send 'Authorization: Bearer <token>' "
                "(TRACKWIRE_TOKEN or MLFLOW_TRACKING_TOKEN in clients)."
            )
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            return self.verify(credentials)
        if scheme.lower() == "basic" and credentials:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthenticated("Malformed HTTP Basic credentials.") from None
            return self.verify(decoded.partition(":")[2])
        raise Unauthenticated("Unsupported Authorization header: use 'Bearer <token>'.")


def _now_millis() -> int:
    return int(time.time() * 1000)
