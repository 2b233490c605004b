"""trackwire at team scale (issue 21): a million runs, a hundred million points.

    .venv/bin/python bench/scale.py --backend sqlite|postgresql [--part runs|points|all]

Seeds one trackwire store through its fastest paths (the runs through the store's services in
writer processes, as the embedded client writes; the points over native gRPC, LogBatch from
writer processes) and measures, through the public wires only:
- runs: the first page of a filtered, ordered search and of one ordered by a metric with no
  filter, a deep page of each through its page token, a count of the matching runs (paging
  them with no columns), and the web UI's runs table in headless Chromium;
- points: one metric's full history, the web UI's chart query (GetMetricBuckets) and
  GetMetricHistoryBulkInterval over 10 runs of 1,000,000 steps, first on a store holding
  only the runs they read ("small store"), then once the store holds every point; bytes on
  disk per point, for trackwire and for MLflow's server at a scale it reaches in a minute
  (extrapolated);
- start-up and upgrade: the server restarted on the big store, and `trackwire db upgrade`
  on it, once with nothing to do and once from the revision before the chart summaries.
Every seeding stops at its count or its time budget, whichever comes first; the figures say
which. The big stores are deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import workloads as wl
from alembic import command
from clients import GrpcClient, RestClient, now_ms
from postgres import Cluster
from run import machine, versions
from servers import MLFLOW_BIN, ROOT, TRACKWIRE_BIN, start_mlflow, start_trackwire

from trackwire.server.services import open_services
from trackwire.server.store.database import Database
from trackwire.server.store.engine import alembic_config, create_store_engine
from trackwire.server.store.keyset import RankedSearchPlan
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.quotas import Quotas
from trackwire.server.store.search_runs import plan_run_search, read_run_counts
from trackwire.v1 import entities_pb2 as ent
from trackwire.v1 import tracking_service_pb2 as ts

PAGE = 100  # the runs table's page
DEEP_STEP = 10_000  # the deep page is reached by pages of this many runs
CHART_RUNS, CHART_STEPS, CHART_POINTS = 10, 1_000_000, 1000
KEYS, STEPS = 10, 10_000  # the filler runs of the points store
BATCH = 1000  # points per LogBatch (MLflow's limit, and trackwire's default)
SEEDERS = 4  # writer processes of the points store
UPGRADE_FROM = "0007"  # the revision before the chart summaries, which 0008 builds


def median_time(fn, repeats: int = 5) -> float:
    """The median of `repeats` calls, after one untimed call (caches, connections)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --- seeding (in writer processes) -------------------------------------------------------


def _run_requests(experiment_id: str, i: int) -> tuple[ts.CreateRunRequest, ts.LogBatchRequest]:
    """Run i of the search workload: CreateRun with its 2 tags, LogBatch of 5 params and 5
    metrics (the run id filled in once created)."""
    params, tags, metrics = wl._run_data(i)
    create = ts.CreateRunRequest(
        experiment_id=experiment_id,
        start_time=now_ms(),
        tags=[ent.RunTag(key=k, value=v) for k, v in tags.items()],
    )
    batch = GrpcClient.batch_payload("", metrics, params)
    return create, batch


def _seed_runs(target: str, experiment_id: str, first: int, stride: int, n: int, deadline, out):
    """Runs first, first + stride, ... below n through `target`: a gRPC port, or a store URI
    whose services run in this process (the embedded client's path, as `sqlite:///` gives;
    opened as a server with --max-runs-per-experiment above n would be)."""
    if target.isdigit():
        client = GrpcClient(int(target))
        tracking, close = client.stub, client.close
    else:
        services = open_services(
            target,
            tempfile.mkdtemp(prefix="trackwire-scale-artifacts-"),
            quotas=Quotas(max_runs_per_experiment=2 * n),
        )
        tracking, close = services.tracking, services.close
    done, cpu = 0, time.process_time()
    for i in range(first, n, stride):
        if time.time() > deadline:
            break
        create, batch = _run_requests(experiment_id, i)
        batch.run_id = tracking.CreateRun(create).run.info.run_id
        tracking.LogBatch(batch)
        done += 1
    close()
    out.put((done, time.process_time() - cpu))


def _seed_points(port: int, experiment_id: str, runs: list[tuple[list[str], int]], deadline, out):
    """Each run: its metric keys and step count, logged BATCH points at a time."""
    client, done = GrpcClient(port), 0
    for keys, steps in runs:
        run_id = client.create_run(experiment_id)
        per_batch = max(1, BATCH // len(keys))
        for start in range(0, steps, per_batch):
            if time.time() > deadline:
                client.close()
                out.put(done)
                return
            ts_ms = now_ms()
            stop = min(steps, start + per_batch)
            points = [(k, s * 1e-3, ts_ms, s) for s in range(start, stop) for k in keys]
            client.log_batch(run_id, points)
            done += len(points)
    client.close()
    out.put(done)


def parallel(target, jobs: list[tuple]) -> tuple[int, float]:
    """Runs target(*job, out) in one process per job; returns (sum of results, seconds)."""
    results, seconds = parallel_results(target, jobs)
    return sum(results), seconds


def parallel_results(target, jobs: list[tuple]) -> tuple[list, float]:
    """Runs target(*job, out) in one process per job; returns (their results, seconds)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*job, out)) for job in jobs]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return results, time.perf_counter() - t0


# --- the store -----------------------------------------------------------------------------


class Store:
    """One trackwire server on a SQLite file or a PostgreSQL database of the run."""

    def __init__(self, backend: str, tmp: Path, cluster: Cluster | None):
        self.backend, self.tmp, self.cluster = backend, tmp, cluster
        self.uri = cluster.database("scale") if cluster else f"sqlite:///{tmp / 'scale.db'}"
        self.server = None
        self.start()

    def start(self) -> float:
        # A million runs in one experiment: above the default quota (500,000).
        self.server = start_trackwire(
            self.tmp, "trackwire", "--max-runs-per-experiment", "10000000", store_uri=self.uri
        )
        try:
            self.server.wait_ready(timeout=1800)
        except BaseException:
            self.server.stop()
            raise
        self.grpc = GrpcClient(self.server.grpc_port)
        self.rest = RestClient(self.server.base_url)
        return self.server.startup_s

    def stop(self) -> None:
        self.grpc.close()
        self.rest.close()
        self.server.stop()

    def size_bytes(self) -> int:
        if self.cluster:
            return self.cluster.size_bytes("scale")
        return sum(f.stat().st_size for f in self.tmp.glob("scale.db*"))

    def upgrade_s(self, timeout: float = 3600) -> float | None:
        """`trackwire db upgrade` on the stopped store, its output shown; None when it did
        not finish within `timeout` seconds."""
        t0 = time.perf_counter()
        try:
            subprocess.run(
                [str(TRACKWIRE_BIN), "db", "upgrade", self.uri], check=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            print(f"  db upgrade did not finish in {timeout:.0f} s")
            return None
        return time.perf_counter() - t0

    def downgrade(self, revision: str) -> None:
        """Takes the stopped store's schema back to `revision` (Alembic's downgrades)."""
        engine = create_store_engine(self.uri)
        try:
            config = alembic_config()
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.downgrade(config, revision)
        finally:
            engine.dispose()

    def profile(self, query, seconds: float = 8) -> list[str]:
        """py-spy on the server while `query` repeats: the frames the samples end in."""
        raw = self.tmp / "profile.txt"
        spy = subprocess.Popen(
            [str(ROOT / ".venv/bin/py-spy"), "record", "-p", str(self.server.proc.pid)]
            + ["-d", str(seconds), "-f", "raw", "-o", str(raw), "-r", "200"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stop = threading.Event()

        def repeat():
            while not stop.is_set() and spy.poll() is None:
                query()

        worker = threading.Thread(target=repeat)
        time.sleep(1)  # py-spy attaches
        worker.start()
        spy.wait()
        stop.set()
        worker.join()
        return summarise_profile(raw)


def analyze(store: Store, what: str) -> float | None:
    """On PostgreSQL, ANALYZE after a seeding: what autovacuum does within its minute's nap.
    Right after a bulk load the planner still has the statistics of empty tables; the
    queries measured are those of a store that has had that minute. Returns its seconds."""
    if not store.cluster:
        return None
    t0 = time.perf_counter()
    store.cluster.analyze()
    seconds = time.perf_counter() - t0
    print(f"  ANALYZE after seeding the {what}: {seconds:.1f} s")
    return seconds


def summarise_profile(raw: Path, top: int = 12) -> list[str]:
    leaves, total = Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        leaves[leaf] += int(count)
        total += int(count)
    return [f"{100 * n / total:5.1f}%  {frame}" for frame, n in leaves.most_common(top)]


# --- a million runs ------------------------------------------------------------------------


def seed_runs(store: Store, experiment: str, n: int, budget: float, path: str, writers: int):
    """Seeds up to n runs within `budget` seconds; returns the figures of the seeding."""
    target = store.uri if path == "in-process" else str(store.server.grpc_port)
    deadline = time.time() + budget
    jobs = [(target, experiment, i, writers, n, deadline) for i in range(writers)]
    server_cpu = store.server.cpu_seconds()
    results, seconds = parallel_results(_seed_runs, jobs)
    seeded = sum(done for done, _ in results)
    writer_cpu = sum(cpu for _, cpu in results)
    server_cpu = store.server.cpu_seconds() - server_cpu
    print(f"  seeded {seeded:,} runs in {seconds:.0f} s ({seeded / seconds:,.0f} runs/s)")
    return {
        "runs": seeded,
        "seed_path": f"{path}, {writers} writer process(es)",
        "seed_s": seconds,
        "seed_runs_per_s": seeded / seconds,
        "seed_writer_cpu_us_per_run": 1e6 * writer_cpu / max(1, seeded),
        "seed_server_cpu_us_per_run": 1e6 * server_cpu / max(1, seeded),
        "load_after_seeding": os.getloadavg(),
    }


def explain_search(store: Store, experiment: str, filter: str, order_by, token) -> list[str]:
    """The database's plan of a search page's (first) statement, as the server plans it."""
    engine = create_store_engine(store.uri)
    try:
        with engine.connect() as conn:
            plan = plan_run_search(
                experiment_ids=[int(experiment)],
                filter_string=filter,
                order_by=list(order_by),
                view_type=0,
                max_results=PAGE,
                page_token=token or "",
                page_tokens=PageTokens(Database(engine)),
                run_counts=lambda: read_run_counts(conn, [int(experiment)]),
            )
            statement = plan.statements[0] if isinstance(plan, RankedSearchPlan) else plan.statement
            sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
            if store.cluster:
                return store.cluster.explain("scale", sql).splitlines()
            return [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    finally:
        engine.dispose()


def runs_part(store: Store, n: int, budget: float, path: str, writers: int) -> dict:
    experiment = store.grpc.create_experiment("scale-runs")
    found = seed_runs(store, experiment, n, budget, path, writers)
    found["analyze_s"] = analyze(store, "runs")

    def no_columns(filter: str, token: str | None, size: int, order_by=()):
        return store.grpc.stub.SearchRuns(
            ts.SearchRunsRequest(
                experiment_ids=[experiment],
                filter=filter,
                order_by=order_by,
                max_results=size,
                page_token=token or "",
                columns=ts.RunColumns(),
            )
        )

    def deep_token(filter: str, order_by, matching: int) -> tuple[str | None, int]:
        """The page token half-way down the order, reached by pages of DEEP_STEP runs."""
        offset, token = 0, None
        while offset + DEEP_STEP <= matching // 2:
            token = no_columns(filter, token, DEEP_STEP, order_by).next_page_token
            offset += DEEP_STEP
        return token, offset

    # The count: every matching run, in the default order, paged with no columns.
    t0, count, token = time.perf_counter(), 0, None
    while True:
        page = no_columns(wl.SEARCH_FILTER, token, 50_000)
        count += len(page.runs)
        token = page.next_page_token
        if not token:
            break
    found["count_s"] = time.perf_counter() - t0
    found["matching"] = count
    # Two searches: filtered and bounded by the order's metric, and ordered with no filter
    # (runs with NaN or without the metric sort last: the web UI's sort by a metric column).
    searches = {
        "filtered": (wl.SEARCH_FILTER, wl.SEARCH_ORDER, count),
        "unbounded": ("", wl.SEARCH_ORDER, found["runs"]),
    }
    for name, (filter, order_by, matching) in searches.items():
        deep, found[f"{name}_deep_offset"] = deep_token(filter, order_by, matching)
        for wire, client in (("grpc", store.grpc), ("rest", store.rest)):

            def page(token=None, client=client, filter=filter, order_by=order_by):
                return client.search(experiment, filter, order_by, PAGE, page_token=token)

            found[f"{name}_first_page_s_{wire}"] = median_time(page)
            if deep:
                found[f"{name}_deep_page_s_{wire}"] = median_time(lambda p=page, d=deep: p(d))
        if deep:
            found[f"{name}_deep_over_first_rest"] = (
                found[f"{name}_deep_page_s_rest"] / found[f"{name}_first_page_s_rest"]
            )
        found[f"plan_{name}_first_page"] = explain_search(store, experiment, filter, order_by, None)
        if deep:
            found[f"plan_{name}_deep_page"] = explain_search(
                store, experiment, filter, order_by, deep
            )
        if found[f"{name}_first_page_s_rest"] > 0.5:
            found[f"profile_{name}_first_page"] = store.profile(
                lambda f=filter, o=order_by: store.rest.search(experiment, f, o, PAGE)
            )
    found["ui_first_screen_s"] = ui_first_screen(store, experiment)
    print("  " + json.dumps(found))
    return found


def ui_first_screen(store: Store, experiment: str) -> float | str:
    """The web UI's runs table of the experiment: seconds from navigation to its first run
    drawn, a cold page each time, median of 3 (as `make bench-ui` times it); or why not."""
    from ui_bench import CHROMIUM, timed_page

    if not Path(CHROMIUM).exists():
        return f"not measured: no {CHROMIUM} (make ui-browser)"
    from playwright.sync_api import sync_playwright

    def first_run(page) -> None:
        page.locator(".runs-row:not(.runs-head) .cell.name a").first.wait_for(timeout=120_000)

    url = f"{store.server.base_url}/#/experiments/{experiment}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            seconds, facts = timed_page(browser, url, first_run, 3)
            facts["context"].close()
        finally:
            browser.close()
    return seconds


# --- a hundred million points --------------------------------------------------------------


def point_queries(store: Store, chart_runs: list[str], probe: str) -> dict:
    def chart():
        query = urlencode(
            {"run_ids": chart_runs, "metric_key": "loss", "max_results": CHART_POINTS},
            doseq=True,
        )
        got = store.rest._call("GET", "metrics/get-history-bulk-interval?" + query)
        assert len(got["metrics"]) == CHART_POINTS * len(chart_runs), len(got["metrics"])

    def buckets():
        # The web UI's chart query (GetMetricBuckets): one bucket per pixel of a chart.
        query = urlencode(
            {"run_ids": chart_runs, "metric_key": "loss", "buckets": CHART_POINTS}, doseq=True
        )
        got = store.rest._call_path("GET", "/api/2.0/trackwire/metrics/get-buckets?" + query)
        assert len(got["runs"]) == len(chart_runs), got.keys()

    def history_rest():
        assert store.rest.read_history(probe, "k0") == STEPS

    def history_grpc():
        assert store.grpc.read_history(probe, "k0") == STEPS

    def long_history_grpc():
        assert store.grpc.read_history(chart_runs[0], "loss") == CHART_STEPS

    t0 = time.perf_counter()
    buckets()  # the first read of histories not summarised yet builds their summaries
    first = time.perf_counter() - t0
    return {
        "buckets_first_read_per_run_s": first / len(chart_runs),
        "buckets_per_run_s": median_time(buckets) / len(chart_runs),
        "chart_per_run_s": median_time(chart) / len(chart_runs),
        "history_10k_rest_s": median_time(history_rest),
        "history_10k_grpc_s": median_time(history_grpc),
        "history_1m_grpc_s": median_time(long_history_grpc, 3),
        "_chart": chart,
    }


def points_part(store: Store, total: int, budget: float) -> dict:
    experiment = store.grpc.create_experiment("scale-points")
    port = store.server.grpc_port
    # The small store: the runs the queries read, and nothing else.
    long_runs = [(["loss"], CHART_STEPS)] * CHART_RUNS
    deadline = time.time() + 3600
    jobs = [(port, experiment, long_runs[i::SEEDERS], deadline) for i in range(SEEDERS)]
    small, seconds = parallel(_seed_points, jobs)
    keys = [f"k{j}" for j in range(KEYS)]
    parallel(_seed_points, [(port, experiment, [(keys, STEPS)], deadline)])
    small += KEYS * STEPS
    analyze(store, "small")
    runs = store.grpc.stub.SearchRuns(
        ts.SearchRunsRequest(experiment_ids=[experiment], max_results=100, order_by=["start_time"])
    ).runs
    chart_runs = [r.info.run_id for r in runs[:CHART_RUNS]]
    probe = runs[CHART_RUNS].info.run_id
    print(f"  small store: {small:,} points in {seconds:.0f} s")
    found: dict = {"small_points": small, "small_seed_points_per_s": small / seconds}
    before = point_queries(store, chart_runs, probe)
    before.pop("_chart")
    found["small"] = before
    small_bytes = store.size_bytes()
    print("  " + json.dumps(found))

    fillers = max(0, (total - small) // (KEYS * STEPS))
    deadline = time.time() + budget
    filler = [(keys, STEPS)] * fillers
    jobs = [(port, experiment, filler[i::SEEDERS], deadline) for i in range(SEEDERS)]
    added, seconds = parallel(_seed_points, jobs)
    found.update(
        # The fill's growth only: the store also holds the runs part's runs.
        bytes_per_point=(store.size_bytes() - small_bytes) / added if added else None,
        points=small + added,
        seed_s=seconds,
        seed_points_per_s=added / seconds,
        reached_target=small + added >= total,
    )
    print(f"  filled to {small + added:,} points in {seconds:.0f} s")
    found["analyze_s"] = analyze(store, "big")
    after = point_queries(store, chart_runs, probe)
    chart = after.pop("_chart")
    found["big"] = after
    found["ratios_big_over_small"] = {k: after[k] / before[k] for k in after}
    if after["chart_per_run_s"] > 0.1:
        found["profile_chart"] = store.profile(chart)
    return found


def mlflow_bytes_per_point(tmp: Path, cluster: Cluster | None, points: int) -> dict:
    """MLflow's server on an empty store of its own, `points` points logged in 1,000-point
    batches over REST: store growth per point."""
    uri = (
        cluster.database("mlflow_scale").replace("postgresql", "postgresql+psycopg", 1)
        if (cluster)
        else None
    )
    server = start_mlflow(tmp, "mlflow", None, uri)
    try:
        server.wait_ready(timeout=900)
    except BaseException:
        server.stop()
        raise

    def size() -> int:
        if cluster:
            return cluster.size_bytes("mlflow_scale")
        return sum(f.stat().st_size for f in (tmp / "mlflow").glob("store.db*"))

    client = RestClient(server.base_url)
    experiment = client.create_experiment("bytes")
    empty = size()
    t0 = time.perf_counter()
    for _ in range(10):
        run_id = client.create_run(experiment)
        for start in range(0, points // 10, BATCH):
            ts_ms = now_ms()
            client.log_batch(
                run_id, [("loss", s * 1e-3, ts_ms, s) for s in range(start, start + BATCH)]
            )
    seconds = time.perf_counter() - t0
    client.close()
    server.stop()
    grown = size() - empty
    return {
        "points": points,
        "seed_points_per_s": points / seconds,
        "startup_s": server.startup_s,
        "bytes_per_point": grown / points,
    }


def main() -> int:
    global CHART_STEPS  # --chart-steps: smaller chart runs for a quick try
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--part", choices=("runs", "points", "all"), default="all")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--runs-budget-s", type=float, default=3600)
    parser.add_argument(
        "--seed-path",
        choices=("in-process", "grpc"),
        default="in-process",
        help="the runs' way in: the store's services in the writer processes (the embedded "
        "client's path), or CreateRun and LogBatch over gRPC to the server",
    )
    parser.add_argument(
        "--seed-writers",
        type=int,
        help="writer processes seeding the runs (default: 1 on SQLite, which takes one writer "
        "at a time; 2 on PostgreSQL, where a second writer's statements overlap the first's "
        "round trips and flushes)",
    )
    parser.add_argument("--points", type=int, default=100_000_000)
    parser.add_argument("--points-budget-s", type=float, default=3600)
    parser.add_argument("--upgrade-budget-s", type=float, default=1800)
    parser.add_argument("--mlflow-points", type=int, default=50_000, help="0: MLflow not measured")
    parser.add_argument(
        "--chart-steps", type=int, default=CHART_STEPS, help="steps of each chart run"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    args = parser.parse_args()
    CHART_STEPS = args.chart_steps
    if args.seed_writers is None:
        args.seed_writers = 2 if args.backend == "postgresql" else 1

    tmp = Path(tempfile.mkdtemp(prefix="trackwire-scale-"))
    cluster = Cluster(tmp / "postgres") if args.backend == "postgresql" else None
    report: dict = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "versions": versions(args.mlflow_points > 0 and MLFLOW_BIN.exists(), cluster),
        "durability": cluster.durability() if cluster else "SQLite WAL, synchronous=NORMAL",
    }
    store = None
    try:
        store = Store(args.backend, tmp, cluster)
        report["startup_empty_s"] = store.server.startup_s
        if args.part in ("runs", "all"):
            print(f"runs ({args.backend}): up to {args.runs:,} in {args.runs_budget_s:.0f} s")
            report["runs"] = runs_part(
                store, args.runs, args.runs_budget_s, args.seed_path, args.seed_writers
            )
            report["load_after_runs"] = os.getloadavg()
        if args.part in ("points", "all"):
            print(f"points ({args.backend}): up to {args.points:,} in {args.points_budget_s:.0f} s")
            report["points"] = points_part(store, args.points, args.points_budget_s)
            report["load_after_points"] = os.getloadavg()
        report["bytes"] = store.size_bytes()
        store.stop()
        report["db_upgrade_noop_s"] = store.upgrade_s()
        # A migration with work in it: back before the chart summaries (0008), which the
        # upgrade then builds from every point of the store.
        t0 = time.perf_counter()
        store.downgrade(UPGRADE_FROM)
        report["db_downgrade_s"] = time.perf_counter() - t0
        print(f"db upgrade from revision {UPGRADE_FROM}:")
        report[f"db_upgrade_from_{UPGRADE_FROM}_s"] = store.upgrade_s(args.upgrade_budget_s)
        if report[f"db_upgrade_from_{UPGRADE_FROM}_s"] is None:
            store.upgrade_s()  # the rest of the run needs the store at the newest schema
        report["startup_big_s"] = store.start()
        if args.mlflow_points and MLFLOW_BIN.exists():
            report["mlflow"] = mlflow_bytes_per_point(tmp, cluster, args.mlflow_points)
    finally:
        if store and store.server:
            store.server.stop()
        if cluster:
            cluster.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report["load_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"scale-{args.backend}-{args.part}.json"
    out.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=1))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
