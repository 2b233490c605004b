"""Who is calling: set by the wire that authenticated the call, read by the guard."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

READ, WRITE, ADMIN = "read", "write", "admin"
SCOPES = (READ, WRITE, ADMIN)


@dataclass(frozen=True)
class Identity:
    user: str
    scope: str
    token_id: str

    @property
    def can_write(self) -> bool:
        return self.scope in (WRITE, ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.scope == ADMIN


# Set per call in the call's own task, by the gRPC handler or the HTTP middleware; each wire
# copies the context into the worker threads it calls services in.
current_identity: contextvars.ContextVar[Identity | None] = contextvars.ContextVar(
    "trackwire_identity", default=None
)
