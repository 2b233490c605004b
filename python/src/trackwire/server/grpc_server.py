"""The gRPC wire: grpcio's asyncio server over the in-process services, plus health and
reflection, on an event loop of its own thread.

grpcio's thread-pool server hands every call from its polling thread to a worker thread
and back, several times; on a busy server those handoffs (and the GIL passing with them)
cost more than the call's own work (8 concurrent LogBatch writers: 83,000 points/s there,
120,000 here). Here calls are handled on one event loop, and run on it or in a worker thread
as server/quick_writes.py decides, as on the HTTP gateway.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import any_pb2, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from trackwire import limits
from trackwire.errors import InvalidArgument, TrackwireError
from trackwire.server import quick_writes
from trackwire.server.auth.identity import current_identity
from trackwire.server.auth.tokens import TokenStore
from trackwire.server.internal_errors import internal_error
from trackwire.server.services import LOGGED_MODEL_SERVICE, REGISTRY, Services
from trackwire.v1 import artifact_service_pb2, tracking_service_pb2

_new_event_loop: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
try:  # a dependency except on Windows; uvicorn runs the HTTP gateway on it too
    import uvloop

    _new_event_loop = uvloop.new_event_loop
except ImportError:
    pass

ERROR_DOMAIN = "trackwire.io"
_END = object()  # the end of an iterator, as `next(iterator, _END)` answers it


def _fail(context: grpc.aio.ServicerContext, method: str, exc: Exception) -> None:
    """Ends the call with the status of an exception the service raised: its error's code,
    message and an ErrorInfo naming MLflow's code.

    The status is set, not raised with `context.abort`: grpcio keeps the AbortError on the
    call, and its traceback the handler's frame, in a reference cycle that only the cyclic
    garbage collector breaks, thousands of calls later; that frame holds the request, so
    every rejected large request stayed in memory. Nothing here outlives the call."""
    error = _failure(method, exc)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=error.mlflow_code, domain=ERROR_DOMAIN))
    status = rpc_status.to_status(
        status_pb2.Status(code=error.grpc_code.value[0], message=error.message, details=[info])
    )
    context.set_code(status.code)
    context.set_details(status.details)
    context.set_trailing_metadata(status.trailing_metadata)


def _failure(method: str, exc: Exception) -> TrackwireError:
    """The error a call answers for an exception the service raised."""
    if isinstance(exc, TrackwireError):
        return exc
    return internal_error(method, exc)


class _Undecodable:
    """Stands in for a request message that did not parse: the call then answers
    INVALID_ARGUMENT, the client's error, where gRPC itself would answer INTERNAL."""

    def __init__(self, error: Exception):
        self.error = error


def _decoded(request):
    if isinstance(request, _Undecodable):
        raise InvalidArgument(f"Malformed request message: {request.error}")
    return request


def _lenient(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def deserialize(data: bytes):
        try:
            return parse(data)
        except DecodeError as error:
            return _Undecodable(error)

    return deserialize


class _Blocking:
    """Runs a blocking function in a worker thread, in the calling task's context (which
    holds the caller's identity)."""

    def __init__(self, executor: futures.Executor):
        self.executor = executor

    def __call__(self, fn: Callable, *args) -> Awaitable:
        context = contextvars.copy_context()
        return asyncio.get_running_loop().run_in_executor(self.executor, context.run, fn, *args)


def _requests(context: grpc.aio.ServicerContext, loop) -> Iterator:
    """A client stream's requests as a plain iterator, for a service in a worker thread."""
    while True:
        request = asyncio.run_coroutine_threadsafe(context.read(), loop).result()
        if request is grpc.aio.EOF:
            return
        yield _decoded(request)


Identify = Callable[[grpc.aio.ServicerContext], Awaitable[None]]


class _WaitingStreams:
    """Bidirectional streams waiting for their next request. At shutdown they end with OK
    (the contract of such a stream: a request sent after that was not read), so that an
    idle client does not hold the server's stop for its whole grace period."""

    def __init__(self) -> None:
        self._waiting: set[asyncio.Task] = set()
        self._closing = False

    async def next_request(self, context: grpc.aio.ServicerContext):
        """The stream's next request, or None when it ends (the client's half-close, or
        the server's shutdown)."""
        if self._closing:
            return None
        task = asyncio.current_task()
        assert task is not None
        self._waiting.add(task)
        try:
            request = await context.read()
        except asyncio.CancelledError:
            if self._closing:
                return None
            raise
        finally:
            self._waiting.discard(task)
        return None if request is grpc.aio.EOF else request

    def close(self) -> None:
        """Ends the waiting streams, and every other one once its request is answered."""
        self._closing = True
        for task in self._waiting:
            task.cancel()


def _handler(
    method: MethodDescriptor,
    service_method: Callable,
    blocking: _Blocking,
    write_lock: threading.RLock | None,
    streams: _WaitingStreams,
    identify: Identify,
) -> grpc.RpcMethodHandler:
    """The handler of one RPC: the caller's identity, decoding, the service call and its
    errors as gRPC statuses. A bidirectional RPC is served as a unary one per request, one
    request at a time, each with the caller identified anew (a token revoked mid-stream
    stops it)."""
    name = method.full_name
    inline_lock = quick_writes.inline_lock(method, write_lock)

    async def unary_unary(request, context):
        try:
            await identify(context)
            return await quick_writes.run(inline_lock, service_method, _decoded(request), blocking)
        except Exception as exc:  # noqa: BLE001 - the server must keep serving
            _fail(context, name, exc)
        return None

    async def unary_stream(request, context):
        try:
            await identify(context)
            # Each chunk is produced in a worker thread (it reads the store or a file).
            responses = await blocking(service_method, _decoded(request))
            while (response := await blocking(next, responses, _END)) is not _END:
                yield response
        except Exception as exc:  # noqa: BLE001
            _fail(context, name, exc)

    async def stream_unary(_request_iterator, context):
        try:
            await identify(context)
            requests = _requests(context, asyncio.get_running_loop())
            return await blocking(service_method, requests)
        except Exception as exc:  # noqa: BLE001
            _fail(context, name, exc)
        return None

    async def stream_stream(_request_iterator, context):
        try:
            while (request := await streams.next_request(context)) is not None:
                await identify(context)
                yield await quick_writes.run(
                    inline_lock, service_method, _decoded(request), blocking
                )
        except Exception as exc:  # noqa: BLE001
            _fail(context, name, exc)

    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    make, behavior = (
        (grpc.stream_stream_rpc_method_handler, stream_stream)
        if method.client_streaming and method.server_streaming
        else (grpc.stream_unary_rpc_method_handler, stream_unary)
        if method.client_streaming
        else (grpc.unary_stream_rpc_method_handler, unary_stream)
        if method.server_streaming
        else (grpc.unary_unary_rpc_method_handler, unary_unary)
    )
    return make(
        behavior,
        request_deserializer=_lenient(request_class.FromString),
        response_serializer=response_class.SerializeToString,
    )


def _identifier(tokens: TokenStore, blocking: _Blocking) -> Identify:
    """Sets `current_identity` from the call's `authorization: Bearer <token>` metadata, or
    raises Unauthenticated. A token not verified moments ago costs a query: that lookup runs
    in a worker thread."""

    async def identify(context: grpc.aio.ServicerContext) -> None:
        header = next(
            (v for k, v in context.invocation_metadata() or () if k == "authorization"), None
        )
        identity = tokens.cached(header) or await blocking(tokens.authenticate, header)
        current_identity.set(identity)  # the call's own task: no other call sees it

    return identify


async def _anonymous(_context: grpc.aio.ServicerContext) -> None:
    """A server without --auth: no identity to set."""


def _service_handler(
    descriptor: ServiceDescriptor,
    service: object,
    blocking: _Blocking,
    write_lock: threading.RLock | None,
    tokens: TokenStore | None,
    streams: _WaitingStreams,
) -> grpc.GenericRpcHandler:
    identify = _identifier(tokens, blocking) if tokens is not None else _anonymous
    handlers = {}
    for method in descriptor.methods:
        handler = _handler(
            method, getattr(service, method.name), blocking, write_lock, streams, identify
        )
        handlers[method.name] = handler
    return grpc.method_handlers_generic_handler(descriptor.full_name, handlers)


class GrpcServer:
    """The gRPC server, serving on its own thread's event loop from start() to stop()."""

    def __init__(
        self,
        services: Services,
        address: str,
        max_workers: int = 32,
        tls: tuple[bytes, bytes] | None = None,
    ):
        """`tls` is (PEM private key, PEM certificate chain); plaintext when None."""
        self.services = services
        self.address = address
        self.tls = tls
        self.executor = futures.ThreadPoolExecutor(max_workers, thread_name_prefix="grpc")
        self.loop = _new_event_loop()
        self._server: grpc.aio.Server | None = None
        self._streams = _WaitingStreams()
        self._thread = threading.Thread(target=self.loop.run_forever, name="grpc", daemon=True)

    def start(self) -> None:
        """Listens, or raises OSError when the address cannot be bound."""
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self.loop).result()
        except BaseException:
            self.stop(grace=0)
            raise

    def stop(self, grace: float) -> None:
        """Refuses new calls, lets calls in flight finish for up to `grace` seconds."""
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._stop(self._server, grace), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _stop(self, server: grpc.aio.Server, grace: float) -> None:
        stopping = asyncio.ensure_future(server.stop(grace))
        await asyncio.sleep(0)  # the server refuses new calls from here on
        self._streams.close()
        await stopping

    async def _start(self) -> None:
        services = self.services
        blocking = _Blocking(self.executor)
        write_lock = services.store.db.write_lock
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limits.MAX_REQUEST_BYTES),
                ("grpc.max_send_message_length", limits.MAX_REQUEST_BYTES),
                # Two servers on one port would split the traffic silently.
                ("grpc.so_reuseport", 0),
            ],
        )
        served = {
            tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"]: services.tracking,
            artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"]: services.artifacts,
            REGISTRY: services.registry,
            LOGGED_MODEL_SERVICE: services.logged_models,
        }
        server.add_generic_rpc_handlers(
            [
                _service_handler(
                    descriptor, service, blocking, write_lock, services.tokens, self._streams
                )
                for descriptor, service in served.items()
            ]
        )
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = [descriptor.full_name for descriptor in served]
        for name in ["", *names]:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        reflection.enable_server_reflection(
            [
                *names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        try:
            if self.tls is not None:
                credentials = grpc.ssl_server_credentials([self.tls])
                port = server.add_secure_port(self.address, credentials)
            else:
                port = server.add_insecure_port(self.address)
        except RuntimeError:  # grpcio's way of saying the address is taken
            port = 0
        if port == 0:
            raise OSError(f"cannot listen for gRPC on {self.address}")
        await server.start()
        self._server = server
