"""Spark's pushed-down filters turned into the search filter DSL (`attributes.status = 'X'`).

Only filters the server evaluates exactly as Spark would are taken: a pushed filter is not
checked again by Spark. Everything else stays with Spark. Filters on `experiment_id` choose
the experiments to read instead of going to the server.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyspark.sql.datasource import (
    EqualNullSafe,
    EqualTo,
    Filter,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    LessThan,
    LessThanOrEqual,
    Not,
    StringContains,
    StringEndsWith,
    StringStartsWith,
)

# Columns that are attributes of the search DSL, never null, compared as strings.
_STRING_ATTRIBUTES = ("run_id", "status", "artifact_uri", "run_name", "user_id", "lifecycle_stage")
# Timestamp columns, compared in milliseconds since the epoch.
_TIME_ATTRIBUTES = ("start_time", "end_time")

_COMPARATORS: dict[type, str] = {
    EqualTo: "=",
    EqualNullSafe: "=",
    GreaterThan: ">",
    GreaterThanOrEqual: ">=",
    LessThan: "<",
    LessThanOrEqual: "<=",
}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
# LIKE patterns for Spark's string filters; `{}` is the escaped value.
_PATTERNS: dict[type, str] = {
    StringStartsWith: "{}%",
    StringEndsWith: "%{}",
    StringContains: "%{}%",
}


@dataclass
class PushedFilters:
    """What was pushed: search DSL clauses (AND-ed) and experiment ids to keep (None: all)."""

    clauses: list[str] = field(default_factory=list)
    experiment_ids: set[str] | None = None
    # History mode: the metric keys to read (None: all).
    metric_keys: set[str] | None = None

    def filter_string(self, user_filter: str = "") -> str:
        return " and ".join([*([user_filter] if user_filter else []), *self.clauses])


def push(
    filters: Iterable[Filter], pushed: PushedFilters, *, history: bool = False
) -> Iterable[Filter]:
    """Records what `filters` it can push into `pushed`; yields the ones Spark must apply."""
    for spark_filter in filters:
        if not _push_one(spark_filter, pushed, history):
            yield spark_filter


def _push_one(spark_filter: Filter, pushed: PushedFilters, history: bool) -> bool:
    column = _column(spark_filter)
    if column is None:
        return False
    if history:
        if column == "key":
            return _restrict(spark_filter, pushed, "metric_keys")
        return column == "run_id" and _push_attribute(spark_filter, pushed, column)
    if column == "experiment_id":
        return _restrict(spark_filter, pushed, "experiment_ids")
    return _push_attribute(spark_filter, pushed, column)


def _column(spark_filter: Filter) -> str | None:
    target = spark_filter.child if isinstance(spark_filter, Not) else spark_filter
    attribute: tuple[str, ...] = getattr(target, "attribute", ())
    return attribute[0] if len(attribute) == 1 else None


def _restrict(spark_filter: Filter, pushed: PushedFilters, name: str) -> bool:
    """An equality or IN on a column the reader chooses itself (experiments, metric keys)."""
    if isinstance(spark_filter, EqualTo | EqualNullSafe) and isinstance(spark_filter.value, str):
        values = {spark_filter.value}
    elif isinstance(spark_filter, In) and _strings(spark_filter.value):
        values = set(spark_filter.value)
    else:
        return False
    current = getattr(pushed, name)
    setattr(pushed, name, values if current is None else current & values)
    return True


def _push_attribute(spark_filter: Filter, pushed: PushedFilters, column: str) -> bool:
    clause = _clause(spark_filter, column)
    if clause is None:
        return False
    pushed.clauses.append(clause)
    return True


def _clause(spark_filter: Filter, column: str) -> str | None:
    name = f"attributes.{column}"
    kind = type(spark_filter)
    value = getattr(spark_filter, "value", None)
    if column in _TIME_ATTRIBUTES:
        # end_time is null while a run is active: null never matches a comparison, neither
        # in Spark nor in the server's SQL; a null-safe equality would differ, so it stays.
        millis = _millis(value)
        if kind in _COMPARATORS and kind is not EqualNullSafe and millis is not None:
            return f"{name} {_COMPARATORS[kind]} {millis}"
        return None
    if column not in _STRING_ATTRIBUTES:
        return None
    if kind in (EqualTo, EqualNullSafe) and isinstance(value, str):
        return f"{name} = {_quote(value)}"
    if kind in _PATTERNS and isinstance(value, str):
        return f"{name} LIKE {_quote(_PATTERNS[kind].format(_escape_like(value)))}"
    if isinstance(spark_filter, Not):
        child = spark_filter.child
        if isinstance(child, EqualTo) and isinstance(child.value, str):
            return f"{name} != {_quote(child.value)}"
        if column == "run_id" and isinstance(child, In) and _strings(child.value):
            return f"{name} NOT IN ({', '.join(_quote(v) for v in child.value)})"
        return None
    if isinstance(spark_filter, In) and _strings(spark_filter.value):
        if column == "run_id":
            return f"{name} IN ({', '.join(_quote(v) for v in spark_filter.value)})"
        if len(spark_filter.value) == 1:
            return f"{name} = {_quote(spark_filter.value[0])}"
    return None


def _strings(values: tuple) -> bool:
    return bool(values) and all(isinstance(v, str) for v in values)


def _millis(value: object) -> int | float | None:
    """Milliseconds since the epoch of a Spark timestamp literal (microseconds kept)."""
    if not isinstance(value, datetime.datetime):
        return None
    if value.tzinfo is None:  # Spark hands over timestamps in the worker's local time
        value = value.astimezone()
    micros = (value - _EPOCH) // datetime.timedelta(microseconds=1)
    return micros // 1000 if micros % 1000 == 0 else micros / 1000


def _quote(value: str) -> str:
    """A single-quoted DSL string: backslashes and quotes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _escape_like(value: str) -> str:
    """`value` matched literally inside a LIKE pattern (backslash escapes % and _)."""
    return re.sub(r"([\\%_])", r"\\\1", value)
