"""The run search planner against a real SQLite database."""

from __future__ import annotations

import math
import random

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from trackwire import limits
from trackwire.errors import InvalidArgument
from trackwire.server.store import schema
from trackwire.server.store.database import Database
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.search_runs import plan_run_search
from trackwire.v1 import entities_pb2

ALL = entities_pb2.VIEW_TYPE_ALL
DELETED_ONLY = entities_pb2.VIEW_TYPE_DELETED_ONLY


_PAGE_TOKENS: dict = {}


def page_tokens(engine):
    """The store's page-token key of a test database."""
    if engine not in _PAGE_TOKENS:
        _PAGE_TOKENS[engine] = PageTokens(Database(engine))
    return _PAGE_TOKENS[engine]


def make_engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'search.db'}")
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.experiments),
            [
                {
                    "experiment_id": i,
                    "name": f"exp{i}",
                    "artifact_location": "/a",
                    "lifecycle_stage": "active",
                    "creation_time": 0,
                    "last_update_time": 0,
                }
                for i in (1, 2)
            ],
        )
    return engine


def add_run(
    conn,
    run_id,
    *,
    experiment_id=1,
    start_time=0,
    end_time=None,
    status="FINISHED",
    run_name=None,
    user_id="u",
    stage="active",
    metrics=None,
    params=None,
    tags=None,
):
    conn.execute(
        sa.insert(schema.runs).values(
            run_id=run_id,
            experiment_id=experiment_id,
            run_name=run_name or run_id,
            user_id=user_id,
            status=status,
            start_time=start_time,
            end_time=end_time,
            artifact_uri=f"/a/{run_id}",
            lifecycle_stage=stage,
            deleted_time=None,
        )
    )
    for key, value in (metrics or {}).items():
        conn.execute(
            sa.insert(schema.latest_metrics).values(
                run_id=run_id,
                key=key,
                step=0,
                timestamp=0,
                value=None if math.isnan(value) else value,  # the store keeps NaN as NULL
            )
        )
    for table, entries in ((schema.params, params), (schema.tags, tags)):
        for key, value in (entries or {}).items():
            conn.execute(sa.insert(table).values(run_id=run_id, key=key, value=value))


def search(
    engine,
    filter_string="",
    order_by=(),
    *,
    view_type=0,
    max_results=0,
    page_token="",
    experiment_ids=(1,),
):
    plan = plan_run_search(
        experiment_ids=list(experiment_ids),
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
    return [row.run_id for row in page], token


def search_all_pages(engine, filter_string="", order_by=(), page_size=7):
    run_ids, token, pages = [], "", 0
    while True:
        page, token = search(
            engine,
            filter_string,
            order_by,
            max_results=page_size,
            page_token=token,
        )
        assert len(page) <= page_size
        run_ids += page
        pages += 1
        if not token:
            return run_ids, pages


def populate(engine):
    with engine.begin() as conn:
        add_run(
            conn,
            "r1",
            start_time=1000,
            end_time=2000,
            status="FINISHED",
            run_name="alpha",
            user_id="ann",
            metrics={"acc": 0.9, "loss": math.nan, "my metric": 3.0},
            params={"lr": "0.01", "model": "CNN", "pattern": "a_b*"},
            tags={"mlflow.user": "alice", "my tag": "x y"},
        )
        add_run(
            conn,
            "r2",
            start_time=2000,
            status="FAILED",
            run_name="beta",
            user_id="bob",
            metrics={"acc": 0.5},
            params={"lr": "0.1", "model": "cnn", "pattern": "axb"},
            tags={"mlflow.user": "bob"},
        )
        add_run(
            conn,
            "r3",
            start_time=3000,
            status="RUNNING",
            run_name="gamma",
            user_id="ann",
            metrics={"loss": 1.5},
            params={"model": "RNN"},
            tags={"mlflow.user": "Alice"},
        )
        add_run(conn, "r4", start_time=4000, stage="deleted", metrics={"acc": 1.0})
        add_run(conn, "r5", experiment_id=2, start_time=5000, metrics={"acc": 0.9})
    return engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """Shared by the read-only tests of this module."""
    return populate(make_engine(tmp_path_factory.mktemp("runs")))


@pytest.fixture
def writable_engine(tmp_path):
    return populate(make_engine(tmp_path))


def ids(engine, filter_string, **kwargs):
    return set(search(engine, filter_string, **kwargs)[0])


def test_default_is_active_runs_of_the_experiments_newest_first(engine):
    assert search(engine) == (["r3", "r2", "r1"], "")
    assert search(engine, experiment_ids=(1, 2))[0] == ["r5", "r3", "r2", "r1"]
    assert search(engine, experiment_ids=())[0] == []


def test_view_types(engine):
    assert search(engine, view_type=DELETED_ONLY)[0] == ["r4"]
    assert search(engine, view_type=ALL)[0] == ["r4", "r3", "r2", "r1"]
    with pytest.raises(InvalidArgument, match="Invalid view type 7"):
        search(engine, view_type=7)


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("metrics.acc > 0.6", {"r1"}),
        ("metrics.acc >= 0.5", {"r1", "r2"}),
        ("metrics.acc < 0.9", {"r2"}),
        ("metrics.acc <= 0.9", {"r1", "r2"}),
        ("metrics.acc = 0.5", {"r2"}),
        ("metrics.acc != 0.5", {"r1"}),  # runs without the metric never match
        ("metrics.acc > 5e-1", {"r1"}),
        ("metrics.acc > -1", {"r1", "r2"}),
        ("metric.acc = .9", {"r1"}),
        ('metrics."my metric" = 3', {"r1"}),
        ("metrics.`my metric` >= 3.0", {"r1"}),
        # NaN (r1's loss) matches no numeric comparison, not even != or a huge range.
        ("metrics.loss > -1e308", {"r3"}),
        ("metrics.loss != 0", {"r3"}),
        ("metrics.loss < 1e308", {"r3"}),
    ],
)
def test_metric_comparators(engine, filter_string, expected):
    assert ids(engine, filter_string) == expected


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("params.lr = '0.01'", {"r1"}),
        ('params.lr = "0.01"', {"r1"}),
        ("params.lr != '0.01'", {"r2"}),  # r3 has no lr
        ("params.model LIKE 'c%'", {"r2"}),  # LIKE is case-sensitive, also on SQLite
        ("params.model LIKE '%NN'", {"r1", "r3"}),
        ("params.model like '_NN'", {"r1", "r3"}),
        ("params.model ILIKE 'c%'", {"r1", "r2"}),
        ("params.model ILIKE '%nn'", {"r1", "r2", "r3"}),
        ("param.model = 'RNN'", {"r3"}),
        ("parameter.model = 'RNN'", {"r3"}),
        ("parameters.model = 'RNN'", {"r3"}),
        # GLOB metacharacters are literal; backslash escapes LIKE's wildcards.
        ("params.pattern LIKE 'a_b*'", {"r1"}),
        ("params.pattern LIKE 'a\\_b%'", {"r1"}),
        ("params.pattern LIKE 'a_b'", {"r2"}),
        ("params.pattern LIKE '%*'", {"r1"}),
        ("params.model IS NULL", set()),
        ("params.lr IS NULL", {"r3"}),
        ("params.lr is not null", {"r1", "r2"}),
    ],
)
def test_param_comparators(engine, filter_string, expected):
    assert ids(engine, filter_string) == expected


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("tags.mlflow.user = 'alice'", {"r1"}),
        ("tags.`mlflow.user` = 'alice'", {"r1"}),
        ("tags.\"mlflow.user\" != 'alice'", {"r2", "r3"}),
        ("tags.mlflow.user LIKE 'A%'", {"r3"}),
        ("tags.mlflow.user ILIKE 'a%'", {"r1", "r3"}),
        ("tags.\"my tag\" = 'x y'", {"r1"}),
        ("tag.`my tag` LIKE 'x%'", {"r1"}),
        ('tags."my tag" IS NULL', {"r2", "r3"}),
        ('tags."my tag" IS NOT NULL', {"r1"}),
    ],
)
def test_tag_comparators(engine, filter_string, expected):
    assert ids(engine, filter_string) == expected


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("attributes.status = 'FAILED'", {"r2"}),
        ("status != 'FAILED'", {"r1", "r3"}),
        ("attributes.run_name LIKE '%a'", {"r1", "r2", "r3"}),
        ("run_name LIKE 'a%'", {"r1"}),
        ("attr.run_name ILIKE 'ALPHA'", {"r1"}),
        ("`Run name` = 'beta'", {"r2"}),
        ("run.user_id = 'ann'", {"r1", "r3"}),
        ("attributes.artifact_uri = '/a/r2'", {"r2"}),
        ("attributes.run_id IN ('r1', 'r3', 'r4')", {"r1", "r3"}),
        ("run_id NOT IN ('r1')", {"r2", "r3"}),
        ("run_id = 'r2'", {"r2"}),
        ("attributes.start_time >= 2000", {"r2", "r3"}),
        ("start_time < 2000", {"r1"}),
        ("created > 1000", {"r2", "r3"}),
        ("Created = 3000", {"r3"}),
        ("end_time > 0", {"r1"}),  # runs without an end time never match
        ("end_time != 5", {"r1"}),
        ("lifecycle_stage = 'active'", {"r1", "r2", "r3"}),
    ],
)
def test_attribute_comparators(engine, filter_string, expected):
    assert ids(engine, filter_string) == expected


def test_conditions_are_and_ed_case_insensitively(engine):
    assert ids(engine, "metrics.acc > 0.1 and params.model ILIKE 'c%' AND status = 'FAILED'") == {
        "r2"
    }
    assert ids(engine, "metrics.acc > 0.1 And tags.mlflow.user = 'alice'") == {"r1"}
    assert ids(engine, "lifecycle_stage = 'deleted'", view_type=ALL) == {"r4"}


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (["metrics.acc DESC"], ["r1", "r2", "r3"]),
        (["metrics.acc ASC"], ["r2", "r1", "r3"]),  # missing sorts last both ways
        (["metrics.acc"], ["r2", "r1", "r3"]),
        # numbers, then NaN, then missing, in both directions
        (["metrics.loss ASC"], ["r3", "r1", "r2"]),
        (["metrics.loss DESC"], ["r3", "r1", "r2"]),
        (["params.model"], ["r1", "r3", "r2"]),  # binary order: CNN < RNN < cnn
        (["params.lr DESC"], ["r2", "r1", "r3"]),
        (["params.lr ASC"], ["r1", "r2", "r3"]),
        (['tags."my tag" DESC'], ["r1", "r3", "r2"]),  # then start_time DESC
        (["attributes.run_name DESC"], ["r3", "r2", "r1"]),
        (["start_time"], ["r1", "r2", "r3"]),
        (["end_time ASC"], ["r1", "r3", "r2"]),  # no end time: last
        (["end_time DESC"], ["r1", "r3", "r2"]),
        (["user_id", "run_id DESC"], ["r3", "r1", "r2"]),
        (["status"], ["r2", "r1", "r3"]),
        (["experiment_id", "created"], ["r1", "r2", "r3"]),
    ],
)
def test_order_by(engine, order_by, expected):
    assert search(engine, order_by=order_by)[0] == expected


@pytest.mark.parametrize(
    "order_by, message",
    [
        (["metrics.acc DESC", "metric.acc"], "appears more than once"),
        (["bogus"], "unknown attribute 'bogus'"),
        (["metrics.acc DOWN"], "unexpected 'DOWN'"),
        (["foo.acc"], "unknown identifier prefix 'foo'"),
    ],
)
def test_bad_order_by(engine, order_by, message):
    with pytest.raises(InvalidArgument, match=message):
        search(engine, order_by=order_by)


@pytest.mark.parametrize(
    "filter_string, message",
    [
        (
            "metrics.acc > 0.9 OR metrics.acc < 0.1",
            "at position 18: OR is not supported; conditions can only be combined with AND",
        ),
        (
            "metrics.acc >",
            "at position 13: unexpected end of input, expected a number or a quoted string",
        ),
        ("metrics.acc ~ 1", "at position 12: unexpected character '~'"),
        ("metrics.acc == 1", "at position 13: unexpected '='"),
        ("metrics.acc LIKE 1", "at position 12: comparator LIKE is not supported for metrics.acc"),
        (
            "metrics.acc = 'x'",
            "metrics.acc is numeric and compares with a number, not the string 'x'",
        ),
        (
            "params.p > 1",
            "at position 9: comparator > is not supported for params.p; "
            "use one of =, !=, LIKE, ILIKE",
        ),
        ("params.p = 1", "params.p compares with a quoted string, not the number 1"),
        ("tags.t = 'abc", "at position 9: unclosed quote '"),
        ("tags.`t = 'abc'", "at position 5: unclosed quote `"),
        ("foo.bar = 'x'", "at position 0: unknown identifier prefix 'foo'"),
        ("nonsense = 'x'", "unknown attribute 'nonsense'; valid attributes are run_id, run_name"),
        ("start_time = 'yesterday'", "start_time is numeric and compares with a number"),
        ("status > 'A'", "comparator > is not supported for status"),
        ("status IN ('A')", "comparator IN is not supported for status"),
        ("run_id IN (1, 2)", "IN lists take quoted strings"),
        ("metrics.acc IS NULL", "comparator IS NULL is not supported for metrics.acc"),
        ("metrics.acc > 1 and", "at position 19: unexpected end of input"),
        (
            "metrics.acc > 1 metrics.b < 2",
            "at position 16: unexpected 'metrics.b', expected AND or end of input",
        ),
        ("(metrics.acc > 1)", "at position 0: unexpected '('"),
        ("= 1", "at position 0: unexpected '='"),
        (
            "params.",
            "at position 7: unexpected end of input, expected a backticked name or a quoted string",
        ),
    ],
)
def test_malformed_filters(engine, filter_string, message):
    with pytest.raises(InvalidArgument) as error:
        search(engine, filter_string)
    assert f"Invalid filter {filter_string!r}" in error.value.message
    assert message in error.value.message


def test_filter_length_limit(engine):
    too_long = "params.p = '" + "x" * limits.MAX_FILTER_LENGTH + "'"
    with pytest.raises(InvalidArgument, match=f"more than the limit of {limits.MAX_FILTER_LENGTH}"):
        search(engine, too_long)


def test_injection_attempts_are_literal_text(writable_engine):
    engine = writable_engine
    with engine.begin() as conn:
        add_run(conn, "evil", params={"p": "x' OR 1=1 --"}, tags={"a; DROP TABLE runs": "1"})
    assert ids(engine, "params.p = 'x'' OR 1=1 --'") == {"evil"}
    assert ids(engine, "tags.\"a; DROP TABLE runs\" = '1'") == {"evil"}
    assert ids(engine, 'params.lr = \'0.01" OR "1"="1\'') == set()
    assert ids(engine, "tags.\"x' OR '1'='1\" = 'x'") == set()
    assert ids(engine, "params.lr LIKE '%'' UNION SELECT * FROM runs --'") == set()
    with engine.connect() as conn:  # the table is still there and complete
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.runs)).scalar() == 6


def test_injection_that_closes_the_quote_is_a_syntax_error(engine):
    with pytest.raises(InvalidArgument, match="at position 15: OR is not supported"):
        search(engine, "params.p = 'x' OR 1=1 --'")
    with pytest.raises(InvalidArgument, match="at position 14: unexpected character ';'"):
        search(engine, "params.p = 'x'; DROP TABLE runs; --")


def test_max_results_bounds(engine):
    plan = plan_run_search(
        experiment_ids=[1],
        filter_string="",
        order_by=[],
        view_type=0,
        max_results=0,
        page_token="",
        page_tokens=page_tokens(engine),
    )
    assert plan.max_results == limits.DEFAULT_SEARCH_RUNS_MAX_RESULTS
    for bad in (-1, limits.MAX_SEARCH_RUNS_MAX_RESULTS + 1):
        with pytest.raises(
            InvalidArgument, match=f"Invalid value {bad} for parameter 'max_results'"
        ):
            search(engine, max_results=bad)
    assert search(engine, max_results=limits.MAX_SEARCH_RUNS_MAX_RESULTS)[0] == ["r3", "r2", "r1"]


@pytest.fixture(scope="module")
def many_runs(tmp_path_factory):
    """250 runs with ties, missing metrics/params/tags and NaN, to page through."""
    engine = make_engine(tmp_path_factory.mktemp("many"))
    rng = random.Random(7)
    with engine.begin() as conn:
        for index in range(250):
            metrics = {}
            if rng.random() < 0.8:
                metrics["acc"] = rng.choice([math.nan, 0.1, 0.5, 0.9, rng.random()])
            params = {"bs": str(rng.choice([16, 32, 64]))} if rng.random() < 0.7 else {}
            tags = {"team": rng.choice(["a", "b"])} if rng.random() < 0.5 else {}
            add_run(
                conn,
                f"run{index:03d}",
                start_time=rng.randrange(20) * 1000,
                end_time=rng.choice([None, 5]),
                metrics=metrics,
                params=params,
                tags=tags,
                stage="deleted" if index % 50 == 0 else "active",
            )
    return engine


@pytest.mark.parametrize(
    "order_by",
    [
        [],
        ["metrics.acc DESC"],
        ["metrics.acc ASC"],
        ["params.bs DESC", "metrics.acc"],
        ["tags.team", "start_time ASC"],
        ["end_time DESC"],
        ["run_id DESC"],
    ],
)
def test_paging_visits_every_run_once_in_order(many_runs, order_by):
    everything, _ = search(many_runs, order_by=order_by, max_results=1000)
    assert len(everything) == 245
    paged, pages = search_all_pages(many_runs, order_by=order_by, page_size=7)
    assert paged == everything
    assert pages == 35


def test_paging_by_metric_matches_mlflow_order(many_runs):
    with many_runs.connect() as conn:
        rows = conn.execute(
            sa.select(
                schema.runs.c.run_id,
                schema.runs.c.start_time,
                schema.latest_metrics.c.value,
                schema.latest_metrics.c.key,
            )
            .select_from(
                schema.runs.outerjoin(
                    schema.latest_metrics,
                    sa.and_(
                        schema.latest_metrics.c.run_id == schema.runs.c.run_id,
                        schema.latest_metrics.c.key == "acc",
                    ),
                )
            )
            .where(schema.runs.c.lifecycle_stage == "active")
        ).all()

    def mlflow_order(row):  # values descending, then NaN, then missing; start_time DESC; run_id
        rank = 2 if row.key is None else 1 if row.value is None else 0
        return (rank, -(row.value or 0), -row.start_time, row.run_id)

    expected = [row.run_id for row in sorted(rows, key=mlflow_order)]
    assert search_all_pages(many_runs, order_by=["metrics.acc DESC"], page_size=7)[0] == expected


def test_paging_with_a_filter(many_runs):
    everything, _ = search(many_runs, "metrics.acc >= 0.5 and params.bs != '16'", max_results=1000)
    paged, _ = search_all_pages(many_runs, "metrics.acc >= 0.5 and params.bs != '16'", page_size=7)
    assert paged == everything and 0 < len(everything) < 245


def test_page_token_is_bound_to_its_query(many_runs):
    _, token = search(many_runs, "metrics.acc > 0", max_results=7)
    assert token
    # Same query, another page size: fine.
    assert len(search(many_runs, "metrics.acc > 0", max_results=3, page_token=token)[0]) == 3
    for changed in (
        {"filter_string": "metrics.acc > 1"},
        {"order_by": ["metrics.acc"]},
        {"experiment_ids": (1, 2)},
        {"view_type": ALL},
    ):
        query = {
            "filter_string": "metrics.acc > 0",
            "max_results": 7,
            "page_token": token,
        } | changed
        with pytest.raises(InvalidArgument, match="page token belongs to a different request"):
            search(many_runs, **query)


@pytest.mark.parametrize("token", ["garbage!", "bm90IGpzb24", "eyJ2IjoxfQ", "W10"])
def test_garbage_page_token(engine, token):
    with pytest.raises(InvalidArgument, match="Invalid page token"):
        search(engine, page_token=token)


def test_compiles_for_postgresql(engine):
    query = {
        "filter_string": "metrics.acc > 0.1 and params.model LIKE '%' and tags.t ILIKE '%' "
        "and run_id IN ('r1', 'r2') and tags.u IS NULL and start_time >= 5",
        "order_by": ["metrics.acc DESC", "params.lr"],
        "view_type": 0,
        "max_results": 1,
    }
    _, token = search(engine, **query, experiment_ids=[1, 2])
    plan = plan_run_search(
        experiment_ids=[1, 2], **query, page_token=token, page_tokens=page_tokens(engine)
    )
    sql = str(plan.statement.compile(dialect=postgresql.dialect()))
    assert "LIKE %(" in sql and "ILIKE %(" in sql and "GLOB" not in sql
    assert "LIMIT" in sql and "OFFSET" not in sql


def _reference_runs(engine):
    """Every active run of `many_runs` as (run_id, start_time, acc entry, bs, team)."""
    r, m, p, t = (schema.runs.c, schema.latest_metrics.c, schema.params.c, schema.tags.c)
    with engine.connect() as conn:
        runs = conn.execute(
            sa.select(r.run_id, r.start_time).where(r.lifecycle_stage == "active")
        ).all()
        acc = dict(conn.execute(sa.select(m.run_id, m.value).where(m.key == "acc")).all())
        bs = dict(conn.execute(sa.select(p.run_id, p.value).where(p.key == "bs")).all())
        team = dict(conn.execute(sa.select(t.run_id, t.value).where(t.key == "team")).all())
    return [
        {
            "run_id": run_id,
            "start_time": start_time,
            "has_acc": run_id in acc,
            "acc": acc.get(run_id),  # None for NaN as well as for missing
            "bs": bs.get(run_id),
            "team": team.get(run_id),
        }
        for run_id, start_time in runs
    ]


@pytest.mark.parametrize(
    "filter_string, accepts, descending",
    [
        # The filter bounds the order-by metric: the search walks its index.
        ("metrics.acc >= 0.5", lambda run: run["acc"] is not None and run["acc"] >= 0.5, True),
        ("metrics.acc < 0.9", lambda run: run["acc"] is not None and run["acc"] < 0.9, False),
        (
            "metrics.acc != 0.5 and params.bs = '32' and tags.team IS NULL",
            lambda run: run["acc"] not in (None, 0.5) and run["bs"] == "32" and not run["team"],
            True,
        ),
        # It does not: runs without the metric, or with NaN, sort last in both directions.
        ("params.bs = '32'", lambda run: run["bs"] == "32", True),
        ("params.bs = '32'", lambda run: run["bs"] == "32", False),
        ("", lambda run: True, False),
    ],
)
def test_paging_by_a_metric_with_and_without_a_bound_on_it(
    many_runs, filter_string, accepts, descending
):
    def mlflow_order(run):  # numbers, then NaN, then missing; start_time DESC; run_id
        rank = 0 if run["acc"] is not None else 1 if run["has_acc"] else 2
        value = run["acc"] or 0.0
        return (rank, -value if descending else value, -run["start_time"], run["run_id"])

    expected = [
        run["run_id"]
        for run in sorted(filter(accepts, _reference_runs(many_runs)), key=mlflow_order)
    ]
    order_by = ["metrics.acc DESC" if descending else "metrics.acc ASC"]
    assert len(expected) > 7  # more than one page
    assert search(many_runs, filter_string, order_by, max_results=1000)[0] == expected
    assert search_all_pages(many_runs, filter_string, order_by, page_size=7)[0] == expected


@pytest.mark.parametrize(
    "filter_string, walks_the_metric_index",
    [
        ("metrics.acc > 0.5 and params.bs = '32'", True),
        ("params.bs = '32'", False),
    ],
)
def test_a_bound_on_the_order_by_metric_walks_its_index(
    many_runs, filter_string, walks_the_metric_index
):
    query = {"filter_string": filter_string, "order_by": ["metrics.acc DESC"], "max_results": 7}
    _, token = search(many_runs, **query)
    for page_token in ("", token):
        plan = plan_run_search(
            experiment_ids=[1],
            view_type=0,
            page_token=page_token,
            page_tokens=page_tokens(many_runs),
            **query,
        )
        sql = plan.statement.compile(many_runs, compile_kwargs={"literal_binds": True})
        with many_runs.connect() as conn:
            steps = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        # Walking the index, the rows come out in the metric's order: only the tie-breakers
        # of equal values are sorted, not the whole experiment.
        walks = steps.startswith("SEARCH order_0 USING INDEX ix_latest_metrics_key_value")
        assert walks == walks_the_metric_index, steps
        assert ("USE TEMP B-TREE FOR ORDER BY" in steps) != walks_the_metric_index, steps
