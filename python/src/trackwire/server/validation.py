"""Validation of request values against MLflow's rules and trackwire's limits.

Every check raises InvalidArgument with a message naming the field and the limit,
before anything is written.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from trackwire import limits
from trackwire.errors import InvalidArgument

_KEY_CHARS = re.compile(r"^[/\w.\- ]*$")


def text(value: str, field: str) -> str:
    """Any string the store keeps or looks up: PostgreSQL refuses NUL characters in text, so
    both stores refuse them here."""
    if "\x00" in value:
        raise InvalidArgument(
            f"Invalid value for parameter '{field}': it contains a NUL character."
        )
    return value


def require(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument(f"Missing value for required parameter '{field}'.")
    return text(value, field)


def key(value: str, what: str) -> None:
    """A metric, param or tag key: MLflow's characters, length and path rules."""
    if not value:
        raise InvalidArgument(f"Missing value for required parameter '{what} key'.")
    if len(value) > limits.MAX_KEY_LENGTH:
        raise InvalidArgument(
            f"'{what} key' exceeds the maximum length of {limits.MAX_KEY_LENGTH} characters "
            f"(got {len(value)}): {value[:40]!r}..."
        )
    if not _KEY_CHARS.match(value):
        raise InvalidArgument(
            f"Invalid {what} key {value!r}: keys may only contain alphanumerics, underscores "
            "(_), dashes (-), periods (.), spaces ( ), and slashes (/)."
        )
    # Keys may become file names: they must not resolve to another name.
    if value.startswith("/") or posixpath.normpath(value) != value or ".." in value.split("/"):
        raise InvalidArgument(
            f"Invalid {what} key {value!r}: keys must be normalized relative paths "
            "(no leading '/', no '..', '.', or '//' segments)."
        )


def value_length(value: str, what: str, limit: int) -> None:
    text(value, what)
    if len(value) > limit:
        raise InvalidArgument(
            f"'{what}' of length {len(value)} exceeds the maximum length of {limit} characters."
        )


def param(key_: str, value: str) -> None:
    key(key_, "param")
    value_length(value, f"param value of {key_!r}", limits.MAX_PARAM_VALUE_LENGTH)


def tag(key_: str, value: str, what: str = "tag") -> None:
    key(key_, what)
    value_length(value, f"{what} value of {key_!r}", limits.MAX_TAG_VALUE_LENGTH)


def experiment_name(name: str) -> None:
    if not name or not name.strip():
        raise InvalidArgument("Missing value for required parameter 'name'.")
    value_length(name, "experiment name", limits.MAX_EXPERIMENT_NAME_LENGTH)


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
