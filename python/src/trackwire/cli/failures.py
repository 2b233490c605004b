"""Expected failures of a command, told in one line instead of a traceback."""

from __future__ import annotations

import re
import sys

from trackwire.errors import TrackwireError


class CommandError(Exception):
    """A failure the command diagnosed itself; its message is the whole story."""


def one_line(error: BaseException) -> str | None:
    """The line that explains an expected failure, or None for a bug (which keeps its
    traceback)."""
    if isinstance(error, CommandError | TrackwireError | OSError):
        return _first_line(str(error))
    if _is_database_error(error):
        cause = getattr(error, "orig", None) or error
        return f"database error: {_first_line(str(cause))}"
    if _is_schema_too_new(error):
        return str(error)
    if isinstance(error, ModuleNotFoundError):
        return (
            f"missing module {error.name!r}: the server, the embedded store and the store "
            "commands need the server extra (pip install 'trackwire[server]')"
        )
    if isinstance(error, ImportError) and "pip install" in str(error):
        return str(error)  # an optional extra is missing; the message says which
    return None


def _first_line(text: str) -> str:
    # Database drivers add hints and SQL on further lines; neither belongs in one line.
    return re.sub(r"\s+", " ", text.strip().splitlines()[0]) if text.strip() else "failed"


def _is_database_error(error: BaseException) -> bool:
    # Looked up rather than imported: a client-only install has no SQLAlchemy, and then no
    # error can come from it.
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    return sqlalchemy_errors is not None and isinstance(error, sqlalchemy_errors.SQLAlchemyError)


def _is_schema_too_new(error: BaseException) -> bool:
    engine = sys.modules.get("trackwire.server.store.engine")
    return engine is not None and isinstance(error, engine.SchemaTooNew)
