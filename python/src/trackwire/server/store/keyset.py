"""Keyset pagination shared by the run and experiment searches.

A search is a base SELECT plus a total order: a list of sort columns ending in a
unique key. A page asks for one row more than it returns, to know whether another
page follows, and the next page starts strictly after the last returned row's
sort values — no OFFSET, so every page costs the same however deep it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Row, Select, and_, literal_column, or_
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
    # The same in every row of the statement (a part's rank, or its NULL values): selected
    # for the page token, not ordered by (PostgreSQL refuses ORDER BY a constant).
    constant: bool = False


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


class _Pages:
    """How a plan's rows become a page and the next page's token."""

    def __init__(
        self, *, columns: int, max_results: int, fingerprint: str, page_tokens: PageTokens
    ):
        self._labels = [f"sort_key_{index}" for index in range(columns)]
        self._fingerprint = fingerprint
        self._page_tokens = page_tokens
        self.max_results = max_results

    def _ordered(
        self, base: Select, sort_columns: Sequence[SortColumn], labels: Sequence[str]
    ) -> Select:
        """`base` with the sort keys as labelled columns, ordered by them."""
        return base.add_columns(
            *(
                column.expression.label(label)
                for column, label in zip(sort_columns, labels, strict=True)
            )
        ).order_by(
            *(
                column.expression.asc() if column.ascending else column.expression.desc()
                for column in sort_columns
                if not column.constant
            )
        )

    def _last(self, page_token_text: str) -> list[SortValue] | None:
        """The sort values the page token continues after (None: the first page)."""
        if not page_token_text:
            return None
        return self._page_tokens.decode(page_token_text, self._fingerprint, len(self._labels))

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


class SearchPlan(_Pages):
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
        super().__init__(
            columns=len(sort_columns),
            max_results=max_results,
            fingerprint=fingerprint,
            page_tokens=page_tokens,
        )
        statement = self._ordered(base, sort_columns, self._labels)
        last = self._last(page_token_text)
        if last is not None:
            statement = statement.where(_after(sort_columns, last))
        self.statement: Select = statement.limit(max_results + 1)

    def fetch(self, conn: Connection) -> tuple[list[Row], str]:
        """This page's rows and the next page's token."""
        return self.page(conn.execute(self.statement).all())


@dataclass(frozen=True)
class RankedPart:
    """The rows of one rank of a search whose order leads with a small integer rank (as
    numbers, then NaN, then missing): `base` selects exactly them, `sort_columns` is the
    order after the rank."""

    rank: int
    base: Select
    sort_columns: Sequence[SortColumn]


class RankedSearchPlan(_Pages):
    """A search read one rank at a time, in rank order, until a page is full.

    Each part has its own plan (say, walking an index in the order of its values), which one
    statement ordered by a computed rank first would prevent. The order, and so the rows and
    page tokens, are those of the single statement ordered by (rank, *sort_columns)."""

    def __init__(
        self,
        *,
        parts: Sequence[RankedPart],
        max_results: int,
        fingerprint: str,
        page_token_text: str,
        page_tokens: PageTokens,
    ):
        (columns,) = {len(part.sort_columns) + 1 for part in parts}
        super().__init__(
            columns=columns,
            max_results=max_results,
            fingerprint=fingerprint,
            page_tokens=page_tokens,
        )
        last = self._last(page_token_text)
        # The token is signed and bound to this query: its first value is a part's rank.
        token_rank = None if last is None else last[0]
        assert token_rank is None or isinstance(token_rank, int)
        self.statements: list[Select] = []
        for part in sorted(parts, key=lambda part: part.rank):
            if token_rank is not None and part.rank < token_rank:
                continue  # a page before the token's
            rank = SortColumn(literal_column(str(int(part.rank))), True, constant=True)
            statement = self._ordered(part.base, [rank, *part.sort_columns], self._labels)
            if last is not None and part.rank == token_rank:
                statement = statement.where(_after(part.sort_columns, last[1:]))
            self.statements.append(statement.limit(max_results + 1))

    def fetch(self, conn: Connection) -> tuple[list[Row], str]:
        """This page's rows and the next page's token: the parts' rows in rank order, read
        until one more row than a page is in hand."""
        rows: list[Row] = []
        for statement in self.statements:
            rows.extend(conn.execute(statement).all())
            if len(rows) > self.max_results:
                break
        return self.page(rows)


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
