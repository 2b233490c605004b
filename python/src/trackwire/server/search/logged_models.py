"""SearchLoggedModels' filter and ordering, evaluated on the models of the searched
experiments (an experiment holds few models: one per training, not one per step).

The filter is MLflow's grammar (grammar.py): attributes (`name`, `model_id`, `model_type`,
`status`, `source_run_id`, `creation_timestamp`, `last_updated_timestamp`), `params.<key>`,
`tags.<key>` and `metrics.<key>`; metrics count only on the requested datasets, if any."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

from trackwire.errors import InvalidArgument
from trackwire.server.search.grammar import ATTRIBUTE, METRIC, PARAM, TAG, Comparison, parse_filter
from trackwire.v1 import logged_model_service_pb2 as lm

Dataset = tuple[str, str]  # (name, digest); an empty digest matches every digest

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TIMESTAMPS = {
    "creation_timestamp": "creation_timestamp_ms",
    "creation_time": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
_TEXT_ATTRIBUTES = ("name", "model_id", "model_type", "source_run_id", "status")


def _status(info: lm.LoggedModelInfo) -> str:
    """`READY` (as MLflow's filters write it) for LOGGED_MODEL_STATUS_LOGGED_MODEL_READY."""
    return lm.LoggedModelStatus.Name(info.status).removeprefix("LOGGED_MODEL_STATUS_LOGGED_MODEL_")


def _known_attribute(key: str) -> None:
    if key not in _TIMESTAMPS and key not in _TEXT_ATTRIBUTES:
        raise InvalidArgument(
            f"Invalid attribute {key!r} for logged models; use one of "
            f"{', '.join((*_TEXT_ATTRIBUTES, *_TIMESTAMPS))}"
        )


def attribute(model: lm.LoggedModel, key: str) -> str | int:
    _known_attribute(key)
    if key in _TIMESTAMPS:
        return getattr(model.info, _TIMESTAMPS[key])
    if key == "status":
        return _status(model.info)
    return getattr(model.info, key)


def metric(model: lm.LoggedModel, key: str, datasets: Sequence[Dataset]) -> float | None:
    """The model's value of a metric on the datasets (the latest when several)."""
    found = [
        m
        for m in model.data.metrics
        if m.key == key
        and (
            not datasets
            or any(
                m.dataset_name == name and (not digest or m.dataset_digest == digest)
                for name, digest in datasets
            )
        )
    ]
    if not found:
        return None
    return max(found, key=lambda m: (m.step, m.timestamp)).value


def _like(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _holds(comparison: Comparison, value: Any) -> bool:
    comparator, wanted = comparison.comparator, comparison.value
    if comparator == "IS NULL":
        return value is None
    if comparator == "IS NOT NULL":
        return value is not None
    if value is None:
        return False
    if comparator in ("IN", "NOT IN"):
        assert isinstance(wanted, tuple)
        return (str(value) in wanted) == (comparator == "IN")
    if comparator in ("LIKE", "ILIKE"):
        return _like(str(wanted), comparator == "ILIKE").fullmatch(str(value)) is not None
    if isinstance(value, float) and math.isnan(value):
        return False
    if comparison.value_is_number != isinstance(value, int | float):
        raise InvalidArgument(
            f"Invalid comparison for {comparison.identifier.text!r}: "
            f"{'a number' if isinstance(value, int | float) else 'a string'} is expected"
        )
    compare = _COMPARE.get(comparator)
    if compare is None:
        raise InvalidArgument(f"Invalid comparator {comparator!r} for logged models")
    return compare(value, wanted)


def _value(model: lm.LoggedModel, comparison: Comparison, datasets: Sequence[Dataset]) -> Any:
    entity, key = comparison.identifier.entity, comparison.identifier.key
    if entity == ATTRIBUTE:
        return attribute(model, key)
    if entity == METRIC:
        return metric(model, key, datasets)
    if entity == PARAM:
        return next((p.value for p in model.data.params if p.key == key), None)
    if entity == TAG:
        return next((t.value for t in model.info.tags if t.key == key), None)
    raise InvalidArgument(f"Invalid identifier {comparison.identifier.text!r} for logged models")


def matching(
    models: Sequence[lm.LoggedModel], filter_string: str, datasets: Sequence[Dataset]
) -> list[lm.LoggedModel]:
    try:
        comparisons = parse_filter(filter_string) if filter_string.strip() else []
    except InvalidArgument:
        raise InvalidArgument(
            f"Invalid filter string: '{filter_string}'. Expected a list of comparisons separated "
            "by 'AND' (e.g. 'metrics.loss > 0.1 AND params.lr = 0.01')."
        ) from None
    for c in comparisons:
        if c.identifier.entity == ATTRIBUTE:
            _known_attribute(c.identifier.key)
    return [m for m in models if all(_holds(c, _value(m, c, datasets)) for c in comparisons)]


def _sort_value(
    term: lm.SearchLoggedModelsRequest.OrderBy,
) -> Callable[[lm.LoggedModel], Any]:
    field = term.field_name
    if field.startswith("metrics."):
        key = field[len("metrics.") :]
        datasets = [(term.dataset_name, term.dataset_digest)] if term.dataset_name else []
        return lambda m: metric(m, key, datasets)
    for prefix in ("attributes.", "attribute."):
        field = field.removeprefix(prefix)
    if field not in _TIMESTAMPS and field not in _TEXT_ATTRIBUTES:
        raise InvalidArgument(f"Invalid order by field name: {term.field_name}")
    return lambda m: attribute(m, field)


def ordered(
    models: list[lm.LoggedModel], order_by: Sequence[lm.SearchLoggedModelsRequest.OrderBy]
) -> list[lm.LoggedModel]:
    """Sorted by each order term in turn (missing values last), then newest first as
    MLflow does, then by id."""
    models = sorted(models, key=lambda m: m.info.model_id)
    models.sort(key=lambda m: m.info.creation_timestamp_ms, reverse=True)
    for term in reversed(order_by):
        ascending = term.ascending if term.HasField("ascending") else True
        value = _sort_value(term)
        present = [m for m in models if value(m) is not None]
        missing = [m for m in models if value(m) is None]
        present.sort(key=value, reverse=not ascending)
        models = present + missing
    return models
