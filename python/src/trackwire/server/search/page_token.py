"""Opaque keyset page tokens: base64url of compact JSON.

A token carries the sort-key values of the last row of a page and a fingerprint
of the query that produced it, so a token is only accepted back by the same
query (same filter, order, scope and view), whatever the page size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from trackwire.errors import InvalidArgument

SortValue = None | int | float | str

_VERSION = 1


def query_fingerprint(*parts: Any) -> str:
    canonical = json.dumps(parts, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode(fingerprint: str, last_values: Sequence[SortValue]) -> str:
    # Python's json writes ±Infinity, which it reads back: metric values can be infinite.
    payload = json.dumps(
        {"v": _VERSION, "q": fingerprint, "k": list(last_values)}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(token: str, fingerprint: str, key_count: int) -> list[SortValue]:
    """The last row's sort-key values, or InvalidArgument for a token of another query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidArgument(
            f"Invalid page token {_shorten(token)!r}: not a token issued by this server"
        ) from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != _VERSION
        or not isinstance(payload.get("q"), str)
    ):
        raise InvalidArgument(
            f"Invalid page token {_shorten(token)!r}: not a token issued by this server"
        )
    if payload.get("q") != fingerprint:
        raise InvalidArgument(
            "The page token belongs to a different search: a token must be used with the same "
            "filter, order_by, view type and experiments as the request that returned it"
        )
    values = payload.get("k")
    if (
        not isinstance(values, list)
        or len(values) != key_count
        or not all(value is None or type(value) in (int, float, str) for value in values)
    ):
        raise InvalidArgument(
            f"Invalid page token {_shorten(token)!r}: not a token issued by this server"
        )
    return values


def _shorten(token: str) -> str:
    return token if len(token) <= 40 else token[:37] + "..."
