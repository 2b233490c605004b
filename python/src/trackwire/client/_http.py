"""The HTTP/JSON transport: the same RPCs over MLflow's REST API (the server's gateway).

Routes come from the `google.api.http` annotations of the services, never from a hand-written
list, so this transport follows the schema. Only the standard library is used, keeping the
client's dependencies to grpcio and protobuf.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from google.api import annotations_pb2
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, ServiceDescriptor

from trackwire import errors, limits
from trackwire.client._transport import RETRY_DELAYS_SECONDS, RETRYABLE_RPCS
from trackwire.v1 import artifact_service_pb2, tracking_service_pb2

TIMEOUT_SECONDS = 300


class HttpTransport:
    def __init__(self, tracking_uri: str):
        endpoint = _Endpoint(tracking_uri)
        token = os.environ.get("TRACKWIRE_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.tracking = _HttpService(
            endpoint, tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"], headers
        )
        self.artifacts = _HttpService(
            endpoint, artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"], headers
        )

    def close(self) -> None:
        """Nothing to release: every call opens (and its response closes) a connection."""


class _HttpService:
    def __init__(self, endpoint: _Endpoint, service: ServiceDescriptor, headers: dict[str, str]):
        self._endpoint = endpoint
        self._service = service
        self._headers = headers

    def __getattr__(self, rpc: str):
        method = self._service.methods_by_name[rpc]
        rule = method.GetOptions().Extensions[annotations_pb2.http]
        verb = rule.WhichOneof("pattern")
        path = getattr(rule, verb)
        response_class = message_factory.GetMessageClass(method.output_type)
        retryable = rpc in RETRYABLE_RPCS

        def send(body: Any, query: list[tuple[str, str]], content_type: str | None):
            target = path + ("?" + urllib.parse.urlencode(query) if query else "")
            headers = dict(self._headers)
            if content_type:
                headers["Content-Type"] = content_type
            return _retrying(
                lambda: self._endpoint.exchange(verb.upper(), target, body, headers),
                retryable and not _is_stream(body),
            )

        if method.client_streaming:

            def upload(requests: Iterator[Any]):
                requests = iter(requests)
                head = next(requests)
                chunks = (getattr(r, rule.body) for r in requests)
                response = send(chunks, _query(head), "application/octet-stream")
                return _parse(response.read(), response_class)

            return upload

        def call(request: Any):
            if rule.body == "*":
                body = json.dumps(_to_json(request)).encode()
                response = send(body, [], "application/json")
            else:
                response = send(None, _query(request), None)
            if not method.server_streaming:
                return _parse(response.read(), response_class)
            if rule.response_body:
                return _raw_chunks(response, response_class, rule.response_body)
            return (_parse(line, response_class) for line in response if line.strip())

        return call


def _is_stream(body: Any) -> bool:
    return body is not None and not isinstance(body, bytes)


class _Endpoint:
    """One HTTP(S) server; a connection per call (streams hold theirs until read)."""

    def __init__(self, uri: str):
        parsed = urllib.parse.urlsplit(uri)
        if not parsed.hostname:
            raise errors.InvalidArgument(
                f"tracking URI {uri!r} must name a host, e.g. http://localhost:5000"
            )
        self.host: str = parsed.hostname
        self.port = parsed.port
        self.prefix = parsed.path.rstrip("/")
        self.tls = parsed.scheme == "https"
        self.context = ssl.create_default_context(cafile=os.environ.get("TRACKWIRE_CA_CERT"))

    def exchange(self, verb: str, target: str, body: Any, headers: dict[str, str]):
        """The response to one request; raises our errors for error statuses."""
        if self.tls:
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=TIMEOUT_SECONDS, context=self.context
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_SECONDS)
        where = f"{'https' if self.tls else 'http'}://{self.host}:{self.port}{target}"
        try:
            try:
                connection.request(verb, self.prefix + target, body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                # The server refused the request before reading all of the body (e.g. an
                # upload to a bad path); its response says why.
                pass
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as e:
            connection.close()
            raise errors.Unavailable(f"{where}: {e}") from None
        if response.status >= 400:
            payload = response.read()
            connection.close()
            raise _http_error(response.status, response.reason, payload)
        return response


def _http_error(status: int, reason: str, body: bytes) -> errors.TrackwireError:
    try:
        payload = json.loads(body)
        return errors.from_mlflow_error(payload["error_code"], payload.get("message", ""))
    except (ValueError, KeyError, TypeError):
        text = body.decode(errors="replace").strip() or reason
        if status == 503:
            return errors.Unavailable(f"HTTP 503: {text}")
        return errors.InternalError(f"HTTP {status}: {text}")


def _retrying(attempt, retryable: bool):
    delays = iter(RETRY_DELAYS_SECONDS if retryable else ())
    while True:
        try:
            return attempt()
        except errors.Unavailable:
            delay = next(delays, None)
            if delay is None:
                raise
            time.sleep(delay)


def _raw_chunks(response, response_class, field: str):
    while chunk := response.read(limits.ARTIFACT_CHUNK_SIZE):
        yield response_class(**{field: chunk})


def _to_json(message) -> dict:
    # Enum names with their prefix and int64 as strings are both accepted by the gateway.
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _query(message) -> list[tuple[str, str]]:
    pairs = []
    for key, value in _to_json(message).items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, json.dumps(item) if isinstance(item, bool) else str(item)))
    return pairs


def _parse(body: bytes, response_class):
    """A response message from the gateway's JSON (MLflow's dialect: short enum names)."""
    try:
        data = json.loads(body)
    except ValueError as e:
        raise errors.InternalError(f"the server sent invalid JSON: {body[:200]!r}") from e
    _qualify_enums(data, response_class.DESCRIPTOR)
    return json_format.ParseDict(data, response_class(), ignore_unknown_fields=True)


def _qualify_enums(data: dict, descriptor: Descriptor) -> None:
    """Rewrites short enum names ("RUNNING") to the proto's ("RUN_STATUS_RUNNING") in place."""
    for name, value in data.items():
        field = descriptor.fields_by_name.get(name)
        if field is None:
            continue
        values = value if isinstance(value, list) else [value]
        if field.message_type is not None:
            for item in values:
                if isinstance(item, dict):
                    _qualify_enums(item, field.message_type)
        elif field.enum_type is not None:
            names = [v.name for v in field.enum_type.values]
            prefix = os.path.commonprefix(names)
            qualified = [prefix + v if isinstance(v, str) and v not in names else v for v in values]
            data[name] = qualified if isinstance(value, list) else qualified[0]
