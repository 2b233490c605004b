"""One page of search results, as every search of the low-level client returns them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class Page(list, Generic[T]):
    """One page of search results; `token` fetches the next page (empty on the last one)."""

    def __init__(self, items: Iterable[T], token: str):
        super().__init__(items)
        self.token = token
