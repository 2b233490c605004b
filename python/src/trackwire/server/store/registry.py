"""The model registry's SQL: registered models, versions, stages, tags, aliases and grants.

Every call is one transaction and answers the registry's protobuf messages. Searches take
MLflow's filter grammar (search/grammar.py) and page by offset, as MLflow's registry does.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from trackwire.errors import AlreadyExists, InvalidArgument, NotFound
from trackwire.server.search.grammar import (
    ATTRIBUTE,
    TAG,
    Comparison,
    Identifier,
    parse_filter,
    parse_order_by,
)
from trackwire.server.store.database import Database
from trackwire.server.store.patterns import ilike, like
from trackwire.server.store.registry_schema import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_permissions,
    registered_model_tags,
    registered_models,
)
from trackwire.server.store.rows import now_millis
from trackwire.v1 import model_registry_service_pb2 as pb

STAGES = ("None", "Staging", "Production", "Archived")
_STAGE_BY_LOWER = {stage.lower(): stage for stage in STAGES}

_MAX_VERSION = 2**31 - 1

_rm = registered_models.c
_mv = model_versions.c


def canonical_stage(stage: str) -> str:
    """MLflow's spelling of a stage, given in any case."""
    found = _STAGE_BY_LOWER.get(stage.lower())
    if found is None:
        raise InvalidArgument(
            f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(STAGES)}."
        )
    return found


def _version_number(name: str, version: str) -> int:
    """A version as stored: an integer (or MLflow's words), and one the column's (32-bit)
    range can hold (or no such version)."""
    try:
        number = int(version)
    except ValueError:
        raise InvalidArgument(f"Parameter 'version' must be an integer, got '{version}'.") from None
    if not 0 < number <= _MAX_VERSION:
        raise _version_missing(name, version)
    return number


def _model_missing(name: str) -> NotFound:
    return NotFound(f"Registered Model with name={name} not found")


def _version_missing(name: str, version: int | str) -> NotFound:
    return NotFound(f"Model Version (name={name}, version={version}) not found")


class Registry:
    def __init__(self, db: Database):
        self.db = db

    # -- registered models ---------------------------------------------------------

    def create_model(
        self, name: str, description: str, tags: Sequence[tuple[str, str]], user_id: str
    ) -> pb.RegisteredModel:
        now = now_millis()
        with self.db.write() as conn:
            if _model_row(conn, name) is not None:
                raise AlreadyExists(f"Registered Model (name={name}) already exists.")
            conn.execute(
                registered_models.insert().values(
                    name=name,
                    creation_time=now,
                    last_updated_time=now,
                    user_id=user_id,
                    description=description,
                )
            )
            for key, value in dict(tags).items():
                conn.execute(registered_model_tags.insert().values(name=name, key=key, value=value))
            return _model(conn, name)

    def rename_model(self, name: str, new_name: str) -> pb.RegisteredModel:
        with self.db.write() as conn:
            _require_model(conn, name)
            if _model_row(conn, new_name) is not None:
                raise AlreadyExists(f"Registered Model (name={new_name}) already exists.")
            for table in (
                registered_models,
                registered_model_tags,
                model_versions,
                model_version_tags,
                registered_model_aliases,
                registered_model_permissions,
            ):
                conn.execute(update(table).where(table.c.name == name).values(name=new_name))
            conn.execute(
                update(registered_models)
                .where(_rm.name == new_name)
                .values(last_updated_time=now_millis())
            )
            return _model(conn, new_name)

    def update_model(self, name: str, description: str) -> pb.RegisteredModel:
        with self.db.write() as conn:
            _require_model(conn, name)
            conn.execute(
                update(registered_models)
                .where(_rm.name == name)
                .values(description=description, last_updated_time=now_millis())
            )
            return _model(conn, name)

    def delete_model(self, name: str) -> None:
        with self.db.write() as conn:
            _require_model(conn, name)
            for table in (
                registered_model_tags,
                model_version_tags,
                model_versions,
                registered_model_aliases,
                registered_model_permissions,
                registered_models,
            ):
                conn.execute(delete(table).where(table.c.name == name))

    def get_model(self, name: str) -> pb.RegisteredModel:
        with self.db.read() as conn:
            _require_model(conn, name)
            return _model(conn, name)

    def exists(self, name: str) -> bool:
        with self.db.read() as conn:
            return _model_row(conn, name) is not None

    def creator(self, name: str) -> str | None:
        """The user who created the model, None when there is no such model."""
        with self.db.read() as conn:
            row = _model_row(conn, name)
        return None if row is None else row.user_id

    def search_models(
        self, filter_string: str, order_by: Sequence[str], max_results: int, page_token: str
    ) -> tuple[list[pb.RegisteredModel], str]:
        conditions = [_model_condition(c) for c in parse_filter(filter_string)]
        order = _order(
            order_by,
            {
                "name": _rm.name,
                "creation_timestamp": _rm.creation_time,
                "last_updated_timestamp": _rm.last_updated_time,
                "timestamp": _rm.last_updated_time,
            },
            default=[_rm.name.asc()],
            tiebreak=[_rm.name.asc()],
            unknown=_unknown_model_order,
        )
        offset = _offset(page_token, filter_string, order_by)
        with self.db.read() as conn:
            names = (
                conn.execute(
                    select(_rm.name)
                    .where(*conditions)
                    .order_by(*order)
                    .offset(offset)
                    .limit(max_results + 1)
                )
                .scalars()
                .all()
            )
            models = [_model(conn, name) for name in names[:max_results]]
        more = len(names) > max_results
        return models, _token(offset + max_results, filter_string, order_by) if more else ""

    # -- versions --------------------------------------------------------------------

    def create_version(
        self, request: pb.CreateModelVersionRequest, user_id: str
    ) -> pb.ModelVersion:
        now = now_millis()
        with self.db.write() as conn:
            model = _require_model(conn, request.name)
            version = model.last_version + 1
            conn.execute(
                update(registered_models)
                .where(_rm.name == request.name)
                .values(last_version=version, last_updated_time=now)
            )
            conn.execute(
                model_versions.insert().values(
                    name=request.name,
                    version=version,
                    creation_time=now,
                    last_updated_time=now,
                    user_id=user_id,
                    current_stage="None",
                    description=request.description,
                    source=request.source,
                    run_id=request.run_id,
                    run_link=request.run_link,
                    model_id=request.model_id,
                )
            )
            for key, value in {t.key: t.value for t in request.tags}.items():
                conn.execute(
                    model_version_tags.insert().values(
                        name=request.name, version=version, key=key, value=value
                    )
                )
            return _version(conn, request.name, version)

    def update_version(self, name: str, version: str, description: str) -> pb.ModelVersion:
        number = _version_number(name, version)
        with self.db.write() as conn:
            _require_version(conn, name, number)
            conn.execute(
                update(model_versions)
                .where(_mv.name == name, _mv.version == number)
                .values(description=description, last_updated_time=now_millis())
            )
            return _version(conn, name, number)

    def transition_stage(
        self, name: str, version: str, stage: str, archive_existing: bool
    ) -> pb.ModelVersion:
        number = _version_number(name, version)
        stage = canonical_stage(stage)
        now = now_millis()
        with self.db.write() as conn:
            _require_version(conn, name, number)
            if archive_existing and stage in ("Staging", "Production"):
                conn.execute(
                    update(model_versions)
                    .where(_mv.name == name, _mv.version != number, _mv.current_stage == stage)
                    .values(current_stage="Archived", last_updated_time=now)
                )
            conn.execute(
                update(model_versions)
                .where(_mv.name == name, _mv.version == number)
                .values(current_stage=stage, last_updated_time=now)
            )
            conn.execute(
                update(registered_models).where(_rm.name == name).values(last_updated_time=now)
            )
            return _version(conn, name, number)

    def delete_version(self, name: str, version: str) -> None:
        number = _version_number(name, version)
        with self.db.write() as conn:
            _require_version(conn, name, number)
            for table in (model_version_tags, registered_model_aliases, model_versions):
                conn.execute(delete(table).where(table.c.name == name, table.c.version == number))
            conn.execute(
                update(registered_models)
                .where(_rm.name == name)
                .values(last_updated_time=now_millis())
            )

    def get_version(self, name: str, version: str) -> pb.ModelVersion:
        number = _version_number(name, version)
        with self.db.read() as conn:
            _require_version(conn, name, number)
            return _version(conn, name, number)

    def latest_versions(self, name: str, stages: Sequence[str]) -> list[pb.ModelVersion]:
        wanted = [canonical_stage(s) for s in stages] or list(STAGES)
        with self.db.read() as conn:
            _require_model(conn, name)
            return _latest_versions(conn, name, wanted)

    def search_versions(
        self, filter_string: str, order_by: Sequence[str], max_results: int, page_token: str
    ) -> tuple[list[pb.ModelVersion], str]:
        conditions = [_version_condition(c) for c in parse_filter(filter_string)]
        order = _order(
            order_by,
            {
                "name": _mv.name,
                "version_number": _mv.version,
                "creation_timestamp": _mv.creation_time,
                "last_updated_timestamp": _mv.last_updated_time,
                "timestamp": _mv.last_updated_time,
            },
            default=[_mv.last_updated_time.desc()],
            tiebreak=[_mv.name.asc(), _mv.version.desc()],
            unknown=_unknown_version_order,
        )
        offset = _offset(page_token, filter_string, order_by)
        with self.db.read() as conn:
            keys = conn.execute(
                select(_mv.name, _mv.version)
                .where(*conditions)
                .order_by(*order)
                .offset(offset)
                .limit(max_results + 1)
            ).all()
            versions = [_version(conn, name, version) for name, version in keys[:max_results]]
        more = len(keys) > max_results
        return versions, _token(offset + max_results, filter_string, order_by) if more else ""

    # -- tags and aliases ------------------------------------------------------------

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        with self.db.write() as conn:
            _require_model(conn, name)
            conn.execute(
                delete(registered_model_tags).where(
                    registered_model_tags.c.name == name, registered_model_tags.c.key == key
                )
            )
            conn.execute(registered_model_tags.insert().values(name=name, key=key, value=value))

    def delete_model_tag(self, name: str, key: str) -> None:
        with self.db.write() as conn:
            _require_model(conn, name)
            # Deleting a tag that is not there does nothing, as in MLflow.
            conn.execute(
                delete(registered_model_tags).where(
                    registered_model_tags.c.name == name, registered_model_tags.c.key == key
                )
            )

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        number = _version_number(name, version)
        c = model_version_tags.c
        with self.db.write() as conn:
            _require_version(conn, name, number)
            conn.execute(
                delete(model_version_tags).where(c.name == name, c.version == number, c.key == key)
            )
            conn.execute(
                model_version_tags.insert().values(name=name, version=number, key=key, value=value)
            )

    def delete_version_tag(self, name: str, version: str, key: str) -> None:
        number = _version_number(name, version)
        c = model_version_tags.c
        with self.db.write() as conn:
            _require_version(conn, name, number)
            conn.execute(
                delete(model_version_tags).where(c.name == name, c.version == number, c.key == key)
            )

    def set_alias(self, name: str, alias: str, version: str) -> None:
        number = _version_number(name, version)
        c = registered_model_aliases.c
        with self.db.write() as conn:
            _require_version(conn, name, number)
            conn.execute(delete(registered_model_aliases).where(c.name == name, c.alias == alias))
            conn.execute(
                registered_model_aliases.insert().values(name=name, alias=alias, version=number)
            )

    def delete_alias(self, name: str, alias: str) -> None:
        c = registered_model_aliases.c
        with self.db.write() as conn:
            _require_model(conn, name)
            conn.execute(delete(registered_model_aliases).where(c.name == name, c.alias == alias))

    def version_by_alias(self, name: str, alias: str) -> pb.ModelVersion:
        c = registered_model_aliases.c
        with self.db.read() as conn:
            _require_model(conn, name)
            number = conn.execute(
                select(c.version).where(c.name == name, c.alias == alias)
            ).scalar()
            if number is None:
                # MLflow answers an unknown alias with INVALID_PARAMETER_VALUE, not a 404.
                raise InvalidArgument(f"Registered model alias {alias} not found.")
            return _version(conn, name, number)

    # -- grants (--auth) --------------------------------------------------------------

    def grant(self, name: str, user: str) -> str | None:
        c = registered_model_permissions.c
        with self.db.read() as conn:
            return conn.execute(
                select(c.permission).where(c.name == name, c.user_name == user)
            ).scalar()

    def add_grant(self, name: str, user: str, permission: str) -> None:
        with self.db.write() as conn:
            _require_model(conn, name)
            if _grant(conn, name, user) is not None:
                raise AlreadyExists(
                    f"Registered model permission (name={name}, username={user}) already "
                    "exists. Use UpdateRegisteredModelPermission to change it."
                )
            conn.execute(
                registered_model_permissions.insert().values(
                    name=name, user_name=user, permission=permission
                )
            )

    def change_grant(self, name: str, user: str, permission: str) -> bool:
        c = registered_model_permissions.c
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    update(registered_model_permissions)
                    .where(c.name == name, c.user_name == user)
                    .values(permission=permission)
                ).rowcount
            )

    def remove_grant(self, name: str, user: str) -> bool:
        c = registered_model_permissions.c
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    delete(registered_model_permissions).where(c.name == name, c.user_name == user)
                ).rowcount
            )


# -- rows to messages ----------------------------------------------------------------


def _model_row(conn: Connection, name: str):
    return conn.execute(select(registered_models).where(_rm.name == name)).first()


def _require_model(conn: Connection, name: str):
    row = _model_row(conn, name)
    if row is None:
        raise _model_missing(name)
    return row


def _require_version(conn: Connection, name: str, number: int) -> None:
    _require_model(conn, name)
    found = conn.execute(
        select(_mv.version).where(_mv.name == name, _mv.version == number)
    ).scalar()
    if found is None:
        raise _version_missing(name, number)


def _grant(conn: Connection, name: str, user: str) -> str | None:
    c = registered_model_permissions.c
    return conn.execute(select(c.permission).where(c.name == name, c.user_name == user)).scalar()


def _model(conn: Connection, name: str) -> pb.RegisteredModel:
    row = _require_model(conn, name)
    tags = conn.execute(
        select(registered_model_tags.c.key, registered_model_tags.c.value)
        .where(registered_model_tags.c.name == name)
        .order_by(registered_model_tags.c.key)
    ).all()
    aliases = conn.execute(
        select(registered_model_aliases.c.alias, registered_model_aliases.c.version)
        .where(registered_model_aliases.c.name == name)
        .order_by(registered_model_aliases.c.alias)
    ).all()
    return pb.RegisteredModel(
        name=row.name,
        creation_timestamp=row.creation_time,
        last_updated_timestamp=row.last_updated_time,
        user_id=row.user_id,
        description=row.description,
        latest_versions=_latest_versions(conn, name, STAGES),
        tags=[pb.RegisteredModelTag(key=k, value=v) for k, v in tags],
        aliases=[pb.RegisteredModelAlias(alias=a, version=str(v)) for a, v in aliases],
    )


def _latest_versions(conn: Connection, name: str, stages: Sequence[str]) -> list[pb.ModelVersion]:
    numbers = (
        conn.execute(
            select(func.max(_mv.version))
            .where(_mv.name == name, _mv.current_stage.in_(list(stages)))
            .group_by(_mv.current_stage)
        )
        .scalars()
        .all()
    )
    return [_version(conn, name, number) for number in sorted(numbers)]


def _version(conn: Connection, name: str, number: int) -> pb.ModelVersion:
    row = conn.execute(select(model_versions).where(_mv.name == name, _mv.version == number)).one()
    tags = conn.execute(
        select(model_version_tags.c.key, model_version_tags.c.value)
        .where(model_version_tags.c.name == name, model_version_tags.c.version == number)
        .order_by(model_version_tags.c.key)
    ).all()
    aliases = (
        conn.execute(
            select(registered_model_aliases.c.alias)
            .where(
                registered_model_aliases.c.name == name,
                registered_model_aliases.c.version == number,
            )
            .order_by(registered_model_aliases.c.alias)
        )
        .scalars()
        .all()
    )
    return pb.ModelVersion(
        name=row.name,
        version=str(row.version),
        creation_timestamp=row.creation_time,
        last_updated_timestamp=row.last_updated_time,
        user_id=row.user_id,
        current_stage=row.current_stage,
        description=row.description,
        source=row.source,
        run_id=row.run_id,
        status=pb.MODEL_VERSION_STATUS_READY,
        tags=[pb.ModelVersionTag(key=k, value=v) for k, v in tags],
        run_link=row.run_link,
        aliases=list(aliases),
        model_id=row.model_id,
    )


# -- search --------------------------------------------------------------------------

_STRING_COMPARATORS = {
    "=": lambda column, value: column == value,
    "!=": lambda column, value: column != value,
    "LIKE": like,
    "ILIKE": ilike,
}


def _string_condition(comparison: Comparison, column, number_refused: str) -> ColumnElement:
    """A comparison of a string column, refused in MLflow's words: a number as value (in the
    words the caller gives), then a comparator strings do not take."""
    if comparison.value_is_number:
        raise InvalidArgument(number_refused)
    if comparison.comparator in ("IN", "NOT IN"):
        values = comparison.value if isinstance(comparison.value, tuple) else ()
        return column.in_(values) if comparison.comparator == "IN" else column.not_in(values)
    compare = _STRING_COMPARATORS.get(comparison.comparator)
    if compare is None or not isinstance(comparison.value, str):
        entity = "tag" if comparison.identifier.entity == TAG else "attribute"
        raise InvalidArgument(f"Invalid comparator for {entity}: {comparison.comparator}")
    return compare(column, comparison.value)


def _tag_condition(comparison: Comparison, column) -> ColumnElement:
    """A tag's value matches; `tags.k != 'v'` holds for what has no tag `k` too (MLflow 3's
    clients exclude prompts with `tags.mlflow.prompt.is_prompt != 'true'`): the caller
    negates `=`."""
    if comparison.comparator == "!=":
        comparison = dataclasses.replace(comparison, comparator="=")
    return _string_condition(
        comparison,
        column,
        f"Expected a quoted string value for tag (e.g. 'my-value'). Got value {comparison.value}",
    )


def _model_condition(comparison: Comparison) -> ColumnElement:
    identifier = comparison.identifier
    if identifier.entity == TAG:
        c = registered_model_tags.c
        tagged = select(c.name).where(c.key == identifier.key, _tag_condition(comparison, c.value))
        return _rm.name.not_in(tagged) if comparison.comparator == "!=" else _rm.name.in_(tagged)
    if identifier.entity == ATTRIBUTE and identifier.key == "name":
        return _string_condition(
            comparison,
            _rm.name,
            "Expected a quoted string value or a list of quoted string values for attributes. "
            f"Got value {comparison.value}",
        )
    raise _unknown_key(identifier, ("name",))


_VERSION_ATTRIBUTES = {"name": _mv.name, "run_id": _mv.run_id, "source_path": _mv.source}
_VERSION_NUMBER_COMPARATORS = ("=", "!=", "<", "<=", ">", ">=")


def _version_condition(comparison: Comparison) -> ColumnElement:
    identifier = comparison.identifier
    if identifier.entity == TAG:
        c = model_version_tags.c
        tagged = (
            select(c.key)
            .where(
                c.name == _mv.name,
                c.version == _mv.version,
                c.key == identifier.key,
                _tag_condition(comparison, c.value),
            )
            .exists()
        )
        return ~tagged if comparison.comparator == "!=" else tagged
    if identifier.entity == ATTRIBUTE and identifier.key in _VERSION_ATTRIBUTES:
        numeric = ("creation_timestamp", "last_updated_timestamp", "version_number")
        return _string_condition(
            comparison,
            _VERSION_ATTRIBUTES[identifier.key],
            f"Only the '{_python_set(numeric)}' attributes support comparison with numeric values.",
        )
    if identifier.entity == ATTRIBUTE and identifier.key == "version_number":
        if comparison.comparator not in _VERSION_NUMBER_COMPARATORS:
            raise InvalidArgument(
                f"Invalid comparator for attribute version_number: {comparison.comparator}"
            )
        value = comparison.value
        if isinstance(value, float) or not _is_integer(value):
            raise InvalidArgument(
                f"Invalid value for numeric attribute 'version_number': {value!r}"
            )
        number = int(value)  # type: ignore[arg-type]
        return {
            "=": _mv.version == number,
            "!=": _mv.version != number,
            "<": _mv.version < number,
            "<=": _mv.version <= number,
            ">": _mv.version > number,
            ">=": _mv.version >= number,
        }[comparison.comparator]
    raise _unknown_key(identifier, tuple(_VERSION_ATTRIBUTES) + ("version_number",))


def _is_integer(value: object) -> bool:
    """An int, or a string int() reads (MLflow compares `version_number = '3'` as 3)."""
    try:
        int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False
    return True


# The entity prefixes MLflow's registry searches take.
_REGISTRY_ENTITIES = ("attribute", "tag", "tags")


def _unknown_key(identifier: Identifier, valid: Sequence[str]) -> InvalidArgument:
    """An identifier a registry search does not know, refused in MLflow's words (whose set of
    valid keys prints in an order that varies from process to process)."""
    prefix, dot, _ = identifier.text.partition(".")
    if dot and prefix not in _REGISTRY_ENTITIES:
        return InvalidArgument(
            f"Invalid entity type '{prefix}'. Valid entity types are {_REGISTRY_ENTITIES}"
        )
    return InvalidArgument(
        f"Invalid attribute key '{identifier.key}' specified. Valid keys are '{_python_set(valid)}'"
    )


def _python_set(names: Sequence[str]) -> str:
    return "{" + ", ".join(repr(name) for name in names) + "}"


def _order(
    order_by: Sequence[str],
    columns: dict,
    *,
    default: list,
    tiebreak: list,
    unknown: Callable[[Identifier], InvalidArgument],
) -> list:
    order = []
    for clause in order_by:
        term = parse_order_by(clause)
        column = columns.get(term.identifier.key)
        if term.identifier.entity != ATTRIBUTE or column is None:
            raise unknown(term.identifier)
        order.append(column.asc() if term.ascending else column.desc())
    return [*(order or default), *tiebreak]


def _unknown_model_order(identifier: Identifier) -> InvalidArgument:
    """MLflow's words for a registered model search's order_by key it does not know."""
    return InvalidArgument(
        f"Invalid order by key '{identifier.text}' specified. Valid keys are "
        f"'{_python_set(('name', 'timestamp'))}'"
    )


def _unknown_version_order(identifier: Identifier) -> InvalidArgument:
    return _unknown_key(
        identifier, ("name", "version_number", "creation_timestamp", "last_updated_timestamp")
    )


def _fingerprint(filter_string: str, order_by: Sequence[str]) -> str:
    return json.dumps([filter_string, list(order_by)])


def _token(offset: int, filter_string: str, order_by: Sequence[str]) -> str:
    payload = json.dumps({"offset": offset, "query": _fingerprint(filter_string, order_by)})
    return base64.urlsafe_b64encode(payload.encode()).decode()


def _offset(token: str, filter_string: str, order_by: Sequence[str]) -> int:
    """Where a page starts; a token not issued, or issued for another query, is refused (in
    MLflow's words, step by step as its registry decodes a token)."""
    if not token:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(token.encode())
    except (ValueError, binascii.Error):
        raise InvalidArgument("Invalid page token, could not base64-decode") from None
    try:
        payload = json.loads(decoded)
    except ValueError:
        raise InvalidArgument(f"Invalid page token, decoded value={decoded!r}") from None
    offset = payload.get("offset") if isinstance(payload, dict) else None
    if not offset:
        raise InvalidArgument(f"Invalid page token, parsed value={payload}")
    if not isinstance(offset, int):
        raise InvalidArgument(f"Invalid page token, not stringable {offset}")
    same_query = payload.get("query") == _fingerprint(filter_string, order_by)
    if not 0 < offset <= _MAX_VERSION or not same_query:
        raise InvalidArgument(f"Invalid page token, parsed value={payload}")
    return offset
