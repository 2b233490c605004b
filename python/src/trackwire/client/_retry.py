"""When the client sends a call again, for every transport.

Which RPCs may be sent again is the schema's `(trackwire.v1.policy)` retry option; this module
decides how often and how long to wait. A write whose policy is RETRY_WITH_REQUEST_ID gets an
idempotency key (`request_id`) before its first attempt, and every attempt sends that very
request: the server applies a key once, so a write whose answer was lost is stored once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from google.protobuf.descriptor import MethodDescriptor

from trackwire import errors
from trackwire.rpc_policy import SERVICES, Retry, policy_of, retry_safe

T = TypeVar("T")

# Short first waits for a blip, then one attempt every half second for about 10 s in all,
# enough to ride through a server restart. The cap keeps recovery fast: once the server is
# back, the next attempt comes within half a second.
RETRY_DELAYS_SECONDS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4) + (0.5,) * 19

_no_retries: ContextVar[bool] = ContextVar("trackwire_no_retries", default=False)


@contextmanager
def single_attempt() -> Iterator[None]:
    """Calls made inside (by this thread) are tried once: for a caller with a fallback of its
    own, such as the fluent API's journal, that would rather not wait on a server that is
    down."""
    token = _no_retries.set(True)
    try:
        yield
    finally:
        _no_retries.reset(token)


def retried_rpcs() -> list[str]:
    """The names of the RPCs this client sends again after UNAVAILABLE, sorted."""
    return sorted(m.name for service in SERVICES for m in service.methods if retry_safe(m))


def keyed(method: MethodDescriptor) -> bool:
    """Whether the RPC's requests carry an idempotency key that the client sets."""
    return policy_of(method).retry == Retry.RETRY_WITH_REQUEST_ID


def give_request_id(request: Any) -> None:
    """Sets the request's idempotency key unless the caller chose one (e.g. a resumed sync)."""
    if not request.request_id:
        request.request_id = uuid.uuid4().hex


def retrying(attempt: Callable[[], T], retry: bool) -> T:
    """The result of `attempt`, called again after each `errors.Unavailable` while `retry`
    and the delays allow; any other error is raised at once."""
    delays = iter(RETRY_DELAYS_SECONDS if retry and not _no_retries.get() else ())
    while True:
        try:
            return attempt()
        except errors.Unavailable:
            delay = next(delays, None)
            if delay is None:
                raise
            time.sleep(delay)
