"""Validation of request values against MLflow's rules and trackwire's limits.

Every check raises InvalidArgument before anything is written, with MLflow's server's own
message (clients and tests parse them): the same field paths (`key`, `metrics[0].timestamp`),
the same order of checks and the same words.
"""

from __future__ import annotations

import json
import logging
import operator
import posixpath
import re
from collections.abc import Iterable

from trackwire import limits
from trackwire.errors import InvalidArgument

_KEY_CHARS = re.compile(r"^[/\w.\- :]*$")
_POINT_KEY = operator.itemgetter(0)  # of a (key, step, timestamp, value, ...) point
_POINT_TIMESTAMP = operator.itemgetter(2)
_log = logging.getLogger(__name__)


def text(value: str, field: str) -> str:
    """Any string the store keeps or looks up: PostgreSQL refuses NUL characters in text, so
    both stores refuse them here."""
    if "\x00" in value:
        raise InvalidArgument(
            f"Invalid value for parameter '{field}': it contains a NUL character."
        )
    return value


_SEE_DOCS = " See the API docs for more information about request parameters."


def _json(value: object) -> str:
    """A value as MLflow's messages show it: compact JSON, keys sorted."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def missing_value(path: str) -> str:
    return f"Missing value for required parameter '{path}'.{_SEE_DOCS}"


def invalid_type(path: str, value: object) -> str:
    """A JSON value of the wrong type for its field."""
    return (
        f"Invalid value {_json(value)} for parameter '{path}' supplied:  Hint: Value was of "
        f"type '{type(value).__name__}'.{_SEE_DOCS}"
    )


def invalid_value(path: str, value: object, reason: str) -> str:
    return f"Invalid value {_json(value)} for parameter '{path}' supplied: {reason}"


def exceeds_length(what: str, limit: int) -> str:
    return f"'{what}' exceeds the maximum length of {limit} characters"


def require(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument(missing_value(field))
    return text(value, field)


def key(value: str, path: str, length_name: str | None = None) -> None:
    """A metric, param or tag key: MLflow's characters, path rules and length, in MLflow's order
    and words. `path` names the key in the request; `length_name` in the length message."""
    if not value:
        raise InvalidArgument(missing_value(path))
    if not _KEY_CHARS.match(value):
        raise InvalidArgument(
            invalid_value(
                path,
                value,
                "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
                "spaces ( ), colon(:) and slashes (/).",
            )
        )
    # Keys may become file names: they must not resolve to another name.
    normalized = posixpath.normpath(value)
    if normalized != value or normalized.startswith(("..", "/")):
        raise InvalidArgument(
            invalid_value(
                path,
                value,
                "Names may be treated as files in certain cases, and must not resolve to other "
                f"names when treated as such. This name would resolve to {normalized!r}",
            )
        )
    if len(value) > limits.MAX_KEY_LENGTH:
        raise InvalidArgument(exceeds_length(length_name or path, limits.MAX_KEY_LENGTH))


def value_length(value: str, what: str, limit: int) -> None:
    text(value, what)
    if len(value) > limit:
        raise InvalidArgument(exceeds_length(what, limit))


def truncated(value: str, what: str, limit: int) -> str:
    """The value cut to `limit` characters: MLflow's server keeps the start of an over-long param
    or run tag value (and logs that it did) rather than refusing it, and so does trackwire."""
    text(value, what)
    if len(value) <= limit:
        return value
    _log.warning("%s of %d characters truncated to %d.", what, len(value), limit)
    return value[:limit]


def metric(point: tuple, path: str = "") -> None:
    """One metric point (key, step, timestamp, value, ...)."""
    key_, timestamp, value = point[0], point[2], point[3]
    key(key_, _join(path, "name"), "Metric name")
    if timestamp < 0:
        raise InvalidArgument(
            invalid_value(
                _join(path, "timestamp"),
                timestamp,
                f"metric '{key_}' (value={value}). Timestamp must be a nonnegative long "
                "(64-bit integer) ",
            )
        )


def metrics(points: list[tuple]) -> None:
    """The points of a batch, an error naming the first wrong one by its index. Checked in
    passes over the batch, a key once (a batch has few distinct keys); a batch found wrong is
    walked point by point to name it."""
    try:
        for key_ in set(map(_POINT_KEY, points)):
            key(key_, "")
        if not points or min(map(_POINT_TIMESTAMP, points)) >= 0:
            return
    except InvalidArgument:
        pass
    seen: set[str] = set()
    for i, point in enumerate(points):
        if point[0] not in seen or point[2] < 0:
            metric(point, f"metrics[{i}]")
            seen.add(point[0])


def param(key_: str, value: str, path: str = "") -> str:
    """A run's param: its value as stored (truncated)."""
    key(key_, _join(path, "key"), "Param key")
    return truncated(value, "Param value", limits.MAX_PARAM_VALUE_LENGTH)


def run_tag(key_: str, value: str, path: str = "") -> str:
    """A run's tag: its value as stored (truncated)."""
    key(key_, _join(path, "key"))
    return truncated(value, _join(path, "value"), limits.MAX_TAG_VALUE_LENGTH)


def run_name(value: str) -> str:
    """A run's name as stored (truncated)."""
    return truncated(value, "run_name", limits.MAX_RUN_NAME_LENGTH)


def tag(key_: str, value: str, limit: int, path: str = "") -> None:
    """A tag whose over-long values are refused (experiments', the registry's)."""
    key(key_, _join(path, "key"))
    value_length(value, _join(path, "value"), limit)


def experiment_tag(key_: str, value: str) -> None:
    tag(key_, value, limits.MAX_EXPERIMENT_TAG_VALUE_LENGTH)


def registry_tag(key_: str, value: str) -> None:
    tag(key_, value, limits.MAX_REGISTRY_TAG_VALUE_LENGTH)


def unbounded_entry(key_: str, value: str) -> None:
    """A logged model's param or tag: MLflow's server keeps any key and any value."""
    text(key_, "key")
    text(value, "value")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def experiment_name(name: str) -> None:
    if not name or not name.strip():
        raise InvalidArgument(missing_value("name"))
    value_length(name, "name", limits.MAX_EXPERIMENT_NAME_LENGTH)


def request_id(value: str) -> str:
    value_length(value, "request_id", limits.MAX_REQUEST_ID_LENGTH)
    return value


def batch_sizes(metrics: int, params: int, tags: int) -> None:
    """MLflow's per-request limits of LogBatch, with its wording."""
    for count, limit, what in (
        (metrics, limits.MAX_METRICS_PER_BATCH, "metrics"),
        (params, limits.MAX_PARAMS_PER_BATCH, "params"),
        (tags, limits.MAX_TAGS_PER_BATCH, "tags"),
    ):
        if count > limit:
            raise InvalidArgument(
                f"A batch logging request can contain at most {limit} {what}. "
                f"Got {count} {what}. Please split up {what} across multiple requests and try "
                "again."
            )
    total = metrics + params + tags
    if total > limits.MAX_ENTRIES_PER_BATCH:
        raise InvalidArgument(
            f"A batch logging request can contain at most {limits.MAX_ENTRIES_PER_BATCH} "
            f"metrics, params and tags in total. Got {total}. Please split up the data across "
            "multiple requests and try again."
        )


def distinct_param_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Params of one batch by key; the same key twice with two values is refused."""
    seen: dict[str, str] = {}
    for k, v in pairs:
        if k in seen and seen[k] != v:
            raise InvalidArgument(
                f"Duplicate parameter key {k!r} was submitted with different values "
                f"({seen[k]!r} and {v!r}) in one batch."
            )
        seen[k] = v
    return seen
