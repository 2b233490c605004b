"""Unexpected failures: what the caller is told, and what the server's log keeps.

A genuine internal error says only that it happened, with an incident id: its details (an
exception may quote SQL and the values bound to it) go to the server's log beside that id.
"""

from __future__ import annotations

import logging
import secrets

from trackwire.errors import InternalError

log = logging.getLogger(__name__)


def internal_error(where: str, exc: BaseException) -> InternalError:
    """Logs `exc` with a new incident id; the error to answer instead of it."""
    incident = secrets.token_hex(6)
    log.error("internal error %s in %s", incident, where, exc_info=exc)
    return InternalError(f"Internal error (incident {incident}); the server's log has the details.")
