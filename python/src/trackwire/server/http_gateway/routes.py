"""The route table, read from the services' `google.api.http` annotations.

Every binding (the main rule and its additional_bindings) becomes one Starlette route under its
annotated path and under the same path with `/api/` replaced by `/ajax-api/` (MLflow's UI
prefix). What a handler does is decided by the RPC's shape, never by its name:

- unary, `body: "*"`: the JSON body is the request message;
- unary, no body: the query parameters are the request message (repeated fields repeat);
- a path template (`/logged-models/{model_id}`) fills the named string fields of the request
  from the path, over what the body or query said;
- client-streaming, `body: "<bytes field>"`: the query parameters fill the first request
  message and the raw request body follows in chunks, one message each, in that field;
- server-streaming, `response_body: "<bytes field>"`: the response is that field's raw bytes,
  chunk after chunk;
- server-streaming without response_body: newline-delimited JSON, one response message a line.

Unary calls run on a worker thread, except quick writes on SQLite (server/quick_writes.py).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import anyio
from google.api import annotations_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from trackwire import limits
from trackwire.server import quick_writes, sent_fields
from trackwire.server.http_gateway import transcode
from trackwire.server.http_gateway.streams import (
    read_limited_body,
    request_chunks,
    stream_response,
)
from trackwire.server.responses import ResponseFields

JSON = "application/json"


@dataclass(frozen=True)
class Binding:
    verb: str
    path: str
    body: str
    response_body: str
    method: MethodDescriptor
    # The request fields named by the path's `{field}` segments.
    path_fields: tuple[str, ...] = ()


def bindings(service: ServiceDescriptor) -> list[Binding]:
    """Every HTTP binding of every RPC of a service, additional_bindings included."""
    found = []
    for method in service.methods:
        rule = method.GetOptions().Extensions[annotations_pb2.http]
        for r in (rule, *rule.additional_bindings):
            verb = r.WhichOneof("pattern")
            if verb is None:
                continue
            if verb == "custom":
                verb, path = r.custom.kind.lower(), r.custom.path
            else:
                path = getattr(r, verb)
            path_fields = tuple(_TEMPLATE_FIELD.findall(path))
            for name in path_fields:
                field = method.input_type.fields_by_name.get(name)
                if field is None or field.type != FieldDescriptor.TYPE_STRING or field.is_repeated:
                    raise NotImplementedError(
                        f"{method.full_name}: path template field '{name}' must be a singular "
                        "string field of the request"
                    )
            found.append(Binding(verb.upper(), path, r.body, r.response_body, method, path_fields))
    return found


# `{name}` in a google.api.http path (Starlette's path parameters share the syntax).
_TEMPLATE_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def _bytes_field(method: MethodDescriptor, message_type, name: str) -> str:
    field = message_type.fields_by_name.get(name)
    if field is None or field.type != FieldDescriptor.TYPE_BYTES or field.is_repeated:
        raise NotImplementedError(
            f"{method.full_name}: the gateway streams only a singular bytes field, not '{name}'"
        )
    return name


def _handler(binding: Binding, call: Callable, write_lock: threading.RLock | None) -> Callable:
    method = binding.method
    request_codec = transcode.codec_for(method.input_type)

    if method.client_streaming:
        if method.server_streaming:
            raise NotImplementedError(f"{method.full_name}: bidirectional streams over HTTP")
        data_field = _bytes_field(method, method.input_type, binding.body)
        request_class = message_factory.GetMessageClass(method.input_type)

        async def client_stream(request: Request) -> Response:
            head = request_codec.from_query(request.query_params.multi_items())
            messages = request_chunks(
                request, head, lambda chunk: request_class(**{data_field: chunk})
            )
            response = await anyio.to_thread.run_sync(call, messages)
            return _json(response)

        return client_stream

    if binding.body and binding.body != "*":
        raise NotImplementedError(f"{method.full_name}: body '{binding.body}' is not supported")

    path_fields = binding.path_fields

    def from_path(message: Message, scope: Scope) -> Message:
        for name in path_fields:
            setattr(message, name, scope["path_params"][name])
        return message

    def query_fields(scope: Scope) -> dict:
        # Starlette's QueryParams(...).multi_items() is this list, without the dicts around it.
        items = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        return request_codec.query_fields(items)

    def parse_query(scope: Scope) -> Message:
        return from_path(request_codec.build(query_fields(scope)), scope)

    if method.server_streaming:
        if binding.response_body:
            field = _bytes_field(method, method.output_type, binding.response_body)

            def encode(response: Message) -> bytes:
                return getattr(response, field)

            media_type = "application/octet-stream"
        else:
            response_codec = transcode.codec_for(method.output_type)

            def encode(response: Message) -> bytes:
                return transcode.dumps(response_codec.to_dict(response)) + b"\n"

            media_type = "application/x-ndjson"

        async def server_stream(request: Request) -> Response:
            if binding.body:
                body = await read_limited_body(
                    request.scope, request.receive, limits.MAX_REQUEST_BYTES
                )
                message = request_codec.from_json(body)
            else:
                message = parse_query(request.scope)
            return await stream_response(lambda: call(message), encode, media_type)

        return server_stream

    response_codec = transcode.codec_for(method.output_type)

    def answer(message: Message, sent: tuple[str, ...] = ()) -> bytes:
        response = sent_fields.calling(call, message, sent)
        if type(response) is ResponseFields:  # the largest reads (see server/responses.py)
            fields = response_codec.fields_as_json(response.fields, response.set_only)
            return transcode.dumps(fields)
        return transcode.dumps(response_codec.to_dict(response))

    def answer_fields(fields: dict, scope: Scope | None = None) -> bytes:
        """The answer to the request of these constructor arguments (and path fields)."""
        message = request_codec.build(fields)
        if scope is not None:
            message = from_path(message, scope)
        return answer(message, request_codec.sent_optional(fields))

    def answer_body(body: bytes) -> bytes:
        return answer_fields(request_codec.json_fields(body))

    inline_lock = quick_writes.inline_lock(method, write_lock)
    in_thread = anyio.to_thread.run_sync

    async def unary(scope: Scope, receive: Receive, send: Send) -> None:
        # A bare ASGI endpoint (no Request object) that runs decoding, the service call and
        # encoding together, in one place; errors propagate to the app's exception handlers
        # as from any endpoint.
        if binding.body:
            body = await read_limited_body(scope, receive, limits.MAX_REQUEST_BYTES)
            if path_fields:  # small requests: decoded here, with their path
                fields = request_codec.json_fields(body)
                encoded = await quick_writes.run(
                    inline_lock, lambda f: answer_fields(f, scope), fields, in_thread
                )
            else:
                encoded = await quick_writes.run(inline_lock, answer_body, body, in_thread)
        else:
            fields = query_fields(scope)
            encoded = await quick_writes.run(
                inline_lock, lambda f: answer_fields(f, scope), fields, in_thread
            )
        await Response(encoded, media_type=JSON)(scope, receive, send)

    return _AsgiEndpoint(unary)


class _AsgiEndpoint:
    """Marks a coroutine function as an ASGI app for Starlette's Route (which would otherwise
    wrap a plain function as a Request handler)."""

    def __init__(self, app: Callable):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _json(response: Message) -> Response:
    return Response(transcode.message_to_json(response), media_type=JSON)


def rpc_routes(
    services_by_descriptor: dict[ServiceDescriptor, object],
    write_lock: threading.RLock | None = None,
) -> list[Route]:
    """Routes for every annotated RPC, calling the implementation's method of the same name.

    `write_lock`: the store's write lock when it serialises every write (SQLite).
    """
    routes = []
    for descriptor, implementation in services_by_descriptor.items():
        for binding in bindings(descriptor):
            call = getattr(implementation, binding.method.name)
            endpoint = _handler(binding, call, write_lock)
            for path in _prefixed(binding.path):
                routes.append(Route(path, endpoint, methods=[binding.verb]))
    # Fixed paths first: they are more specific than a template that could match them
    # (`logged-models/search` and `logged-models/{model_id}`), and app.py's router indexes
    # the fixed paths before the first template.
    return sorted(routes, key=lambda route: bool(route.param_convertors))


def _prefixed(path: str) -> list[str]:
    """The annotated path and, for /api/ paths, the same under MLflow's /ajax-api/."""
    if path.startswith("/api/"):
        return [path, "/ajax-api/" + path[len("/api/") :]]
    return [path]
