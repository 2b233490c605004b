"""The experiment search planner against a real SQLite database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from trackwire import limits
from trackwire.errors import InvalidArgument
from trackwire.server.store import schema
from trackwire.server.store.database import Database
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.search_experiments import plan_experiment_search
from trackwire.v1 import entities_pb2

_PAGE_TOKENS: dict = {}


def page_tokens(engine):
    """The store's page-token key of a test database."""
    if engine not in _PAGE_TOKENS:
        _PAGE_TOKENS[engine] = PageTokens(Database(engine))
    return _PAGE_TOKENS[engine]


def add_experiment(conn, experiment_id, name, *, created, updated, stage="active", tags=None):
    conn.execute(
        sa.insert(schema.experiments).values(
            experiment_id=experiment_id,
            name=name,
            artifact_location=f"/a/{experiment_id}",
            lifecycle_stage=stage,
            creation_time=created,
            last_update_time=updated,
        )
    )
    for key, value in (tags or {}).items():
        conn.execute(
            sa.insert(schema.experiment_tags).values(
                experiment_id=experiment_id, key=key, value=value
            )
        )


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('experiments') / 'search.db'}")
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        add_experiment(conn, 1, "Default", created=100, updated=900)
        add_experiment(
            conn, 2, "demo-a", created=200, updated=300, tags={"team": "ml", "my tag": "v"}
        )
        add_experiment(conn, 3, "Demo-B", created=200, updated=800, tags={"team": "ML"})
        add_experiment(conn, 4, "other", created=400, updated=400, tags={"team": "infra"})
        add_experiment(conn, 5, "gone", created=500, updated=500, stage="deleted")
    return engine


def search(engine, filter_string="", order_by=(), *, view_type=0, max_results=0, page_token=""):
    plan = plan_experiment_search(
        filter_string=filter_string,
        order_by=list(order_by),
        view_type=view_type,
        max_results=max_results,
        page_token=page_token,
        page_tokens=page_tokens(engine),
    )
    with engine.connect() as conn:
        rows = conn.execute(plan.statement).all()
    page, token = plan.page(rows)
    return [row.experiment_id for row in page], token


def ids(engine, filter_string, **kwargs):
    return set(search(engine, filter_string, **kwargs)[0])


def test_default_order_is_newest_created_first_then_id(engine):
    assert search(engine) == ([4, 2, 3, 1], "")


def test_view_types(engine):
    assert search(engine, view_type=entities_pb2.VIEW_TYPE_DELETED_ONLY)[0] == [5]
    assert search(engine, view_type=entities_pb2.VIEW_TYPE_ALL)[0] == [5, 4, 2, 3, 1]


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("name = 'demo-a'", {2}),
        ("attributes.name != 'demo-a'", {1, 3, 4}),
        ("name LIKE 'demo%'", {2}),  # case-sensitive
        ("name ILIKE 'demo%'", {2, 3}),
        ("attribute.name LIKE '%-_'", {2, 3}),
        ("creation_time = 200", {2, 3}),
        ("creation_time > 200", {4}),
        ("attributes.creation_time >= 200", {2, 3, 4}),
        ("last_update_time < 400", {2}),
        ("last_update_time <= 400", {2, 4}),
        ("last_update_time != 900", {2, 3, 4}),
        ("tags.team = 'ml'", {2}),
        ("tags.team != 'ml'", {3, 4}),
        ("tags.team LIKE 'M%'", {3}),
        ("tags.team ILIKE 'ml'", {2, 3}),
        ("tags.\"my tag\" = 'v'", {2}),
        ("tags.`my tag` IS NOT NULL", {2}),
        ("tags.team IS NULL", {1}),
        ("name ILIKE 'demo%' and tags.team = 'ML' AND creation_time > 0", {3}),
    ],
)
def test_filters(engine, filter_string, expected):
    assert ids(engine, filter_string) == expected


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (["name"], [1, 3, 2, 4]),  # binary order: uppercase first
        (["name DESC"], [4, 2, 3, 1]),
        (["experiment_id DESC"], [4, 3, 2, 1]),
        (["creation_time"], [1, 2, 3, 4]),
        (["last_update_time DESC"], [1, 3, 4, 2]),
        (["attributes.creation_time ASC", "experiment_id DESC"], [1, 3, 2, 4]),
    ],
)
def test_order_by(engine, order_by, expected):
    assert search(engine, order_by=order_by)[0] == expected


@pytest.mark.parametrize(
    "filter_string, message",
    [
        ("name = 'a' or name = 'b'", "at position 11: OR is not supported"),
        (
            "name > 'a'",
            "at position 5: comparator > is not supported for name; use one of =, !=, LIKE, ILIKE",
        ),
        ("creation_time LIKE '1%'", "comparator LIKE is not supported for creation_time"),
        ("creation_time > 'yesterday'", "creation_time compares with a number, not 'yesterday'"),
        ("name = 5", "name compares with a quoted string, not 5"),
        ("tags.team > 'a'", "comparator > is not supported for tags.team"),
        (
            "metrics.acc > 1",
            "at position 0: experiments can be filtered on attributes and tags only",
        ),
        ("params.p = 'x'", "experiments can be filtered on attributes and tags only"),
        ("artifact_location = 'x'", "unknown attribute 'artifact_location'"),
        ("name IN ('a')", "comparator IN is not supported for name"),
        ("name = 'unclosed", "at position 7: unclosed quote '"),
        ("name", "at position 4: unexpected end of input"),
    ],
)
def test_malformed_filters(engine, filter_string, message):
    with pytest.raises(InvalidArgument) as error:
        search(engine, filter_string)
    assert f"Invalid filter {filter_string!r}" in error.value.message
    assert message in error.value.message


@pytest.mark.parametrize(
    "order_by, message",
    [
        (["tags.team"], "unknown attribute 'tags.team'"),
        (["name", "name DESC"], "appears more than once"),
        (["lifecycle_stage"], "unknown attribute 'lifecycle_stage'"),
    ],
)
def test_bad_order_by(engine, order_by, message):
    with pytest.raises(InvalidArgument, match=message):
        search(engine, order_by=order_by)


def test_injection_attempts_are_literal_text(engine):
    assert ids(engine, "name = 'demo-a'' OR ''1''=''1'") == set()
    assert ids(engine, "tags.\"team; DROP TABLE experiments\" = 'ml'") == set()
    assert len(search(engine)[0]) == 4


def test_max_results(engine):
    plan = plan_experiment_search(
        filter_string="",
        order_by=[],
        view_type=0,
        max_results=0,
        page_token="",
        page_tokens=page_tokens(engine),
    )
    assert plan.max_results == limits.MAX_SEARCH_EXPERIMENTS_MAX_RESULTS
    with pytest.raises(InvalidArgument, match=str(limits.MAX_SEARCH_EXPERIMENTS_MAX_RESULTS)):
        search(engine, max_results=limits.MAX_SEARCH_EXPERIMENTS_MAX_RESULTS + 1)
    with pytest.raises(InvalidArgument, match="Invalid value -3 for max_results"):
        search(engine, max_results=-3)


@pytest.mark.parametrize(
    "order_by", [[], ["name"], ["creation_time ASC"], ["last_update_time DESC"]]
)
def test_paging(tmp_path, order_by):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'many.db'}")
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        for index in range(1, 101):
            add_experiment(
                conn, index, f"exp-{index % 13}-{index}", created=index % 9, updated=index % 4
            )
    everything, _ = search(engine, order_by=order_by, max_results=1000)
    paged, token = [], ""
    while True:
        page, token = search(engine, order_by=order_by, max_results=7, page_token=token)
        paged += page
        if not token:
            break
    assert paged == everything and sorted(paged) == list(range(1, 101))


def test_page_token_is_bound_to_its_query(engine):
    _, token = search(engine, max_results=1)
    assert search(engine, max_results=1, page_token=token)[0] == [2]
    with pytest.raises(InvalidArgument, match="different request"):
        search(engine, "name LIKE '%'", max_results=1, page_token=token)
    with pytest.raises(InvalidArgument, match="Invalid page token"):
        search(engine, page_token="%%%")


def test_compiles_for_postgresql(engine):
    query = {
        "filter_string": "name ILIKE 'd%' and tags.team LIKE '%' and creation_time > 1",
        "order_by": ["name"],
        "view_type": 0,
        "max_results": 1,
    }
    _, token = search(engine, **query)
    plan = plan_experiment_search(**query, page_token=token, page_tokens=page_tokens(engine))
    sql = str(plan.statement.compile(dialect=postgresql.dialect()))
    assert "ILIKE %(" in sql and " LIKE %(" in sql and "OFFSET" not in sql
