"""SearchLoggedModels: MLflow's logged-model filter and order as one keyset-paged SELECT.

Filters: the attributes `name`, `model_id`, `model_type`, `source_run_id`, `status` (=, !=,
LIKE, ILIKE, IN, NOT IN) and `creation_timestamp` (or `creation_time`),
`last_updated_timestamp` (numeric comparators); `params.<key>` and `tags.<key>` (string
comparators, IS [NOT] NULL) as `model_id IN (SELECT ...)`, as runs do; `metrics.<key>` (numeric
comparators, IS [NOT] NULL). Orders: those attributes and `metrics.<key>`, then MLflow's
default, newest first, with the model id as the tiebreak.

A metric counts on the requested datasets only (an empty digest matches every digest); when a
model has several values of a key (one per dataset), its latest (step, timestamp) one is its
value. That value is a correlated subquery per model: an experiment holds few models (one per
training, not one per step), so the searched set stays small.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, case, exists, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from trackwire.errors import InvalidArgument, UnknownAttribute
from trackwire.server.search.grammar import ATTRIBUTE, METRIC, PARAM, TAG, Comparison, parse_filter
from trackwire.server.search.page_token import query_fingerprint
from trackwire.server.store.keyset import SearchPlan, SortColumn
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.rows import ACTIVE
from trackwire.server.store.schema import (
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
)
from trackwire.server.store.search_runs import NUMERIC_COMPARATORS, STRING_COMPARATORS
from trackwire.v1 import logged_model_service_pb2 as lm

Dataset = tuple[str, str]  # (name, digest); an empty digest matches every digest

_model = logged_models.c
_TEXT_ATTRIBUTES = {
    "name": _model.name,
    "model_id": _model.model_id,
    "model_type": _model.model_type,
    "source_run_id": _model.source_run_id,
    "status": _model.status,
}
_TIME_ATTRIBUTES = {
    "creation_timestamp": _model.creation_time,
    "creation_time": _model.creation_time,
    "last_updated_timestamp": _model.last_updated_time,
}
# Statuses are stored as LOGGED_MODEL_READY; filters name them READY, as MLflow's do.
_STATUS_PREFIX = "LOGGED_MODEL_"
_ENTRY_TABLES = {PARAM: logged_model_params, TAG: logged_model_tags}


def plan_logged_model_search(
    *,
    experiment_keys: Sequence[int],
    filter_string: str,
    datasets: Sequence[Dataset],
    order_by: Sequence[lm.SearchLoggedModelsRequest.OrderBy],
    max_results: int,
    page_token: str,
    page_tokens: PageTokens,
) -> SearchPlan:
    """One page of the active models of the experiments: `.statement` selects `model_id`."""
    try:
        comparisons = parse_filter(filter_string) if filter_string.strip() else []
    except InvalidArgument:
        raise InvalidArgument(
            f"Invalid filter string: '{filter_string}'. Expected a list of comparisons separated "
            "by 'AND' (e.g. 'metrics.loss > 0.1 AND params.lr = 0.01')."
        ) from None
    conditions = [_condition(comparison, datasets) for comparison in comparisons]
    base = select(_model.model_id).where(
        _model.experiment_id.in_(list(experiment_keys)),
        _model.lifecycle_stage == ACTIVE,
        *conditions,
    )
    sort_columns = [column for term in order_by for column in _sort_columns(term)]
    sort_columns += [SortColumn(_model.creation_time, False), SortColumn(_model.model_id, True)]
    fingerprint = query_fingerprint(
        "logged-models",
        sorted(experiment_keys),
        filter_string,
        [list(dataset) for dataset in datasets],
        [
            [t.field_name, t.ascending if t.HasField("ascending") else True, t.dataset_name]
            for t in order_by
        ],
    )
    return SearchPlan(
        base=base,
        sort_columns=sort_columns,
        max_results=max_results,
        fingerprint=fingerprint,
        page_token_text=page_token,
        page_tokens=page_tokens,
    )


def _condition(comparison: Comparison, datasets: Sequence[Dataset]) -> ColumnElement:
    entity, key = comparison.identifier.entity, comparison.identifier.key
    if entity == ATTRIBUTE:
        return _attribute_condition(comparison)
    if entity == METRIC:
        return _metric_condition(comparison, _MetricOnDatasets(key, datasets))
    if entity in _ENTRY_TABLES:
        table = _ENTRY_TABLES[entity]
        keyed = select(table.c.model_id).where(table.c.key == key)
        if comparison.comparator == "IS NULL":
            return _model.model_id.not_in(keyed)
        if comparison.comparator == "IS NOT NULL":
            return _model.model_id.in_(keyed)
        return _model.model_id.in_(keyed.where(_text_test(comparison, table.c.value)))
    raise InvalidArgument(f"Invalid identifier {comparison.identifier.text!r} for logged models")


def _attribute_condition(comparison: Comparison) -> ColumnElement:
    key = comparison.identifier.key
    if key in _TIME_ATTRIBUTES:
        return _number_test(comparison, _TIME_ATTRIBUTES[key])
    if key not in _TEXT_ATTRIBUTES:
        # MLflow's server fails on the lookup (a 500, its message naming its ORM class):
        # trackwire answers the client's mistake as such, naming what is valid.
        valid = ", ".join(sorted({*_TEXT_ATTRIBUTES, *_TIME_ATTRIBUTES}))
        raise UnknownAttribute(
            f"Invalid attribute key '{key}' in a logged model search filter: valid keys are "
            f"{valid}."
        )
    if comparison.comparator == "IS NULL":
        return false()  # every model has every attribute
    if comparison.comparator == "IS NOT NULL":
        return true()
    prefix = _STATUS_PREFIX if key == "status" else ""
    return _text_test(comparison, _TEXT_ATTRIBUTES[key], prefix)


def _text_test(comparison: Comparison, column: ColumnElement, prefix: str = "") -> ColumnElement:
    comparator, value = comparison.comparator, comparison.value
    if comparator in ("IN", "NOT IN"):
        assert isinstance(value, tuple)
        values = [prefix + item for item in value]
        return column.in_(values) if comparator == "IN" else column.not_in(values)
    if comparison.value_is_number:
        raise _wrong_type(comparison, "a string")
    compare = STRING_COMPARATORS.get(comparator)
    if compare is None:
        raise InvalidArgument(f"Invalid comparator {comparator!r} for logged models")
    return compare(column, prefix + str(value))


def _number_test(comparison: Comparison, column: ColumnElement) -> ColumnElement:
    compare = NUMERIC_COMPARATORS.get(comparison.comparator)
    if compare is None:
        raise InvalidArgument(f"Invalid comparator {comparison.comparator!r} for logged models")
    if not comparison.value_is_number:
        raise _wrong_type(comparison, "a number")
    return compare(column, comparison.value)


def _wrong_type(comparison: Comparison, expected: str) -> InvalidArgument:
    return InvalidArgument(
        f"Invalid comparison for {comparison.identifier.text!r}: {expected} is expected"
    )


class _MetricOnDatasets:
    """A model's rows of one metric key on the requested datasets, and its latest value."""

    def __init__(self, key: str, datasets: Sequence[Dataset]):
        metric = logged_model_metrics.c
        on_datasets = [
            and_(metric.dataset_name == name, metric.dataset_digest == digest)
            if digest
            else metric.dataset_name == name
            for name, digest in datasets
        ]
        self.where = [
            metric.model_id == _model.model_id,
            metric.key == key,
            *([or_(*on_datasets)] if on_datasets else []),
        ]
        self.present = exists().where(*self.where)
        # NULL for NaN (stored NULL) and for no value at all; `present` tells them apart.
        self.value = (
            select(metric.value)
            .where(*self.where)
            .order_by(metric.step.desc(), metric.timestamp.desc())
            .limit(1)
            .scalar_subquery()
        )


def _metric_condition(comparison: Comparison, metric: _MetricOnDatasets) -> ColumnElement:
    if comparison.comparator == "IS NULL":
        return ~metric.present
    if comparison.comparator == "IS NOT NULL":
        return metric.present
    # NaN (NULL) compares false with everything, as in MLflow.
    return _number_test(comparison, metric.value)


def _sort_columns(term: lm.SearchLoggedModelsRequest.OrderBy) -> list[SortColumn]:
    ascending = term.ascending if term.HasField("ascending") else True
    field = term.field_name
    if field.startswith("metrics."):
        datasets = [(term.dataset_name, term.dataset_digest)] if term.dataset_name else []
        metric = _MetricOnDatasets(field.removeprefix("metrics."), datasets)
        # Numbers first, then NaN, then models without the metric, in both directions.
        rank = case(
            (metric.value.is_not(None), 0),
            (metric.present, 1),
            else_=2,
        )
        return [SortColumn(rank, True), SortColumn(metric.value, ascending)]
    for prefix in ("attributes.", "attribute."):
        field = field.removeprefix(prefix)
    column = _TEXT_ATTRIBUTES.get(field)
    if column is None:
        column = _TIME_ATTRIBUTES.get(field)
    if column is None:
        raise UnknownAttribute(f"Invalid order by field name: {term.field_name}")
    return [SortColumn(column, ascending)]
