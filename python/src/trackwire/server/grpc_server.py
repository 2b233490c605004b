"""The gRPC wire: servicers that adapt the in-process services, plus health and reflection."""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from trackwire import limits
from trackwire.errors import InternalError, InvalidArgument, TrackwireError
from trackwire.server.app import Services
from trackwire.server.auth.identity import current_identity
from trackwire.server.auth.tokens import TokenStore
from trackwire.v1 import (
    artifact_service_pb2,
    artifact_service_pb2_grpc,
    tracking_service_pb2,
    tracking_service_pb2_grpc,
)

log = logging.getLogger(__name__)

ERROR_DOMAIN = "trackwire.io"


def _abort(context: grpc.ServicerContext, error: TrackwireError) -> None:
    """Aborts with the error's status code, message and an ErrorInfo naming MLflow's code."""
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=error.mlflow_code, domain=ERROR_DOMAIN))
    status = status_pb2.Status(code=error.grpc_code.value[0], message=error.message, details=[info])
    context.abort_with_status(rpc_status.to_status(status))


def _unexpected(context: grpc.ServicerContext, method: str, exc: Exception) -> None:
    log.exception("unexpected error in %s", method)
    _abort(context, InternalError(f"Internal error in {method}: {type(exc).__name__}"))


class _Undecodable:
    """Stands in for a request message that did not parse (see _LenientDecoding)."""

    def __init__(self, error: Exception):
        self.error = error


def _decoded(request):
    if isinstance(request, _Undecodable):
        raise InvalidArgument(f"Malformed request message: {request.error}")
    return request


class _LenientDecoding(grpc.ServerInterceptor):
    """Makes a request that is not a valid protobuf message (bad wire format, invalid UTF-8 in
    a string) INVALID_ARGUMENT, the client's error; gRPC itself would answer INTERNAL."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        parse = handler.request_deserializer

        def lenient(data: bytes):
            try:
                return parse(data)
            except DecodeError as error:
                return _Undecodable(error)

        return handler._replace(request_deserializer=lenient)


def _adapt(method, service_method):
    """A servicer method calling `service_method`, with errors mapped to gRPC statuses."""
    name = method.full_name
    if method.client_streaming:

        def impl(requests):
            return service_method(map(_decoded, requests))
    else:

        def impl(request):
            return service_method(_decoded(request))

    if method.server_streaming:

        def streaming(request, context):
            try:
                yield from impl(request)
            except TrackwireError as error:
                _abort(context, error)
            except Exception as exc:  # noqa: BLE001 - the server must keep serving
                _unexpected(context, name, exc)

        return streaming

    def unary(request, context):
        try:
            return impl(request)
        except TrackwireError as error:
            _abort(context, error)
        except Exception as exc:  # noqa: BLE001 - the server must keep serving
            _unexpected(context, name, exc)

    return unary


def _servicer(base: type, service_descriptor, service) -> object:
    """An instance of the generated servicer base with every RPC routed to `service`."""
    servicer = base()
    for method in service_descriptor.methods:
        setattr(servicer, method.name, _adapt(method, getattr(service, method.name)))
    return servicer


class _AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates calls to trackwire's services by their `authorization: Bearer <token>`
    metadata, and sets `current_identity` for the call (health and reflection stay open).

    The token is checked in the worker thread that runs the call, not in gRPC's polling
    thread, so a token lookup never stalls other calls."""

    def __init__(self, tokens: TokenStore, service_names: set[str]):
        self.tokens = tokens
        self.service_names = service_names

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        service = handler_call_details.method.split("/")[1]
        if handler is None or service not in self.service_names:
            return handler
        header = next(
            (v for k, v in handler_call_details.invocation_metadata or () if k == "authorization"),
            None,
        )
        return _with_identity(handler, lambda: self.tokens.authenticate(header))


def _with_identity(handler: grpc.RpcMethodHandler, authenticate) -> grpc.RpcMethodHandler:
    def identify(context) -> None:
        try:
            current_identity.set(authenticate())
        except TrackwireError as error:
            _abort(context, error)

    # Every call sets the identity before anything reads it, so a worker thread never sees
    # the identity of an earlier call.
    def returning(behavior):
        def call(request_or_iterator, context):
            identify(context)
            return behavior(request_or_iterator, context)

        return call

    def streaming(behavior):
        def call(request_or_iterator, context):
            identify(context)
            yield from behavior(request_or_iterator, context)

        return call

    kinds = {
        "unary_unary": returning,
        "stream_unary": returning,
        "unary_stream": streaming,
        "stream_stream": streaming,
    }
    for kind, wrap in kinds.items():
        behavior = getattr(handler, kind)
        if behavior is not None:
            return handler._replace(**{kind: wrap(behavior)})
    return handler


def build_grpc_server(
    services: Services,
    address: str,
    max_workers: int = 32,
    tls: tuple[bytes, bytes] | None = None,
) -> grpc.Server:
    """`tls` is (PEM private key, PEM certificate chain); plaintext when None."""
    tracking_name = tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"].full_name
    artifact_name = artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"].full_name
    interceptors: list[grpc.ServerInterceptor] = [_LenientDecoding()]
    if services.tokens is not None:
        interceptors.append(_AuthInterceptor(services.tokens, {tracking_name, artifact_name}))
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", limits.MAX_REQUEST_BYTES),
            ("grpc.max_send_message_length", limits.MAX_REQUEST_BYTES),
            # Two servers on one port would split the traffic silently.
            ("grpc.so_reuseport", 0),
        ],
    )
    tracking_descriptor = tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"]
    artifact_descriptor = artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"]
    tracking_service_pb2_grpc.add_TrackingServiceServicer_to_server(
        _servicer(
            tracking_service_pb2_grpc.TrackingServiceServicer,
            tracking_descriptor,
            services.tracking,
        ),
        server,
    )
    artifact_service_pb2_grpc.add_ArtifactServiceServicer_to_server(
        _servicer(
            artifact_service_pb2_grpc.ArtifactServiceServicer,
            artifact_descriptor,
            services.artifacts,
        ),
        server,
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [tracking_descriptor.full_name, artifact_descriptor.full_name]
    for name in ["", *names]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    if tls is not None:
        port = server.add_secure_port(address, grpc.ssl_server_credentials([tls]))
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen for gRPC on {address}")
    return server
