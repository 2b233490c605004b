"""Keyset pagination shared by the run and experiment searches.

A search is a base SELECT plus a total order: a list of sort columns ending in a
unique key. A page asks for one row more than it returns, to know whether another
page follows, and the next page starts strictly after the last returned row's
sort values — no OFFSET, so every page costs the same however deep it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

from trackwire.errors import InvalidArgument
from trackwire.server.search.page_token import SortValue
from trackwire.server.store.page_tokens import PageTokens
from trackwire.v1 import entities_pb2


@dataclass(frozen=True)
class SortColumn:
    """One column of the total order.

    A nullable value must be preceded by a column that sorts its NULLs last (a
    0/1/2 "missing" rank), so within equal earlier columns a value is either
    always NULL or never NULL; the keyset predicate relies on that.
    """

    expression: ColumnElement
    ascending: bool


_STAGES_BY_VIEW: dict[int, tuple[str, ...]] = {
    entities_pb2.VIEW_TYPE_UNSPECIFIED: ("active",),
    entities_pb2.VIEW_TYPE_ACTIVE_ONLY: ("active",),
    entities_pb2.VIEW_TYPE_DELETED_ONLY: ("deleted",),
    entities_pb2.VIEW_TYPE_ALL: ("active", "deleted"),
}


def lifecycle_stages(view_type: int) -> tuple[str, ...]:
    """The lifecycle_stage values a ViewType selects (UNSPECIFIED means ACTIVE_ONLY)."""
    try:
        return _STAGES_BY_VIEW[view_type]
    except KeyError:
        raise InvalidArgument(
            f"Invalid view type {view_type}: use ACTIVE_ONLY (1), DELETED_ONLY (2) or ALL (3)"
        ) from None


def check_max_results(
    max_results: int, *, default: int, maximum: int, over_limit: str | None = None
) -> int:
    """The page size for `max_results` (0: the default), refused in MLflow's words; `over_limit`
    replaces the message for a value above the maximum where MLflow words it otherwise."""
    if max_results == 0:
        return default
    invalid = f"Invalid value {max_results} for parameter 'max_results' supplied."
    if max_results < 0:
        raise InvalidArgument(f"{invalid} It must be a positive integer")
    if max_results > maximum:
        raise InvalidArgument(over_limit or f"{invalid} It must be at most {maximum}")
    return max_results


class SearchPlan:
    """The statement for one page of a search, and how to cut its rows into a page."""

    def __init__(
        self,
        *,
        base: Select,
        sort_columns: Sequence[SortColumn],
        max_results: int,
        fingerprint: str,
        page_token_text: str,
        page_tokens: PageTokens,
    ):
        self._labels = [f"sort_key_{index}" for index in range(len(sort_columns))]
        self._fingerprint = fingerprint
        self._page_tokens = page_tokens
        self.max_results = max_results
        statement = base.add_columns(
            *(
                column.expression.label(label)
                for column, label in zip(sort_columns, self._labels, strict=True)
            )
        ).order_by(
            *(
                column.expression.asc() if column.ascending else column.expression.desc()
                for column in sort_columns
            )
        )
        if page_token_text:
            last = page_tokens.decode(page_token_text, fingerprint, len(sort_columns))
            statement = statement.where(_after(sort_columns, last))
        self.statement: Select = statement.limit(max_results + 1)

    def page(self, rows: Sequence[Row]) -> tuple[list[Row], str]:
        """The rows of this page and the token of the next one ("" when this is the last)."""
        rows = list(rows)
        if len(rows) <= self.max_results:
            return rows, ""
        rows = rows[: self.max_results]
        last = rows[-1]._mapping
        return rows, self._page_tokens.encode(
            self._fingerprint, [last[label] for label in self._labels]
        )


def _after(sort_columns: Sequence[SortColumn], last: Sequence[SortValue]) -> ColumnElement:
    """Rows strictly after `last` in the order:
    (c1 beyond v1) OR (c1 = v1 AND c2 beyond v2) OR ...,
    AND-ed with (c1 at or beyond v1), which those alternatives imply: a range an index on
    c1 can start from, so a deep page costs what the first does."""
    first, first_value = sort_columns[0].expression, last[0]
    if first_value is None:
        bound: ColumnElement = first.is_(None)
    elif sort_columns[0].ascending:
        bound = first >= first_value
    else:
        bound = first <= first_value
    alternatives = []
    equal_so_far: list[ColumnElement] = []
    for column, value in zip(sort_columns, last, strict=True):
        expression = column.expression
        if value is None:
            # NULL ties with NULL; nothing sorts beyond it within its (equal) rank.
            equal_so_far.append(expression.is_(None))
            continue
        beyond = expression > value if column.ascending else expression < value
        alternatives.append(and_(*equal_so_far, beyond))
        equal_so_far.append(expression == value)
    return and_(bound, or_(*alternatives))
