"""How the client reaches the services: a gRPC channel or the server's services in-process.

Both transports expose `.tracking` and `.artifacts` objects whose methods are named like the
RPCs, take request messages and return response messages (or iterators of them), and raise
`trackwire.errors.TrackwireError` subclasses. The client above them has one code path.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import grpc

from trackwire import errors, limits
from trackwire.client._batch_streams import BatchStreams
from trackwire.v1 import artifact_service_pb2_grpc, tracking_service_pb2_grpc

DEFAULT_TRACKING_URI = "sqlite:///trackwire.db"
DEFAULT_EMBEDDED_ARTIFACTS = "./trackwire-artifacts"

# RPCs that are safe to repeat after UNAVAILABLE: reads; writes whose repetition leaves the same
# state (a tag set twice, a param logged twice with the same value); and metric writes, which
# carry an idempotency key (request_id) so the server stores a retried request once. Creates,
# deletes and restores are not retried: a lost response would turn into a duplicate or an error.
RETRYABLE_RPCS = frozenset(
    {
        "GetExperiment",
        "GetExperimentByName",
        "SearchExperiments",
        "GetRun",
        "SearchRuns",
        "GetMetricHistory",
        "GetMetricHistoryBulkInterval",
        "StreamMetricHistory",
        "ListArtifacts",
        "DownloadArtifact",
        "GetExperimentPermission",
        "UpdateExperimentPermission",
        "SetExperimentTag",
        "SetTag",
        "LogParam",
        "UpdateRun",
        "LogMetric",
        "LogBatch",
    }
)
# About 6 s in all: enough to ride through a server restart.
RETRY_DELAYS_SECONDS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2)

# Headroom over the largest request for the envelope of a full artifact chunk.
_SEND_LIMIT = limits.MAX_REQUEST_BYTES + 64 * 1024


def resolve_tracking_uri(tracking_uri: str | None) -> str:
    """The URI to use: the one given, else $TRACKWIRE_TRACKING_URI, else the embedded default."""
    return tracking_uri or os.environ.get("TRACKWIRE_TRACKING_URI") or DEFAULT_TRACKING_URI


def open_transport(tracking_uri: str, artifacts_destination: str | None = None):
    scheme = urlparse(tracking_uri).scheme
    if scheme in ("grpc", "grpcs"):
        return GrpcTransport(tracking_uri)
    if scheme == "sqlite":
        return EmbeddedTransport(tracking_uri, artifacts_destination)
    if scheme in ("http", "https"):
        from trackwire.client._http import HttpTransport

        return HttpTransport(tracking_uri)
    raise errors.InvalidArgument(
        f"tracking URI {tracking_uri!r}: unsupported scheme {scheme!r}; "
        "expected grpc://host:port, grpcs://host:port, http(s)://host:port or sqlite:///path.db"
    )


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
        ]
        if parsed.scheme == "grpcs":
            self.channel = grpc.secure_channel(target, _tls_credentials(), options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        token = os.environ.get("TRACKWIRE_TOKEN")
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        tracking = tracking_service_pb2_grpc.TrackingServiceStub(self.channel)
        self._batch_streams = BatchStreams(self.channel, tracking, metadata)
        # A client dropped without close() still ends its streams' sending threads.
        weakref.finalize(self, self._batch_streams.close)
        self.tracking = _GrpcService(tracking, metadata, self._batch_streams)
        self.artifacts = _GrpcService(
            artifact_service_pb2_grpc.ArtifactServiceStub(self.channel), metadata
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
    """A stub whose calls carry the token, retry UNAVAILABLE when safe, and raise our errors."""

    def __init__(self, stub: Any, metadata: tuple, batch_streams: BatchStreams | None = None):
        self._stub = stub
        self._metadata = metadata
        self._batch_streams = batch_streams

    def __getattr__(self, rpc: str):
        retryable = rpc in RETRYABLE_RPCS
        if rpc == "LogBatch" and self._batch_streams is not None:
            log_batch = self._batch_streams.log_batch
            return lambda request: _retrying(lambda: log_batch(request), retryable)
        method = getattr(self._stub, rpc)
        metadata = self._metadata

        if rpc in ("StreamMetricHistory", "DownloadArtifact"):

            def server_stream(request):
                return _retrying(
                    lambda: _StreamErrors(method(request, metadata=metadata)).first(), retryable
                )

            return server_stream

        def call(request):
            return _retrying(lambda: method(request, metadata=metadata), retryable)

        return call


def _retrying(attempt, retryable: bool):
    delays = iter(RETRY_DELAYS_SECONDS if retryable else ())
    while True:
        try:
            return attempt()
        except grpc.RpcError as e:
            error = errors.from_grpc_error(e)
        except errors.Unavailable as e:  # raised by the client itself (BatchStreams)
            error = e
        delay = next(delays, None)
        if not isinstance(error, errors.Unavailable) or delay is None:
            raise error from None
        time.sleep(delay)


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
        return self

    def __iter__(self):
        yield from self._head
        try:
            yield from self._responses
        except grpc.RpcError as e:
            raise errors.from_grpc_error(e) from None


class EmbeddedTransport:
    """The server's services called in-process on a local SQLite file: no server needed."""

    def __init__(self, tracking_uri: str, artifacts_destination: str | None):
        try:
            from trackwire.server.services import open_services
        except ModuleNotFoundError as e:
            raise ImportError(
                f"the embedded tracking URI {tracking_uri!r} runs the store in this process "
                f"and needs the server extra (missing module {e.name!r}): "
                "pip install 'trackwire[server]'"
            ) from e
        self._services = open_services(
            tracking_uri, artifacts_destination or DEFAULT_EMBEDDED_ARTIFACTS
        )
        self.tracking = self._services.tracking
        self.artifacts = self._services.artifacts

    def close(self) -> None:
        self._services.close()
