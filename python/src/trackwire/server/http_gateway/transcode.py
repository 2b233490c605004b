"""JSON <-> protobuf transcoding in MLflow's dialect, driven by message descriptors.

protobuf's json_format differs from what MLflow clients send and read: it writes int64 as
strings and enums by their full names (RUN_STATUS_RUNNING), and it is pure Python and slow.
This module walks precompiled per-message field tables instead:

- field names are the proto (snake_case) names; camelCase json names are accepted on input;
- int64 values are JSON numbers; numeric strings are accepted on input, as protobuf allows;
- enum values are written without their type prefix (RunStatus RUN_STATUS_RUNNING -> "RUNNING",
  ViewType VIEW_TYPE_ALL -> "ALL"), and both forms (and numbers) are accepted on input; as in
  MLflow's server, a string naming no value leaves the field unset (or drops the item of a
  repeated field), and so does a number naming none, except in a field with explicit presence
  (UpdateRun's status), where it is refused;
- NaN and +/-Infinity doubles are written "NaN", "Infinity", "-Infinity" (what MLflow's own
  server writes and its clients parse); on input the strings and the bare JSON literals that
  Python's json module emits are both accepted;
- unknown fields are ignored, as MLflow does;
- fields annotated `(google.api.field_behavior) = REQUIRED` must be present and not empty
  (MLflow's server checks the JSON the same way: 0 is a value, "" and null are not);
- errors in the input are worded as MLflow's server words them (trackwire/validation.py);
- on output, repeated fields are written when non-empty, fields with presence when set,
  strings and enums when not empty/unspecified, and numbers and booleans always (MLflow's
  server sets them explicitly, and clients index `file_info["is_dir"]` directly). Empty
  strings are left out so an empty `next_page_token` reads as "no more pages".

Speed: each message type's `to_dict` is generated Python code, straight-line over its fields,
compiled on first use (and so is `fields_as_json`, the same rules over a response's fields,
which the largest reads answer with instead of a message: server/responses.py). Input takes
a fast path (orjson, exact JSON types only) and falls back to the generic, error-reporting walk
(on the json module's decoding) for anything else, so the fast path never changes a result,
only how quickly the common one is reached.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any

import orjson
from google.api import field_behavior_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from trackwire.errors import InvalidArgument
from trackwire.validation import invalid_type, missing_value

_INT_RANGES = {
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
}
_FLOATS = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)
_SPECIAL_FLOATS_IN = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

# Field kinds, decided once per field.
_INT, _FLOAT, _BOOL, _STRING, _BYTES, _ENUM, _MESSAGE = range(7)


def _kind(field: FieldDescriptor) -> int:
    if field.type in _INT_RANGES:
        return _INT
    if field.type in _FLOATS:
        return _FLOAT
    return {
        FieldDescriptor.TYPE_BOOL: _BOOL,
        FieldDescriptor.TYPE_STRING: _STRING,
        FieldDescriptor.TYPE_BYTES: _BYTES,
        FieldDescriptor.TYPE_ENUM: _ENUM,
        FieldDescriptor.TYPE_MESSAGE: _MESSAGE,
    }[field.type]


def _enum_prefix(enum: EnumDescriptor) -> str:
    """RunStatus -> "RUN_STATUS_": the prefix buf's lint makes every value carry."""
    snake = "".join("_" + c if c.isupper() and i else c for i, c in enumerate(enum.name))
    return snake.upper() + "_"


class _Enum:
    """MLflow names of one enum: full names minus the type prefix."""

    def __init__(self, enum: EnumDescriptor):
        prefix = _enum_prefix(enum)
        self.name_of: dict[int, str] = {}
        self.number_of: dict[str, int] = {}
        for value in enum.values:
            short = value.name.removeprefix(prefix)
            self.name_of[value.number] = short
            self.number_of[short] = value.number
            self.number_of[value.name] = value.number
        self.full_name = enum.full_name


class _Field:
    __slots__ = ("codec", "desc", "enum", "int_range", "kind", "name", "presence", "repeated")

    def __init__(self, field: FieldDescriptor):
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            raise NotImplementedError(
                f"map field {field.full_name} is not supported by the gateway"
            )
        self.desc = field
        self.name = field.name
        self.kind = _kind(field)
        self.repeated = field.is_repeated
        self.presence = field.has_presence and not self.repeated
        self.codec: MessageCodec | None = None  # filled lazily: types may be recursive
        self.enum = _Enum(field.enum_type) if field.enum_type is not None else None
        self.int_range = _INT_RANGES.get(field.type)


def _behaves(field: FieldDescriptor, behavior: int) -> bool:
    return behavior in field.GetOptions().Extensions[field_behavior_pb2.field_behavior]


def _required(field: FieldDescriptor) -> bool:
    return _behaves(field, field_behavior_pb2.REQUIRED)


def _all_set(entries: list[dict[str, Any]], names: tuple[str, ...]) -> bool:
    """Whether every entry holds every field of `names`, not empty: C-level passes."""
    for name in names:
        values = list(map(dict.get, entries, repeat(name)))
        if None in values or "" in values:
            return False
    return True


def _path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


class _Slow(Exception):
    """Raised by the fast input path for anything it does not handle; the generic walk does."""


# Doubles of this magnitude or more take the generic path on input: orjson parses integer
# literals beyond 64 bits as doubles, where the json module keeps them exact.
_BIG = float(2**63)
_INF = math.inf


def non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _fast_string(value: Any) -> str:
    if type(value) is str:
        return value
    raise _Slow


def _fast_float(value: Any) -> float:
    kind = type(value)
    if kind is float and -_BIG < value < _BIG:
        return value
    if kind is int:
        return float(value)
    raise _Slow


def _fast_bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    raise _Slow


def _always_slow(value: Any) -> Any:
    raise _Slow


def _fast_list(convert: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def fast_list(value: Any) -> list[Any]:
        if type(value) is not list:
            raise _Slow
        return [convert(v) for v in value]

    return fast_list


class MessageCodec:
    """Converts one message type to and from MLflow-style JSON values."""

    def __init__(self, descriptor: Descriptor):
        self.descriptor = descriptor
        self.message_class = message_factory.GetMessageClass(descriptor)
        self.fields = [_Field(f) for f in descriptor.fields]
        self.by_name: dict[str, _Field] = {}
        for field in self.fields:
            self.by_name[field.desc.json_name] = field
            self.by_name[field.name] = field
        self.required = [f for f in self.fields if _required(f.desc)]
        # Fields whose absence differs from their zero on this wire (server/sent_fields.py).
        self.optional = tuple(
            f.name for f in self.fields if _behaves(f.desc, field_behavior_pb2.OPTIONAL)
        )
        # fields_as_json compiled, by its set_only.
        self._fields_as_json: dict[bool, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        # Message fields whose own fields include required ones: checked item by item.
        self.with_required = [
            f
            for f in self.fields
            if f.desc.message_type is not None
            and any(_required(g) for g in f.desc.message_type.fields)
        ]

    def sub(self, field: _Field) -> MessageCodec:
        if field.codec is None:
            assert field.desc.message_type is not None
            field.codec = codec_for(field.desc.message_type)
        return field.codec

    # --- output --------------------------------------------------------------------------

    def to_dict(self, message: Message) -> dict[str, Any]:
        """The JSON object of a message (compiled on first use; see _compile_to_dict)."""
        # The compiled function replaces this method on the instance: later calls go straight
        # to it, and generated code calls sub-messages' codecs the same way.
        compiled = self.to_dict = self._compile_to_dict()  # type: ignore[method-assign,assignment]
        return compiled(message)

    def _compile_to_dict(self) -> Callable[[Message], dict[str, Any]]:
        """Straight-line Python for this message type's fields, with the rules of the module
        docstring decided here once instead of per field per message."""
        env: dict[str, Any] = {"_INF": _INF, "non_finite": non_finite, "_b64": _b64}
        lines = ["def to_dict(m):", "    out = {}"]
        for i, f in enumerate(self.fields):
            name = f.name
            if f.kind == _FLOAT:
                convert = "(x if -_INF < x < _INF else non_finite(x))"
            elif f.kind == _MESSAGE:
                env[f"c{i}"] = self.sub(f)
                convert = f"c{i}.to_dict(x)"
            elif f.kind == _ENUM:
                env[f"e{i}"] = f.enum.name_of  # type: ignore[union-attr]
                convert = f"e{i}.get(x, x)"
            elif f.kind == _BYTES:
                convert = "_b64(x)"
            else:
                convert = "x"
            key = repr(name)
            if f.repeated:
                each = "list(x)" if convert == "x" else f"[{convert} for x in x]"
                lines += [f"    x = m.{name}", "    if x:", f"        out[{key}] = {each}"]
            elif f.presence:
                lines += [f"    if m.HasField({key}):", f"        x = m.{name}"]
                lines.append(f"        out[{key}] = {convert}")
            elif f.kind in (_STRING, _BYTES, _ENUM):
                lines += [f"    x = m.{name}", "    if x:", f"        out[{key}] = {convert}"]
            elif convert == "x":
                lines.append(f"    out[{key}] = m.{name}")
            else:
                lines += [f"    x = m.{name}", f"    out[{key}] = {convert}"]
        lines.append("    return out")
        exec(compile("\n".join(lines), f"<to_dict {self.descriptor.full_name}>", "exec"), env)
        return env["to_dict"]

    def fields_as_json(self, fields: dict[str, Any], set_only: bool = False) -> dict[str, Any]:
        """Turns a message's constructor fields (field name -> value, messages as such dicts;
        see server/responses.py) into the JSON object `to_dict` writes for the message they
        build, in place: the fields are made for one answer, and most of them are JSON as
        they are, so converting in place spares a dict per entry of a large page (compiled
        on first use). The keys keep the fields' order: the store writes them in the
        schema's order, which `to_dict` follows.

        `set_only`: the dicts hold only fields that are set, strings and bytes not empty and
        numbers present (ResponseFields.set_only), so only the values that JSON spells
        differently are converted: non-finite doubles, enums and bytes."""
        compiled = self._fields_as_json.get(set_only)
        if compiled is None:
            compiled = self._fields_as_json[set_only] = self._compile_fields_as_json(set_only)
        return compiled(fields)

    def _compile_fields_as_json(self, set_only: bool) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """The rules of `to_dict` over a dict of fields, where a field left out or None is a
        field not set: values already right are left alone. The entries of a repeated
        message field are converted inline, in one loop (a call per entry would cost as
        much as the conversion)."""
        env: dict[str, Any] = {
            "_INF": _INF,
            "non_finite": non_finite,
            "_b64": _b64,
            "_MISSING": object(),
        }
        body = self._json_statements("m", env, "", inline_entries=True, set_only=set_only)
        lines = ["def fields_as_json(m):", *("    " + line for line in body), "    return m"]
        source = f"<fields_as_json {self.descriptor.full_name}>"
        exec(compile("\n".join(lines), source, "exec"), env)
        return env["fields_as_json"]

    def _json_statements(
        self, m: str, env: dict[str, Any], prefix: str, *, inline_entries: bool, set_only: bool
    ) -> list[str]:
        """Statements converting the fields dict named `m` in place (names in `env` start
        with `prefix`; `set_only` as fields_as_json's)."""
        lines = []
        for i, f in enumerate(self.fields):
            key, name = repr(f.name), f"{prefix}{i}"
            get = f"x = {m}.get({key})"
            if f.kind == _MESSAGE:
                sub = self.sub(f)
                env[f"c{name}"] = sub
                if f.repeated and inline_entries:
                    entry = f"y{name}"
                    inner = sub._json_statements(
                        entry, env, f"{name}_", inline_entries=False, set_only=set_only
                    )
                    loop = [f"for {entry} in x:", *("    " + line for line in inner or ["pass"])]
                    lines += [get, "if x:", *("    " + line for line in loop)]
                elif f.repeated:
                    each = f"c{name}.fields_as_json(y, {set_only})"
                    lines += [get, "if x:", "    for y in x:", f"        {each}"]
                else:
                    lines += [
                        get,
                        "if x is not None:",
                        f"    c{name}.fields_as_json(x, {set_only})",
                    ]
                if not set_only:
                    lines += ["else:", f"    {m}.pop({key}, None)"]
                continue
            if f.kind == _FLOAT:
                convert, needed = "non_finite(x)", "not -_INF < x < _INF"
            elif f.kind == _ENUM:
                env[f"e{name}"] = f.enum.name_of  # type: ignore[union-attr]
                convert, needed = f"e{name}.get(x, x)", "True"
            elif f.kind == _BYTES:
                convert, needed = "_b64(x)", "True"
            else:
                convert, needed = "x", ""
            if set_only:
                if not needed:
                    continue  # written as it is
                if f.repeated:
                    each = (
                        "(x if -_INF < x < _INF else non_finite(x))"
                        if f.kind == _FLOAT
                        else convert
                    )
                    lines += [get, "if x:", f"    {m}[{key}] = [{each} for x in x]"]
                else:
                    lines += [get, f"if x is not None and {needed}:", f"    {m}[{key}] = {convert}"]
                continue
            if f.repeated:
                lines += [get, "if not x:", f"    {m}.pop({key}, None)"]
                if needed:
                    each = (
                        "(x if -_INF < x < _INF else non_finite(x))"
                        if f.kind == _FLOAT
                        else convert
                    )
                    lines += ["else:", f"    {m}[{key}] = [{each} for x in x]"]
                continue
            if f.presence or f.kind in (_STRING, _BYTES, _ENUM):
                # A field left out costs one lookup: most entries of a large page leave most
                # of the optional fields out, and a pop of each would cost a fifth of the page.
                absent = "x is None" if f.presence else "not x"
                lines += [
                    f"x = {m}.get({key}, _MISSING)",
                    "if x is _MISSING:",
                    "    pass",
                    f"elif {absent}:",
                    f"    del {m}[{key}]",
                ]
            else:  # numbers and booleans are always written
                default = {_FLOAT: "0.0", _BOOL: "False"}.get(f.kind, "0")
                lines += [get, "if x is None:", f"    {m}[{key}] = {default}"]
            if needed:
                lines += [f"elif {needed}:", f"    {m}[{key}] = {convert}"]
        return lines

    # --- input ---------------------------------------------------------------------------

    def from_json(self, body: bytes) -> Message:
        """The message for a JSON request body (see loads_body)."""
        return self.build(self.json_fields(body))

    def from_query(self, items: Iterable[tuple[str, str]]) -> Message:
        """The message for URL query parameters; repeated fields take every occurrence."""
        return self.build(self.query_fields(items))

    def dict_fields(self, data: Any) -> dict[str, Any]:
        """The checked constructor arguments for a decoded JSON object: the fields it names."""
        try:
            kwargs = self.fast_kwargs(data)
        except _Slow:
            kwargs = self._kwargs(data, "")
        self.check_required(kwargs, "")
        return kwargs

    def json_fields(self, body: bytes) -> dict[str, Any]:
        """The checked constructor arguments for a JSON request body (see loads_body)."""
        try:
            kwargs = self.fast_kwargs(_fast_loads(body))
        except (_Slow, ValueError):
            # Anything unusual, malformed JSON included, is decoded again by the json module
            # and walked by the generic path: its results and error messages are the reference.
            kwargs = self._kwargs(loads_body(body), "")
        self.check_required(kwargs, "")
        return kwargs

    def sent_optional(self, kwargs: dict[str, Any]) -> tuple[str, ...]:
        """The OPTIONAL fields among the constructor arguments (see server/sent_fields.py)."""
        return tuple(name for name in self.optional if name in kwargs)

    def check_required(self, kwargs: dict[str, Any], path: str) -> None:
        """Raises MLflow's "Missing value" for the first required field absent or empty, in
        field order, then looks into the sub-messages that have required fields."""
        missing = self.first_missing(kwargs)
        if missing is not None:
            raise InvalidArgument(missing_value(_path(path, missing)))

    def first_missing(self, kwargs: dict[str, Any]) -> str | None:
        """The path below this message of the first required field absent or empty (see
        check_required); None when there is none. Compiled on first use: it runs for every
        entry of a batch."""
        compiled = self.first_missing = self._compile_first_missing()  # type: ignore[method-assign,assignment]
        return compiled(kwargs)

    def _compile_first_missing(self) -> Callable[[dict[str, Any]], str | None]:
        env: dict[str, Any] = {"_all_set": _all_set}
        lines = ["def first_missing(m):"]
        for f in self.required:
            lines += [f"    x = m.get({f.name!r})", "    if x is None or x == '':"]
            lines.append(f"        return {f.name!r}")
        for i, f in enumerate(self.with_required):
            sub = env[f"c{i}"] = self.sub(f)
            lines += [f"    x = m.get({f.name!r})", "    if x is not None:"]
            if f.repeated and not sub.with_required:
                # A pass a field over all the entries (a batch has thousands); they are
                # walked, inline, only to name the first one wrong.
                names = tuple(g.name for g in sub.required)
                lines += [
                    f"        if not _all_set(x, {names!r}):",
                    "            for i, y in enumerate(x):",
                ]
                for g in sub.required:
                    lines += [
                        f"                z = y.get({g.name!r})",
                        "                if z is None or z == '':",
                    ]
                    lines.append(f"                    return f'{f.name}[{{i}}].{g.name}'")
            elif f.repeated:
                lines += [
                    "        for i, y in enumerate(x):",
                    f"            below = c{i}.first_missing(y)",
                    "            if below is not None:",
                    f"                return f'{f.name}[{{i}}].{{below}}'",
                ]
            else:
                lines += [
                    f"        below = c{i}.first_missing(x)",
                    "        if below is not None:",
                    f"            return f'{f.name}.{{below}}'",
                ]
        lines.append("    return None")
        source = f"<first_missing {self.descriptor.full_name}>"
        exec(compile("\n".join(lines), source, "exec"), env)
        return env["first_missing"]

    def build(self, kwargs: dict[str, Any]) -> Message:
        try:
            return self.message_class(**kwargs)
        except (TypeError, ValueError) as e:  # defensive: _kwargs validates types and ranges
            raise InvalidArgument(f"Invalid request: {e}") from e

    def fast_kwargs(self, data: Any) -> dict[str, Any]:
        """Constructor arguments for the common case, where every value already has its JSON
        type; raises _Slow otherwise (compiled on first use, like to_dict)."""
        compiled = self.fast_kwargs = self._compile_fast_kwargs()  # type: ignore[method-assign,assignment]
        return compiled(data)

    def _compile_fast_kwargs(self) -> Callable[[Any], dict[str, Any]]:
        converters: dict[str, tuple[str, Callable[[Any], Any]]] = {}
        for key, f in self.by_name.items():
            convert = self._fast_value(f)
            if f.repeated:
                convert = _fast_list(convert)
            converters[key] = (f.name, convert)

        def fast_kwargs(data: Any) -> dict[str, Any]:
            if type(data) is not dict:
                raise _Slow
            kwargs = {}
            for key, value in data.items():
                found = converters.get(key)
                if found is not None and value is not None:
                    kwargs[found[0]] = found[1](value)
            return kwargs

        return fast_kwargs

    def _fast_value(self, f: _Field) -> Callable[[Any], Any]:
        kind = f.kind
        if kind == _STRING:
            return _fast_string
        if kind == _FLOAT:
            return _fast_float
        if kind == _BOOL:
            return _fast_bool
        if kind == _INT:
            low, high = f.int_range  # type: ignore[misc]

            def fast_int(value: Any) -> int:
                if type(value) is int and low <= value <= high:
                    return value
                raise _Slow

            return fast_int
        if kind == _ENUM:
            number_of = f.enum.number_of  # type: ignore[union-attr]

            def fast_enum(value: Any) -> int:
                if type(value) is str:
                    number = number_of.get(value)
                    if number is not None:
                        return number
                raise _Slow

            return fast_enum
        if kind == _MESSAGE:
            codec = self.sub(f)
            return lambda value: codec.fast_kwargs(value)
        return _always_slow  # bytes: base64 validation stays in one place

    def _kwargs(self, data: Any, path: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            if path:
                raise InvalidArgument(invalid_type(path, data))
            raise InvalidArgument("Invalid value for the request body: expected a JSON object")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            f = self.by_name.get(key)
            if f is None or value is None:
                continue  # unknown fields are ignored; null means "not set"
            name = f"{path}.{f.name}" if path else f.name
            if f.repeated:
                if not isinstance(value, list):
                    raise InvalidArgument(invalid_type(name, value))
                items = (self._in_value(f, v, f"{name}[{i}]") for i, v in enumerate(value))
                kwargs[f.name] = [item for item in items if item is not _UNKNOWN_ENUM_NAME]
            else:
                item = self._in_value(f, value, name)
                if item is not _UNKNOWN_ENUM_NAME:
                    kwargs[f.name] = item
        return kwargs

    def _in_value(self, f: _Field, value: Any, name: str) -> Any:
        kind = f.kind
        if kind == _STRING:
            if isinstance(value, str):
                return value
        elif kind == _FLOAT:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str):
                if value in _SPECIAL_FLOATS_IN:
                    return _SPECIAL_FLOATS_IN[value]
                try:
                    return float(value)
                except ValueError:
                    pass
        elif kind == _INT:
            number = _as_int(value)
            if number is not None:
                low, high = f.int_range  # type: ignore[misc]
                if low <= number <= high:
                    return number
        elif kind == _MESSAGE:
            return self.sub(f)._kwargs(value, name)
        elif kind == _BOOL:
            if isinstance(value, bool):
                return value
        elif kind == _ENUM:
            enum: _Enum = f.enum  # type: ignore[assignment]
            if isinstance(value, str):
                number = enum.number_of.get(value)
                if number is None:  # a number written as a string, or no value's name
                    number = _as_int(value)
                return number if number in enum.name_of else _UNKNOWN_ENUM_NAME
            if isinstance(value, int) and not isinstance(value, bool):
                if value in enum.name_of:
                    return value
                # Where leaving the field unset means "no change" (a run's status), a number
                # naming nothing is refused; elsewhere (a view type) it is the default.
                if not f.presence:
                    return _UNKNOWN_ENUM_NAME
        elif kind == _BYTES and isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except binascii.Error:
                pass
        raise InvalidArgument(invalid_type(name, value))

    def query_fields(self, items: Iterable[tuple[str, str]]) -> dict[str, Any]:
        """The checked constructor arguments for URL query parameters; repeated fields take
        every occurrence."""
        data: dict[str, Any] = {}
        for key, raw in items:
            f = self.by_name.get(key)
            if f is None:
                continue
            if f.kind == _MESSAGE:
                raise InvalidArgument(f"Field '{f.name}' cannot be given as a query parameter")
            value = _query_scalar(f, raw)
            if f.repeated:
                data.setdefault(f.name, []).append(value)
            else:
                data.setdefault(f.name, value)  # the first occurrence wins, as in MLflow
        return self.dict_fields(data)


# What _in_value answers for an enum string that names no value: the field stays unset.
_UNKNOWN_ENUM_NAME = object()


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                number = float(value)  # protobuf's JSON also accepts "1e3"
            except ValueError:
                return None
            return int(number) if number.is_integer() else None
    return None


def _query_scalar(f: _Field, raw: str) -> Any:
    """Query values are strings; only booleans need translating before dict_fields."""
    if f.kind == _BOOL:
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise InvalidArgument(f"Invalid boolean value: {raw}, must be 'true' or 'false'.")
        return lowered == "true"
    return raw


_CODECS: dict[str, MessageCodec] = {}


def codec_for(descriptor: Any) -> MessageCodec:
    """The codec of a message type (a Descriptor, from either protobuf backend)."""
    codec = _CODECS.get(descriptor.full_name)
    if codec is None:
        codec = _CODECS[descriptor.full_name] = MessageCodec(descriptor)
    return codec


def message_to_json(message: Message) -> bytes:
    """The MLflow-style JSON body of a response message."""
    return dumps(codec_for(message.DESCRIPTOR).to_dict(message))


def json_to_message(body: bytes, message_class: type[Message]) -> Message:
    """The request message for a JSON body; an empty body is an empty message."""
    return codec_for(message_class.DESCRIPTOR).from_json(body)


def _fast_loads(body: bytes) -> Any:
    """loads_body's common case by orjson, which raises ValueError on anything it does not take
    (bare NaN/Infinity, lone surrogates, encodings other than UTF-8, an empty body)."""
    data = orjson.loads(body)
    if type(data) is str:
        data = orjson.loads(data)
    return data


def loads_body(body: bytes) -> Any:
    """Decodes a request body, accepting bare NaN/Infinity as Python's json module writes them.

    An empty body is an empty object, and a body that decodes to a string is decoded again:
    older MLflow clients double-encode their JSON, and MLflow's server accepts both.
    """
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
        if isinstance(data, str):
            data = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"Malformed JSON in the request body: {e}") from e
    except RecursionError:
        raise InvalidArgument("Malformed JSON in the request body: nested too deeply") from None
    return data


def dumps(value: Any) -> bytes:
    """Compact JSON (UTF-8, not ASCII-escaped); non-finite doubles never get here (to_dict)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # lone surrogates, integers beyond 64 bits
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
