"""Where each wire runs a call: on its event loop, or in a worker thread.

SQLite writes one transaction at a time (the store's write lock, store/driver.py). A quick
write whose lock is free therefore runs right on the wire's event loop: a worker thread
would add its hop and GIL handoffs (a third of a small write's time) and no parallelism.
Any other call, or a quick write that would wait for the lock, runs in a worker thread, and
so does everything on PostgreSQL, which has no such lock. (Another process writing the same
SQLite file, e.g. `trackwire gc`, can still hold a loop up to SQLite's busy timeout.)
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.descriptor import MethodDescriptor

from trackwire.rpc_policy import policy_of


def inline_lock(
    method: MethodDescriptor, write_lock: threading.RLock | None
) -> threading.RLock | None:
    """The lock under which the RPC may run on the event loop; None: always a worker thread.
    Quick writes (the schema's `quick_write`) write at most one request's worth, bounded by
    the limits, in one short transaction (a stream: each of its requests)."""
    return write_lock if policy_of(method).quick_write else None


async def run(
    lock: threading.RLock | None,
    fn: Callable[[Any], Any],
    request: Any,
    in_thread: Callable[..., Awaitable[Any]],
) -> Any:
    """`fn(request)` on the event loop when `lock` is free, else through `in_thread(fn,
    request)` (the wire's way to a worker thread)."""
    if lock is not None and lock.acquire(blocking=False):
        try:
            return fn(request)
        finally:
            lock.release()
    return await in_thread(fn, request)
