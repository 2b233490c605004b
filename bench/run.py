"""trackwire's benchmark (issue 6): trackwire alone, or side by side with MLflow's server.

    .venv/bin/python bench/run.py [--quick] [--compare] [--backend postgresql]

Starts every server itself (free loopback ports, fresh SQLite files and artifact dirs in a temp
dir), runs each workload against every target in turn (interleaved), prints one table and
writes it to build/bench/*.json. Targets: MLflow with its default workers ("mlflow"), MLflow
with --workers 1 ("mlflow-w1"), trackwire's REST gateway with the same HTTP client code
("tw-rest") and trackwire's native gRPC ("tw-grpc"). With --backend postgresql every server
gets a database of its own in one private PostgreSQL cluster (fsync on), and the writers
workload also runs against two trackwire replicas sharing one database ("tw-2rep").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import psutil
import workloads as wl
from clients import connect
from postgres import Cluster
from servers import MLFLOW_BIN, ROOT, start_mlflow, start_trackwire

FULL = {
    "create_run": 200,
    "log_metric": 2000,
    "log_batch": 200,
    "history": 100_000,
    "search_runs": 5000,
    "search_runs_large": 100_000,
    "writers": 8,
    "writer_batches": 200,
    "fluent": 100_000,
    "mlflow_fluent": 1000,
}
QUICK = {k: (v if k == "writers" else max(1, v // 10)) for k, v in FULL.items()}

# (figure, label, which way is better)
ROWS = [
    ("create_run_median_ms", "create_run median (ms)", "lower"),
    ("create_run_p99_ms", "create_run p99 (ms)", "lower"),
    ("log_metric_calls_per_s", "log_metric (calls/s)", "higher"),
    ("log_batch_points_per_s", "log_batch (points/s)", "higher"),
    ("history_read_s", "metric history read (s)", "lower"),
    ("search_filtered_median_s", "search filtered, median (s)", "lower"),
    ("search_page_all_s", "search paging all runs (s)", "lower"),
    ("writers_points_per_s", "concurrent writers (points/s)", "higher"),
    ("writers_p99_s", "concurrent writers p99 (s)", "lower"),
    ("writers_cpu_us_per_point", "concurrent writers server CPU/point (µs)", "lower"),
    ("search_large_filtered_median_s", "search filtered at large N (s)", "lower"),
    ("search_large_page_all_s", "search paging at large N (s)", "lower"),
    ("search_scaling", "search cost large N / small N", "lower"),
    ("fluent_calls_per_s", "fluent log_metric loop (calls/s)", "higher"),
    ("fluent_until_end_run_s", "fluent loop + end_run (s)", "lower"),
    ("fluent_points_ok", "fluent points on server == logged", None),
]
# tw-fsync: trackwire's native gRPC on a server started with --fsync-commits (every commit
# synced to disk, like MLflow's rollback journal with synchronous=FULL); write workloads only.
# tw-2rep: two trackwire servers on one PostgreSQL database, the writers split between their
# gRPC ports (PostgreSQL only; concurrent writers only).
TARGETS = ["mlflow", "mlflow-w1", "tw-rest", "tw-grpc", "tw-fsync", "tw-2rep"]
RATIOS = [
    ("tw-rest", "mlflow"),
    ("tw-rest", "mlflow-w1"),
    ("tw-grpc", "mlflow"),
    ("tw-fsync", "mlflow"),
    ("tw-2rep", "mlflow"),
]
WRITES_ONLY = ("tw-fsync", "tw-2rep")
PSYCOPG = "postgresql+psycopg"


def machine() -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "load_average_1_5_15": os.getloadavg(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "disk_tmp": tempfile.gettempdir(),
    }


def versions(compare: bool, cluster: Cluster | None) -> dict:
    import trackwire

    found = {
        "python": platform.python_version(),
        "trackwire": trackwire.__version__,
        "grpcio": grpc.__version__,
        "sqlite": sqlite3.sqlite_version,
    }
    if cluster:
        found["postgresql"] = cluster.durability().split(",", 1)[0]
    if compare:
        mlflow_python = MLFLOW_BIN.parent / "python"
        found["mlflow"] = subprocess.run(
            [str(mlflow_python), "-c", "import mlflow; print(mlflow.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return found


def sqlite_floor(tmp: Path, rows: int = 100_000) -> dict:
    """Plain sqlite3 in WAL mode: one executemany of metric rows, then reading them back."""
    db = sqlite3.connect(tmp / "floor.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE metrics (run_uuid TEXT, key TEXT, step INTEGER, timestamp INTEGER, "
        "value REAL, PRIMARY KEY (run_uuid, key, step))"
    )
    data = [("r" * 32, "loss", i, 1_700_000_000_000 + i, i * 1e-3) for i in range(rows)]
    t0 = time.perf_counter()
    with db:
        db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", data)
    insert = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = db.execute(
        "SELECT step, timestamp, value FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY step",
        ("r" * 32, "loss"),
    ).fetchall()
    read = time.perf_counter() - t0
    assert len(got) == rows
    db.close()
    return {"rows": rows, "insert_rows_per_s": round(rows / insert), "read_s": round(read, 3)}


def durability(tmp: Path, cluster: Cluster | None) -> dict:
    """trackwire's SQLite settings, read from connections of its own store engines."""
    from trackwire.server.store.engine import create_store_engine

    if cluster:
        return {"mlflow and trackwire": cluster.durability()}
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}

    def settings(fsync: bool) -> str:
        engine = create_store_engine(f"sqlite:///{tmp / f'durability-{fsync}.db'}", fsync)
        with engine.connect() as conn:
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        engine.dispose()
        return f"journal_mode={journal}, synchronous={names.get(sync, sync)}"

    return {
        "trackwire": settings(False) + " (survives a server crash)",
        "tw-fsync": settings(True) + " (--fsync-commits: survives power loss)",
        "mlflow": "SQLAlchemy defaults: journal_mode=delete (rollback journal), synchronous=FULL",
    }


class Bench:
    def __init__(self, args, tmp: Path, cluster: Cluster | None):
        self.counts = QUICK if args.quick else FULL
        self.tmp = tmp
        self.cluster = cluster

        def store(name: str, driver: str = "postgresql") -> str | None:
            # MLflow's venv has psycopg 3, which SQLAlchemy names postgresql+psycopg.
            if not cluster:
                return None
            return cluster.database(name.replace("-", "_")).replace("postgresql", driver, 1)

        # Started one after the other, so that each start-up time is its own.
        self.servers = {"trackwire": start_trackwire(tmp, store_uri=store("trackwire"))}
        self.servers["trackwire"].wait_ready()
        if cluster:
            # The second replica shares the first one's database.
            shared = self.servers["trackwire"].store_uri
            self.servers["trackwire-2"] = start_trackwire(tmp, "trackwire-2", store_uri=shared)
        else:
            fsync = start_trackwire(tmp, "trackwire-fsync", "--fsync-commits")
            self.servers["trackwire-fsync"] = fsync
        if args.compare:
            self.servers["mlflow"] = start_mlflow(tmp, "mlflow", None, store("mlflow", PSYCOPG))
            self.servers["mlflow-w1"] = start_mlflow(
                tmp, "mlflow-w1", 1, store("mlflow-w1", PSYCOPG)
            )
        try:
            for server in self.servers.values():
                # MLflow upgrades a fresh PostgreSQL database for minutes on a loaded machine.
                server.wait_ready(timeout=900)
        except BaseException:
            for server in self.servers.values():  # none is left running
                server.stop()
            raise
        tw = self.servers["trackwire"]
        self.targets = {
            "tw-rest": ([tw], "rest", tw.base_url),
            "tw-grpc": ([tw], "grpc", tw.grpc_port),
        }
        if cluster:
            replicas = [tw, self.servers["trackwire-2"]]
            self.targets["tw-2rep"] = (replicas, "grpc", [r.grpc_port for r in replicas])
        else:
            fsync = self.servers["trackwire-fsync"]
            self.targets["tw-fsync"] = ([fsync], "grpc", fsync.grpc_port)
        for name in ("mlflow", "mlflow-w1"):
            if name in self.servers:
                server = self.servers[name]
                self.targets[name] = ([server], "rest", server.base_url)
        # tw-2rep's workload client is the first replica's (it creates the writers' runs).
        self.clients = {
            t: connect(kind, addr[0] if isinstance(addr, list) else addr)
            for t, (_, kind, addr) in self.targets.items()
        }
        self.experiments = {t: c.create_experiment(f"bench-{t}") for t, c in self.clients.items()}
        self.figures: dict[str, dict] = {t: {} for t in TARGETS}
        self.resources: dict[str, dict] = {}
        self.seeding: dict[str, float] = {}

    def measure(self, workload: str, target: str, fn) -> None:
        servers = self.targets[target][0]
        cpu = [server.start_window() for server in servers]
        figures = fn()
        windows = [server.end_window(c) for server, c in zip(servers, cpu, strict=True)]
        usage = {
            "server_cpu_s": round(sum(w["server_cpu_s"] for w in windows), 2),
            "server_peak_rss_mb": round(sum(w["server_peak_rss_mb"] for w in windows), 1),
        }
        if "writers_points" in figures:  # what the server spent per point, whatever the cores
            figures["writers_cpu_us_per_point"] = (
                usage["server_cpu_s"] / figures.pop("writers_points") * 1e6
            )
        self.figures[target].update(figures)
        self.resources.setdefault(workload, {})[target] = usage
        shown = ", ".join(f"{k}={fmt(v)}" for k, v in figures.items())
        print(
            f"  {workload:<14} {target:<10} {shown}  [server cpu {usage['server_cpu_s']} s, "
            f"peak rss {usage['server_peak_rss_mb']} MB]",
            flush=True,
        )

    def each(self, workload: str, fn, only=None) -> None:
        for target in TARGETS:
            if only is None and target in WRITES_ONLY:
                continue
            if target in self.targets and (only is None or target in only):
                self.measure(
                    workload, target, lambda t=target: fn(t, self.clients[t], self.experiments[t])
                )

    def run(self) -> None:
        n = self.counts
        writers = [t for t in TARGETS if t in self.targets]
        writes = [t for t in writers if t != "tw-2rep"]
        self.each("create_run", lambda t, c, e: wl.create_run(c, e, n["create_run"]), writes)
        self.each("log_metric", lambda t, c, e: wl.log_metric(c, e, n["log_metric"]), writes)
        self.each("log_batch", lambda t, c, e: wl.log_batch(c, e, n["log_batch"]), writes)

        history_runs = {
            t: wl.seed_history(c, self.experiments[t], n["history"])
            for t, c in self.clients.items()
            if t not in WRITES_ONLY
        }
        self.each("history", lambda t, c, e: wl.metric_history(c, history_runs[t], n["history"]))

        # One seeded experiment per server; both trackwire paths search the same one.
        # The single-worker MLflow is left out here: seeding it would double MLflow's time.
        search_exp = {}
        for t in ("mlflow", "tw-grpc"):
            if t in self.targets:
                _, kind, addr = self.targets[t]
                exp = self.clients[t].create_experiment(f"search-{t}")
                self.seeding[f"{t} {n['search_runs']} runs"] = wl.seed_runs(
                    kind, addr, exp, n["search_runs"]
                )
                search_exp[t] = exp
        search_exp["tw-rest"] = search_exp["tw-grpc"]
        if self.cluster:  # both servers' databases alike
            self.cluster.analyze()
        self.each(
            "search",
            lambda t, c, e: wl.search(c, search_exp[t], n["search_runs"]),
            only=("mlflow", "tw-rest", "tw-grpc"),
        )

        self.each(
            "writers",
            lambda t, c, e: wl.concurrent_writers(
                self.targets[t][1], self.targets[t][2], c, e, n["writers"], n["writer_batches"]
            ),
            writers,
        )

        tw_grpc = self.targets["tw-grpc"]
        large = self.clients["tw-grpc"].create_experiment("search-large")
        self.seeding[f"tw-grpc {n['search_runs_large']} runs"] = wl.seed_runs(
            "grpc", tw_grpc[2], large, n["search_runs_large"]
        )
        if self.cluster:
            self.cluster.analyze()

        def search_large(t, c, e):
            got = wl.search(c, large, n["search_runs_large"])
            small = self.figures[t]["search_filtered_median_s"]
            return {
                "search_large_filtered_median_s": got["search_filtered_median_s"],
                "search_large_page_all_s": got["search_page_all_s"],
                "search_scaling": got["search_filtered_median_s"] / small,
            }

        self.each("search_large", search_large, only=("tw-rest", "tw-grpc"))

        self.each("fluent", self.fluent, only=("mlflow", "mlflow-w1", "tw-grpc"))

    def fluent(self, target: str, client, experiment_id: str) -> dict:
        (server,), kind, addr = self.targets[target]
        if target.startswith("mlflow"):
            out = subprocess.run(
                [
                    str(MLFLOW_BIN.parent / "python"),
                    str(Path(__file__).parent / "mlflow_fluent.py"),
                    server.base_url,
                    str(self.counts["mlflow_fluent"]),
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=1800,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
        else:
            import trackwire as tw

            calls = self.counts["fluent"]
            tw.set_tracking_uri(f"grpc://127.0.0.1:{addr}")
            tw.set_experiment("fluent")
            run = tw.start_run()
            t0 = time.perf_counter()
            for step in range(calls):
                tw.log_metric("loss", 1.0 / (step + 1), step=step)
            loop = time.perf_counter() - t0
            tw.end_run()
            total = time.perf_counter() - t0
            figures = {
                "fluent_calls": calls,
                "fluent_calls_per_s": calls / loop,
                "fluent_until_end_run_s": total,
                "fluent_points_on_server": client.read_history(run.info.run_id, "loss"),
            }
        figures["fluent_points_ok"] = figures["fluent_points_on_server"] == figures["fluent_calls"]
        return figures

    def stop(self) -> None:
        for c in self.clients.values():
            c.close()
        for server in self.servers.values():
            server.stop()


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def speedup(tw, ml, better) -> float | None:
    """How many times better trackwire is: a throughput ratio, or a time ratio inverted."""
    if tw is None or ml is None or better is None or isinstance(tw, bool) or not tw or not ml:
        return None
    return tw / ml if better == "higher" else ml / tw


def build_table(figures: dict, present: list[str]) -> tuple[list[str], list[list[str]]]:
    ratio_cols = [(a, b) for a, b in RATIOS if a in present and b in present]
    header = ["workload", *present, *(f"{a} vs {b}" for a, b in ratio_cols)]
    rows = []
    for key, label, better in ROWS:
        values = [figures[t].get(key) for t in present]
        if all(v is None for v in values):
            continue
        ratios = [speedup(figures[a].get(key), figures[b].get(key), better) for a, b in ratio_cols]
        rows.append(
            [label, *map(fmt, values), *(("—" if r is None else f"{fmt(r)}×") for r in ratios)]
        )
    return header, rows


def resource_table(resources: dict, present: list[str]) -> tuple[list[str], list[list[str]]]:
    header = ["server CPU s / peak RSS MB", *present]
    rows = []
    for workload, by_target in resources.items():
        rows.append(
            [
                workload,
                *(
                    f"{by_target[t]['server_cpu_s']:.1f} / {by_target[t]['server_peak_rss_mb']:.0f}"
                    if t in by_target
                    else "—"
                    for t in present
                ),
            ]
        )
    return header, rows


def render(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def check_targets(
    figures: dict, servers: dict, counts: dict, backend: str
) -> list[tuple[str, str, bool]]:
    """The targets this run can judge: (target, measured, holds). Issue 6's on SQLite;
    issue 21's on PostgreSQL (≥ 10× on every REST workload, ≥ 20× on gRPC log_batch and
    streamed history, concurrent writers judged by server CPU per point)."""
    checks = []

    def ratio(key, a, b, need, label):
        better = next(b_ for k, _, b_ in ROWS if k == key)
        r = speedup(figures[a].get(key), figures[b].get(key), better)
        if r is not None:
            checks.append((f"{label}: {a} ≥ {need}× {b}", f"{fmt(r)}×", r >= need))

    if backend == "postgresql":
        for key, label in [
            ("create_run_median_ms", "create_run"),
            ("log_metric_calls_per_s", "log_metric"),
            ("log_batch_points_per_s", "log_batch"),
            ("history_read_s", "history"),
            ("search_filtered_median_s", "search filtered"),
            ("search_page_all_s", "search paging"),
            ("writers_cpu_us_per_point", "concurrent writers by server CPU"),
        ]:
            ratio(key, "tw-rest", "mlflow", 10, label)
        ratio("log_batch_points_per_s", "tw-grpc", "mlflow", 20, "log_batch")
        ratio("history_read_s", "tw-grpc", "mlflow", 20, "history (streamed)")
        peak = servers["trackwire"].peak_overall / 2**20
        checks.append(("trackwire peak RSS < 300 MB (whole run)", f"{peak:.0f} MB", peak < 300))
        return checks
    for key, label in [
        ("create_run_median_ms", "create_run"),
        ("log_metric_calls_per_s", "log_metric"),
    ]:
        ratio(key, "tw-rest", "mlflow", 20, label)
        ratio(key, "tw-rest", "mlflow-w1", 10, label)
    for key, label in [
        ("log_batch_points_per_s", "log_batch"),
        ("history_read_s", "history"),
        ("search_filtered_median_s", "search filtered"),
        ("search_page_all_s", "search paging"),
        ("writers_points_per_s", "concurrent writers"),
    ]:
        ratio(key, "tw-rest", "mlflow", 10, label)
    for key, label in [
        ("log_batch_points_per_s", "log_batch"),
        ("writers_points_per_s", "concurrent writers"),
        ("history_read_s", "history (streamed)"),
    ]:
        ratio(key, "tw-grpc", "mlflow", 30, label)
    ratio("fluent_calls_per_s", "tw-grpc", "mlflow", 1000, "fluent log_metric")
    if "fluent_points_ok" in figures["tw-grpc"]:
        checks.append(
            (
                "fluent: server holds every point after end_run",
                str(figures["tw-grpc"]["fluent_points_on_server"]),
                figures["tw-grpc"]["fluent_points_ok"],
            )
        )
    growth = counts["search_runs_large"] / counts["search_runs"]
    for t in ("tw-rest", "tw-grpc"):
        s = figures[t].get("search_scaling")
        if s is not None:
            checks.append(
                (
                    f"search scaling ({t}): cost at {growth:g}× the runs ≤ {growth:g}× (linear)",
                    f"{s:.1f}×",
                    s <= growth,
                )
            )
    peak = servers["trackwire"].peak_overall / 2**20
    checks.append(("trackwire server peak RSS < 300 MB (whole run)", f"{peak:.0f} MB", peak < 300))
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--compare", action="store_true", help="also run MLflow's server (2 setups)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="about 1/10 of the counts, for development"
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="every server's store: SQLite files, or databases of one private PostgreSQL "
        "cluster (fsync on)",
    )
    parser.add_argument(
        "--large-runs",
        type=int,
        help="runs for the trackwire-only large search "
        "(default 100,000; 10,000 with --quick); seeding runs at ~440 runs/s here",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "build" / "bench", help="directory for JSON"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp dir (stores, server logs)"
    )
    args = parser.parse_args()
    if args.compare and not MLFLOW_BIN.exists():
        parser.error(f"{MLFLOW_BIN} is missing: run `make bench-compare` (it installs MLflow)")

    if args.large_runs:
        (QUICK if args.quick else FULL)["search_runs_large"] = args.large_runs
    tmp = Path(tempfile.mkdtemp(prefix="trackwire-bench-"))
    cluster = Cluster(tmp / "postgres") if args.backend == "postgresql" else None
    info = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "backend": args.backend,
        "versions": versions(args.compare, cluster),
        "counts": QUICK if args.quick else FULL,
        "sqlite_floor": sqlite_floor(tmp),
        "durability": durability(tmp, cluster),
    }
    print(
        json.dumps(
            {k: info[k] for k in ("machine", "versions", "sqlite_floor", "durability")}, indent=1
        )
    )
    t0 = time.perf_counter()
    bench = None
    try:
        bench = Bench(args, tmp, cluster)
        bench.run()
    finally:
        if bench:
            bench.stop()
        if cluster:
            cluster.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    info["wall_s"] = round(time.perf_counter() - t0, 1)
    info["load_average_at_end"] = os.getloadavg()  # other work on the machine skews the figures
    present = [t for t in TARGETS if t in bench.targets]
    header, rows = build_table(bench.figures, present)
    res_header, res_rows = resource_table(bench.resources, present)
    checks = check_targets(bench.figures, bench.servers, bench.counts, args.backend)
    floor = info["sqlite_floor"]
    peaks = {
        name: f"{s.peak_overall / 2**20:.0f} MB peak RSS, {s.max_processes} processes"
        for name, s in bench.servers.items()
    }
    report = "\n\n".join(
        [
            render(header, rows),
            "Ratios: how many times better trackwire is "
            "(throughput ÷ throughput, or time ÷ time inverted).",
            render(res_header, res_rows),
            f"SQLite floor: {floor['insert_rows_per_s']:,} metric rows/s inserted "
            "(WAL, one executemany), "
            f"{floor['rows']:,} rows read back in {floor['read_s']} s",
            "Durability: " + "; ".join(f"{k}: {v}" for k, v in info["durability"].items()),
            "Whole run: " + "; ".join(f"{k}: {v}" for k, v in peaks.items()),
            "Start to healthy (fresh store, one at a time for trackwire; MLflow's two "
            "together): " + "; ".join(f"{k} {s.startup_s:.1f} s" for k, s in bench.servers.items()),
            "Seeding: " + "; ".join(f"{k} in {v:.1f} s" for k, v in bench.seeding.items()),
            render(
                ["target", "measured", "holds"],
                [[c, m, "yes" if ok else "NO"] for c, m, ok in checks],
            ),
            f"Counts: {'quick (1/10)' if args.quick else 'full'}; wall time {info['wall_s']} s; "
            f"load average at start {info['machine']['load_average_1_5_15'][0]:.1f}, "
            f"at end {info['load_average_at_end'][0]:.1f} ({info['machine']['cores']} cores)",
        ]
    )
    print("\n" + report)
    args.out.mkdir(parents=True, exist_ok=True)
    name = ("compare" if args.compare else "trackwire") + ("-quick" if args.quick else "")
    if args.backend != "sqlite":
        name += f"-{args.backend}"
    out = args.out / f"{name}.json"
    out.write_text(
        json.dumps(
            {
                **info,
                "figures": bench.figures,
                "resources": bench.resources,
                "seeding_s": bench.seeding,
                "server_peaks": peaks,
                "targets": [{"target": c, "measured": m, "holds": ok} for c, m, ok in checks],
                "table": {"header": header, "rows": rows},
                "report": report,
            },
            indent=1,
        )
    )
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
