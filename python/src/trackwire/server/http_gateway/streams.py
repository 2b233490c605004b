"""Bridges between Starlette's async bodies and the services' synchronous iterators.

The services are synchronous (they run in worker threads, like gRPC's thread pool). Uploads
hand the service an iterator that pulls the request body from the event loop chunk by chunk;
downloads pull the service's iterator from a worker thread chunk by chunk. Neither side holds
more than a chunk or two in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
from anyio import from_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope

from trackwire import limits
from trackwire.errors import InvalidArgument


class RequestTooLarge(InvalidArgument):
    http_status = 413


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"The request body exceeds the limit of {limit} bytes (LIMIT_MAX_REQUEST_BYTES); "
        "upload large files through the artifact endpoints, which stream"
    )


async def read_limited_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, refused as soon as it is known to exceed `limit` bytes.

    Reads the ASGI messages directly: unary calls need no Request object.
    """
    declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            if not message.get("more_body", False):
                return b"".join(chunks)


def request_chunks(request: Request, head: Any, make: Callable[[bytes], Any]) -> Iterator[Any]:
    """`head`, then one `make(chunk)` per body chunk of at most LIMIT_ARTIFACT_CHUNK_SIZE bytes.

    To be iterated in a worker thread started by anyio: each step waits on the event loop for
    more of the body.
    """
    size = limits.ARTIFACT_CHUNK_SIZE
    stream = request.stream()

    async def next_piece() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    def messages() -> Iterator[Any]:
        yield head
        pending = bytearray()
        while (piece := from_thread.run(next_piece)) is not None:
            pending += piece
            while len(pending) >= size:
                yield make(bytes(pending[:size]))
                del pending[:size]
        if pending:
            yield make(bytes(pending))

    return messages()


_END = object()


async def stream_response(
    start: Callable[[], Iterator[Any]], encode: Callable[[Any], bytes], media_type: str
) -> Response:
    """Streams a service's response iterator; errors before the first item become error bodies.

    The first item is fetched before the status line is sent, so a missing run or file is a
    proper 404; an error later can only cut the stream short.
    """

    def begin() -> tuple[Iterator[Any], Any]:
        iterator = iter(start())
        return iterator, next(iterator, _END)

    iterator, first = await anyio.to_thread.run_sync(begin)

    async def body() -> AsyncIterator[bytes]:
        item = first
        try:
            while item is not _END:
                yield encode(item)
                item = await anyio.to_thread.run_sync(next, iterator, _END)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                await anyio.to_thread.run_sync(close)

    return StreamingResponse(body(), media_type=media_type)
