"""The store's page-token key: created once by the first server that opens the store, read
by every replica, so a token issued by one is accepted by all (see search/page_token.py)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import select

from trackwire.server.search import page_token
from trackwire.server.store import schema as t
from trackwire.server.store.database import Database

_KEY_NAME = "page_token_hmac"


class PageTokens:
    """Signs and checks the page tokens of one store."""

    def __init__(self, db: Database):
        with db.write() as conn:
            conn.execute(
                db.insert(t.store_keys)
                .values(name=_KEY_NAME, value=secrets.token_hex(32))
                .on_conflict_do_nothing()
            )
            stored = conn.execute(
                select(t.store_keys.c.value).where(t.store_keys.c.name == _KEY_NAME)
            ).scalar_one()
        self._key = bytes.fromhex(stored)

    def encode(self, fingerprint: str, last_values: Sequence[page_token.SortValue]) -> str:
        return page_token.encode(self._key, fingerprint, last_values)

    def decode(self, token: str, fingerprint: str, key_count: int) -> list[page_token.SortValue]:
        return page_token.decode(self._key, token, fingerprint, key_count)
