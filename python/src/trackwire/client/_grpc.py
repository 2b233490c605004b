"""The gRPC transport: `grpc://` and `grpcs://` tracking URIs.

`.tracking` and `.artifacts` have a method per RPC that takes the request message and returns
the response (or an iterator of them), carries the token, retries what the schema says is
safe to retry, and raises `trackwire.errors` types only.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from trackwire import errors, limits
from trackwire.client._batch_streams import BatchStreams
from trackwire.client._environment import tracking_token
from trackwire.client._retry import give_request_id, keyed, retrying
from trackwire.rpc_policy import retry_safe
from trackwire.v1 import (
    artifact_service_pb2,
    artifact_service_pb2_grpc,
    logged_model_service_pb2,
    logged_model_service_pb2_grpc,
    model_registry_service_pb2,
    model_registry_service_pb2_grpc,
    tracking_service_pb2,
    tracking_service_pb2_grpc,
)

# Headroom over the largest request for the envelope of a full artifact chunk.
_SEND_LIMIT = limits.MAX_REQUEST_BYTES + 64 * 1024

# grpcio waits 1 s after a failed connection and then 1.6 times longer each time, up to two
# minutes: a server back after a 10 s outage was reached only seconds later. Reconnecting every
# 100 ms to 250 ms makes the first call after the server is back succeed within a quarter of a
# second, and a call already retrying within its next wait (at most half a second, _retry.py)
# plus one reconnect.
_RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 250),
]


class GrpcTransport:
    def __init__(self, tracking_uri: str):
        parsed = urlparse(tracking_uri)
        if not parsed.hostname or not parsed.port:
            raise errors.InvalidArgument(
                f"tracking URI {tracking_uri!r} must name a host and a port, e.g. grpc://localhost:50051"
            )
        host = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
        target = f"{host}:{parsed.port}"
        options = [
            ("grpc.max_send_message_length", _SEND_LIMIT),
            ("grpc.max_receive_message_length", -1),
            *_RECONNECT_OPTIONS,
        ]
        if parsed.scheme == "grpcs":
            self.channel = grpc.secure_channel(target, _tls_credentials(), options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        token = tracking_token()
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        tracking = tracking_service_pb2_grpc.TrackingServiceStub(self.channel)
        self._batch_streams = BatchStreams(self.channel, tracking, metadata)
        # A client dropped without close() still ends its streams' sending threads.
        weakref.finalize(self, self._batch_streams.close)
        self.tracking = _GrpcService(
            tracking,
            tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"],
            metadata,
            self._batch_streams,
        )
        self.artifacts = _GrpcService(
            artifact_service_pb2_grpc.ArtifactServiceStub(self.channel),
            artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"],
            metadata,
        )
        self.registry = _GrpcService(
            model_registry_service_pb2_grpc.ModelRegistryServiceStub(self.channel),
            model_registry_service_pb2.DESCRIPTOR.services_by_name["ModelRegistryService"],
            metadata,
        )
        self.logged_models = _GrpcService(
            logged_model_service_pb2_grpc.LoggedModelServiceStub(self.channel),
            logged_model_service_pb2.DESCRIPTOR.services_by_name["LoggedModelService"],
            metadata,
        )

    def close(self) -> None:
        self._batch_streams.close()
        self.channel.close()


def _tls_credentials() -> grpc.ChannelCredentials:
    ca_path = os.environ.get("TRACKWIRE_CA_CERT")
    if not ca_path:
        return grpc.ssl_channel_credentials()
    with open(ca_path, "rb") as f:
        return grpc.ssl_channel_credentials(root_certificates=f.read())


class _GrpcService:
    """A stub whose calls carry the token, are retried as the schema allows, and raise our
    errors. Each RPC's call is built on first use and kept."""

    def __init__(
        self,
        stub: Any,
        service: ServiceDescriptor,
        metadata: tuple,
        batch_streams: BatchStreams | None = None,
    ):
        self._stub = stub
        self._service = service
        self._metadata = metadata
        self._batch_streams = batch_streams

    def __getattr__(self, rpc: str):
        method = self._service.methods_by_name[rpc]
        # A stream of requests is consumed by its first attempt: it cannot be sent again.
        retry = retry_safe(method) and not method.client_streaming
        needs_key = keyed(method)
        metadata = self._metadata
        send = getattr(self._stub, rpc)
        if self._batch_streams is not None and self._batch_streams.carries(method):
            send = self._batch_streams.log_batch

        if method.server_streaming:

            def call(request):
                return retrying(
                    lambda: _StreamErrors(send(request, metadata=metadata)).first(), retry
                )

        else:

            def call(request):
                if needs_key and not method.client_streaming:
                    give_request_id(request)
                return retrying(lambda: _unary(send, request, metadata), retry)

        self.__dict__[rpc] = call
        return call


def _unary(send, request, metadata):
    try:
        return send(request, metadata=metadata)
    except grpc.RpcError as e:
        raise errors.from_grpc_error(e) from None


class _StreamErrors:
    """Iterates a gRPC response stream, raising our errors instead of grpc.RpcError.

    `first()` pulls the first message eagerly so that a failing call (e.g. NOT_FOUND, or
    UNAVAILABLE, which can then be retried) raises at call time, like a unary call.
    """

    def __init__(self, responses: Iterator):
        self._responses = responses
        self._head: list = []

    def first(self) -> _StreamErrors:
        try:
            self._head = [next(self._responses)]
        except StopIteration:
            pass
        except grpc.RpcError as e:
            raise errors.from_grpc_error(e) from None
        return self

    def __iter__(self):
        yield from self._head
        try:
            yield from self._responses
        except grpc.RpcError as e:
            raise errors.from_grpc_error(e) from None
