"""Responses that both wires know: a message, or its fields for the largest reads.

A page of runs or of metric history holds tens of thousands of entries. Building a protobuf
message for each, only for the HTTP gateway to read every one back into JSON, costs several
times the query. The service therefore answers those RPCs with `ResponseFields`: the
response message's constructor arguments (field name -> Python value, messages as dicts),
mapped once from the store's rows (store/rows.py). The gRPC wire and the embedded client get
`message()`; the HTTP gateway turns `fields` into JSON in place, by the rules it applies to
messages, generated from the same descriptor (http_gateway/transcode.py). Either way a
response is answered once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)
T = TypeVar("T")


class ResponseFields(Generic[M]):
    """A response's fields. `set_only`: they hold only the fields that are set, strings and
    bytes not empty and numbers present (as the store maps a page of runs or of history,
    store/rows.py), which spares the gateway a check of every field of every entry. The
    response's own fields left empty ("", [] or None) are dropped here: a service may name
    them all."""

    __slots__ = ("fields", "message_type", "set_only")

    def __init__(self, message_type: type[M], set_only: bool = False, **fields: Any):
        self.message_type = message_type
        self.set_only = set_only
        if set_only:
            fields = {
                name: v for name, v in fields.items() if v is not None and v != "" and v != []
            }
        self.fields = fields

    def message(self) -> M:
        return self.message_type(**self.fields)


def as_message(response: M | ResponseFields[M]) -> M:
    """The response message of a service's answer."""
    if type(response) is ResponseFields:
        return response.message()
    return response  # type: ignore[return-value]


class _Messages:
    """The RPC methods of a service, each answering its response message (set per RPC by
    `answering_messages`)."""


def answering_messages(descriptor: ServiceDescriptor, service: T) -> T:
    """`service` for callers that take messages only: each unary RPC's answer goes through
    `as_message` (typed as the service: callers use it in its place)."""
    wrapped = _Messages()
    for method in descriptor.methods:
        call = getattr(service, method.name)
        if not method.server_streaming:
            call = _answering_message(call)
        setattr(wrapped, method.name, call)
    return cast(T, wrapped)


def _answering_message(call: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def answer(request: Any) -> Any:
        return as_message(call(request))

    return answer
