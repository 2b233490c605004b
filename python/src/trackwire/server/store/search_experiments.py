"""SearchExperiments: MLflow's experiment filter and order_by as one keyset-paged SELECT.

Filters: name (=, !=, LIKE, ILIKE), creation_time and last_update_time (numeric
comparators), tags.<key> (=, !=, LIKE, ILIKE, IS [NOT] NULL); order by name,
experiment_id, creation_time, last_update_time. MLflow's default order is
creation_time DESC, then experiment_id ASC as the tiebreak of every order.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from trackwire import limits
from trackwire.server.search.grammar import (
    ATTRIBUTE,
    TAG,
    Comparison,
    FilterContext,
    Identifier,
    parse_filter,
    parse_order_by,
)
from trackwire.server.search.page_token import query_fingerprint
from trackwire.server.store.keyset import (
    SearchPlan,
    SortColumn,
    check_max_results,
    lifecycle_stages,
)
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.schema import experiment_tags, experiments
from trackwire.server.store.search_runs import NUMERIC_COMPARATORS, STRING_COMPARATORS

_STRING_ATTRIBUTES = ("name",)
_NUMERIC_ATTRIBUTES = ("creation_time", "last_update_time")
_ORDERABLE_ATTRIBUTES = ("name", "experiment_id", "creation_time", "last_update_time")
_DEFAULT_ORDER = ("creation_time DESC",)


class ExperimentSearchPlan(SearchPlan):
    """One page of SearchExperiments: `.statement` selects `experiments.c.*` then sort keys."""


def plan_experiment_search(
    *,
    filter_string: str,
    order_by: Sequence[str],
    view_type: int,
    max_results: int,
    page_token: str,
    page_tokens: PageTokens,
) -> ExperimentSearchPlan:
    page_size = check_max_results(
        max_results,
        default=limits.MAX_SEARCH_EXPERIMENTS_MAX_RESULTS,
        maximum=limits.MAX_SEARCH_EXPERIMENTS_MAX_RESULTS,
        limit_name="LIMIT_MAX_SEARCH_EXPERIMENTS_MAX_RESULTS",
    )
    stages = lifecycle_stages(view_type)
    context = FilterContext("filter", filter_string)
    conditions = [_condition(context, comparison) for comparison in parse_filter(filter_string)]
    base = select(*experiments.c).where(experiments.c.lifecycle_stage.in_(stages), *conditions)
    fingerprint = query_fingerprint("experiments", filter_string, list(order_by), stages)
    return ExperimentSearchPlan(
        base=base,
        sort_columns=_order(order_by or _DEFAULT_ORDER),
        max_results=page_size,
        fingerprint=fingerprint,
        page_token_text=page_token,
        page_tokens=page_tokens,
    )


def _condition(context: FilterContext, comparison: Comparison) -> ColumnElement:
    identifier = comparison.identifier
    if identifier.entity == TAG:
        has_tag = select(experiment_tags.c.experiment_id).where(
            experiment_tags.c.key == identifier.key
        )
        if comparison.comparator == "IS NULL":
            return experiments.c.experiment_id.not_in(has_tag)
        if comparison.comparator == "IS NOT NULL":
            return experiments.c.experiment_id.in_(has_tag)
        compare = _comparator(context, comparison, STRING_COMPARATORS)
        value = _value(context, comparison, number=False)
        return experiments.c.experiment_id.in_(
            has_tag.where(compare(experiment_tags.c.value, value))
        )
    if identifier.entity != ATTRIBUTE:
        raise context.fail(
            identifier.position,
            f"experiments can be filtered on attributes and tags only, not {identifier.text}",
        )
    name = _attribute(context, identifier, (*_STRING_ATTRIBUTES, *_NUMERIC_ATTRIBUTES))
    numeric = name in _NUMERIC_ATTRIBUTES
    compare = _comparator(
        context, comparison, NUMERIC_COMPARATORS if numeric else STRING_COMPARATORS
    )
    return compare(experiments.c[name], _value(context, comparison, number=numeric))


def _comparator(context: FilterContext, comparison: Comparison, allowed: dict):
    if comparison.comparator in allowed:
        return allowed[comparison.comparator]
    raise context.fail(
        comparison.position,
        f"comparator {comparison.comparator} is not supported for {comparison.identifier.text}; "
        f"use one of {', '.join(allowed)}",
    )


def _value(context: FilterContext, comparison: Comparison, *, number: bool):
    if comparison.value_is_number != number:
        wanted = "a number" if number else "a quoted string"
        raise context.fail(
            comparison.position,
            f"{comparison.identifier.text} compares with {wanted}, not {comparison.value!r}",
        )
    assert isinstance(comparison.value, (int, float, str))
    return comparison.value


def _attribute(context: FilterContext, identifier: Identifier, valid: Sequence[str]) -> str:
    if identifier.entity != ATTRIBUTE or identifier.key not in valid:
        raise context.fail(
            identifier.position,
            f"unknown attribute {identifier.text!r}; valid attributes are {', '.join(valid)}",
        )
    return identifier.key


def _order(order_by: Sequence[str]) -> list[SortColumn]:
    sort_columns: list[SortColumn] = []
    seen: set[str] = set()
    for clause in order_by:
        term = parse_order_by(clause)
        context = FilterContext("order_by clause", clause)
        name = _attribute(context, term.identifier, _ORDERABLE_ATTRIBUTES)
        if name in seen:
            raise context.fail(None, f"{term.identifier.text} appears more than once in order_by")
        seen.add(name)
        sort_columns.append(SortColumn(experiments.c[name], term.ascending))
    if "experiment_id" not in seen:
        sort_columns.append(SortColumn(experiments.c.experiment_id, True))
    return sort_columns
