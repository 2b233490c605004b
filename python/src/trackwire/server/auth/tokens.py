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

from trackwire.errors import InvalidArgument, NotFound, Unauthenticated
from trackwire.server.auth.identity import SCOPES, Identity
from trackwire.server.store.database import Database
from trackwire.server.store.tokens import TokenRecord, TokenTable

TOKEN_PREFIX = "tw_"
CACHE_SECONDS = 5.0
_CACHE_ENTRIES = 10_000


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    def __init__(self, db: Database, cache_seconds: float = CACHE_SECONDS):
        self.table = TokenTable(db)
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
        self.table.add(token_id, token_digest(token), user, scope)
        return token_id, token

    def revoke(self, token_id: str) -> None:
        if not self.table.revoke(token_id):
            raise NotFound(f"No active token with id {token_id!r}.")

    def list(self) -> list[TokenRecord]:
        return self.table.all()

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
        row = self.table.active(digest)
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
