"""The gRPC wire: servicers that adapt the in-process services, plus health and reflection."""

from __future__ import annotations

import logging
from concurrent import futures

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from trackwire import limits
from trackwire.errors import InternalError, TrackwireError
from trackwire.server.app import Services
from trackwire.v1 import artifact_service_pb2, artifact_service_pb2_grpc
from trackwire.v1 import tracking_service_pb2, tracking_service_pb2_grpc

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


def _adapt(method, impl):
    """A servicer method calling `impl`, with errors mapped to gRPC statuses."""
    name = method.full_name
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


def build_grpc_server(services: Services, address: str, max_workers: int = 32) -> grpc.Server:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
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
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot listen for gRPC on {address}")
    return server
