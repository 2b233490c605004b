"""The HTTP/JSON transport: the same RPCs over MLflow's REST API (the server's gateway).

Routes come from the `google.api.http` annotations of the services, never from a hand-written
list, so this transport follows the schema. Connections are urllib3's: kept alive and reused
between calls, through the proxy that HTTP_PROXY / HTTPS_PROXY name unless NO_PROXY exempts
the host. Every failure of the connection, the request or the answer raises a
`trackwire.errors` type.
"""

from __future__ import annotations

import functools
import json
import os
import re
import ssl
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import urllib3
from google.api import annotations_pb2, field_behavior_pb2
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor, ServiceDescriptor

from trackwire import errors, limits
from trackwire.client._environment import tracking_token
from trackwire.client._retry import give_request_id, keyed, retrying
from trackwire.rpc_policy import retry_safe
from trackwire.v1 import (
    artifact_service_pb2,
    logged_model_service_pb2,
    model_registry_service_pb2,
    tracking_service_pb2,
)

CONNECT_TIMEOUT_SECONDS = 10
TIMEOUT_SECONDS = 300
# Connections kept open per server: one per concurrent calling thread, up to this many.
_POOL_SIZE = 8
# `{field}` in a google.api.http path.
_TEMPLATE_FIELD = re.compile(r"\{(\w+)\}")


class HttpTransport:
    def __init__(self, tracking_uri: str):
        endpoint = _Endpoint(tracking_uri)
        self._endpoint = endpoint
        token = tracking_token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.tracking = _HttpService(
            endpoint, tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"], headers
        )
        self.artifacts = _HttpService(
            endpoint, artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"], headers
        )
        self.registry = _HttpService(
            endpoint,
            model_registry_service_pb2.DESCRIPTOR.services_by_name["ModelRegistryService"],
            headers,
        )
        self.logged_models = _HttpService(
            endpoint,
            logged_model_service_pb2.DESCRIPTOR.services_by_name["LoggedModelService"],
            headers,
        )

    def close(self) -> None:
        self._endpoint.close()


class _HttpService:
    """A method per RPC, built on first use and kept."""

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
        # A stream of requests is consumed by its first attempt: it cannot be sent again.
        retry = retry_safe(method) and not method.client_streaming
        endpoint = self._endpoint

        def send(
            body: Any,
            query: list[tuple[str, str]],
            content_type: str | None,
            stream: bool,
            request: Any = None,
        ):
            # A path template (`/logged-models/{model_id}`) takes the request's fields.
            filled = _TEMPLATE_FIELD.sub(
                lambda m: urllib.parse.quote(getattr(request, m.group(1)), safe=""), path
            )
            target = filled + ("?" + urllib.parse.urlencode(query) if query else "")
            headers = dict(self._headers)
            if content_type:
                headers["Content-Type"] = content_type
            return retrying(
                lambda: endpoint.exchange(verb.upper(), target, body, headers, stream), retry
            )

        if method.client_streaming:

            def upload(requests: Iterator[Any]):
                requests = iter(requests)
                head = next(requests)
                chunks = (getattr(r, rule.body) for r in requests)
                response = send(chunks, _query(head), "application/octet-stream", False)
                return _parse(response.data, response_class)

            self.__dict__[rpc] = upload
            return upload

        needs_key = keyed(method)

        def call(request: Any):
            if needs_key:
                give_request_id(request)
            stream = method.server_streaming
            if rule.body == "*":
                body = json.dumps(_to_json(request)).encode()
                response = send(body, [], "application/json", stream, request)
            else:
                response = send(None, _query(request), None, stream, request)
            if not stream:
                return _parse(response.data, response_class)
            if rule.response_body:
                return _raw_chunks(response, response_class, rule.response_body)
            return _lines(response, response_class)

        self.__dict__[rpc] = call
        return call


class _Endpoint:
    """One HTTP(S) server, reached over a pool of kept-alive connections."""

    def __init__(self, uri: str):
        parsed = urllib.parse.urlsplit(uri)
        if not parsed.hostname:
            raise errors.InvalidArgument(
                f"tracking URI {uri!r} must name a host, e.g. http://localhost:5000"
            )
        self.base = f"{parsed.scheme}://{parsed.netloc}{parsed.path.rstrip('/')}"
        options: dict[str, Any] = {
            "retries": False,  # retried above, as the schema allows
            "timeout": urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=TIMEOUT_SECONDS),
            "maxsize": _POOL_SIZE,
        }
        if parsed.scheme == "https":
            options["ssl_context"] = ssl.create_default_context(
                cafile=os.environ.get("TRACKWIRE_CA_CERT")
            )
        proxy = _proxy_for(parsed.scheme, parsed.hostname)
        self.pool = (
            urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        )

    def exchange(
        self, verb: str, target: str, body: Any, headers: dict[str, str], stream: bool
    ) -> urllib3.BaseHTTPResponse:
        """The response to one request, its body read unless `stream`; raises our errors for
        error statuses and for every failure to connect, send or receive."""
        url = self.base + target
        try:
            response = self.pool.request(
                verb,
                url,
                body=body,
                headers=headers,
                chunked=_is_stream(body),
                preload_content=not stream,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as e:  # refused, reset, timed out, answer cut short
            raise errors.Unavailable(f"{verb} {url}: {e}") from None
        if response.status >= 400:
            try:
                payload = response.data
            except urllib3.exceptions.HTTPError as e:
                raise errors.Unavailable(f"{verb} {url}: {e}") from None
            finally:
                response.release_conn()
            raise _http_error(response.status, response.reason or "", payload)
        return response

    def close(self) -> None:
        self.pool.clear()


def _proxy_for(scheme: str, host: str) -> str | None:
    """The proxy for `host` from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)."""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)


def _is_stream(body: Any) -> bool:
    return body is not None and not isinstance(body, bytes)


def _http_error(status: int, reason: str, body: bytes) -> errors.TrackwireError:
    try:
        payload = json.loads(body)
        return errors.from_mlflow_error(payload["error_code"], payload.get("message", ""))
    except (ValueError, KeyError, TypeError):
        text = body.decode(errors="replace").strip() or reason
        if status in (502, 503, 504):  # a proxy or load balancer without a server behind it
            return errors.Unavailable(f"HTTP {status}: {text}")
        return errors.InternalError(f"HTTP {status}: {text}")


def _streamed(response: urllib3.BaseHTTPResponse, items: Iterator) -> Iterator:
    """`items` read from a streamed response; a connection lost meanwhile raises our error."""
    try:
        yield from items
    except urllib3.exceptions.HTTPError as e:
        raise errors.Unavailable(f"the answer was cut short: {e}") from None
    finally:
        response.release_conn()


def _lines(response: urllib3.BaseHTTPResponse, response_class) -> Iterator:
    return _streamed(response, (_parse(line, response_class) for line in response if line.strip()))


def _raw_chunks(response: urllib3.BaseHTTPResponse, response_class, field: str) -> Iterator:
    chunks = response.stream(limits.ARTIFACT_CHUNK_SIZE)
    return _streamed(response, (response_class(**{field: chunk}) for chunk in chunks))


def _to_json(message) -> dict:
    # Enum names with their prefix and int64 as strings are both accepted by the gateway.
    # Zeros are written too: the gateway, like MLflow's server, takes an absent required field
    # (a metric's value or timestamp) for a missing one, and 0 is a value. Only OPTIONAL fields
    # at their default are left out: there the gateway tells "not sent" (the default) from 0
    # (a search's max_results, which MLflow's API refuses as 0).
    data = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    for name in _optional_fields(message.DESCRIPTOR):
        if not getattr(message, name):
            data.pop(name, None)
    return data


@functools.cache
def _optional_fields(descriptor: Descriptor) -> tuple[str, ...]:
    return tuple(
        field.name
        for field in descriptor.fields
        if field_behavior_pb2.OPTIONAL
        in field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    )


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
