"""Opaque keyset page tokens: base64url of compact JSON, signed.

A token carries the sort-key values of the last row of a page and a fingerprint of the
query that produced it, so a token is only accepted back by the same query (same filter,
order, scope and view), whatever the page size. An HMAC with the store's key (shared by
every replica) makes any token the server did not issue fail before its content is parsed:
a tampered token is a client mistake, never a value that reaches SQL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from trackwire.errors import InvalidArgument

SortValue = None | int | float | str

_VERSION = 2
_SIGNATURE_BYTES = 16
# Far more than any token the server issues (a few sort keys of bounded length).
_MAX_TOKEN_CHARS = 16_384


def query_fingerprint(*parts: Any) -> str:
    canonical = json.dumps(parts, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _signature(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def encode(key: bytes, fingerprint: str, last_values: Sequence[SortValue]) -> str:
    # Python's json writes ±Infinity, which it reads back: metric values can be infinite.
    payload = json.dumps(
        {"v": _VERSION, "q": fingerprint, "k": list(last_values)}, separators=(",", ":")
    ).encode()
    signed = _signature(key, payload) + payload
    return base64.urlsafe_b64encode(signed).decode().rstrip("=")


def decode(key: bytes, token: str, fingerprint: str, key_count: int) -> list[SortValue]:
    """The last row's sort-key values, or InvalidArgument for a token this server did not
    issue, or issued for another query."""
    try:
        if len(token) > _MAX_TOKEN_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        signature, payload = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
        if not hmac.compare_digest(signature, _signature(key, payload)):
            raise ValueError("bad signature")
        decoded = json.loads(payload)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _not_issued(token) from None
    if not isinstance(decoded, dict) or decoded.get("v") != _VERSION:
        raise _not_issued(token)
    if decoded.get("q") != fingerprint:
        raise InvalidArgument(
            "The page token belongs to a different request: a token must be used with the "
            "same filter, order_by, view type and experiments (or run and metric) as the "
            "request that returned it"
        )
    values = decoded.get("k")
    if (
        not isinstance(values, list)
        or len(values) != key_count
        or not all(value is None or type(value) in (int, float, str) for value in values)
    ):
        raise _not_issued(token)
    return values


def _not_issued(token: str) -> InvalidArgument:
    shown = token if len(token) <= 40 else token[:37] + "..."
    return InvalidArgument(f"Invalid page token {shown!r}: not a token issued by this server")
