"""Which OPTIONAL fields a REST request sent, for the call that serves it.

protobuf reads a number left out and a number sent as 0 alike, where MLflow's server refuses
some zeros it is sent (a search's `max_results`) and serves the default when the field is left
out. Those fields carry `(google.api.field_behavior) = OPTIONAL` in the schema; the gateway
records which of them a request named, and the service asks. gRPC cannot tell, so on that
wire none is recorded and 0 is the default.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextvars import ContextVar
from typing import Any

_sent: ContextVar[Collection[str]] = ContextVar("sent_optional_fields", default=())


def sent(field: str) -> bool:
    """Whether the request being served named this OPTIONAL field."""
    return field in _sent.get()


def calling(fn: Callable[[Any], Any], request: Any, fields: Collection[str]) -> Any:
    """`fn(request)` with `fields` recorded as the OPTIONAL fields the request named."""
    if not fields:
        return fn(request)
    token = _sent.set(fields)
    try:
        return fn(request)
    finally:
        _sent.reset(token)
