"""The web UI side by side with MLflow's own, in the same headless Chromium, on the same data.

Prints figures, asserts nothing (make bench-ui). Both servers get an experiment of RUNS runs
with params and metrics, and one of CHART_RUNS runs with a long `loss` history: trackwire
through its fastest path (native gRPC from writer processes), MLflow through its REST API.
trackwire alone also gets a LARGE_RUNS-run experiment and CHART_RUNS x CHART_STEPS points
(MLflow's server would take hours to store that many): the targets of issue 17. Every
seeding stops at its count or at its time budget, whichever comes first, and the figures name
what was seeded.

Times are from navigation to the first table row / the drawn chart, cold page each time,
median of REPEATS. The machine's load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import GrpcClient  # noqa: E402
from servers import ServerProcess, start_mlflow, start_trackwire  # noqa: E402

from trackwire.v1 import tracking_service_pb2 as ts  # noqa: E402

CHROMIUM = "/usr/bin/chromium-headless-shell"
RUN_NAME = re.compile(r"^run-\d{6}$")
BATCH = 1000  # points per LogBatch (MLflow's limit)
WRITERS = 2  # trackwire's writer processes (one per core)
START = 1_700_000_000_000


def run_data(i: int) -> tuple[dict[str, str], list[tuple[str, float, int, int]]]:
    """Run i's params and its metrics as (key, value, timestamp, step)."""
    params = {"lr": str(0.001 * (1 + i % 10)), "optimizer": ("adam", "sgd")[i % 2]}
    params.update({f"p{j}": f"v{(i * 7 + j) % 13}" for j in range(3)})
    metrics = [
        (key, (i * 37 + n) % 101 / 100, 1, 0) for n, key in enumerate(("loss", "accuracy", "f1"))
    ]
    return params, metrics


def loss_points(index: int, start: int, steps: int) -> list[tuple[str, float, int, int]]:
    """Points [start, start + BATCH) of chart run `index`'s loss curve."""
    return [
        ("loss", 1 / (1 + step / 1000) + ((step * (index + 3)) % 17) / 400, START + step * 10, step)
        for step in range(start, min(steps, start + BATCH))
    ]


class Rest:
    """MLflow's REST API, one keep-alive connection per thread."""

    def __init__(self, base_url: str):
        self.base = base_url + "/api/2.0/mlflow/"
        self.local = threading.local()

    def call(self, path: str, body: dict, attempts: int = 5) -> dict:
        if not hasattr(self.local, "http"):
            self.local.http = httpx.Client(timeout=600)
        for attempt in range(attempts):
            try:
                response = self.local.http.post(self.base + path, json=body)
                break
            except httpx.TransportError:
                # A worker of MLflow's restarted under load: the same call again (a retried
                # create may leave one extra run; points logged twice chart the same).
                if attempt == attempts - 1:
                    raise
                time.sleep(1)
        response.raise_for_status()
        return response.json()

    def experiment(self, name: str) -> str:
        # MLflow 3's UI opens experiments of this kind on their training runs, not on traces.
        kind = {"key": "mlflow.experimentKind", "value": "custom_model_development"}
        return self.call("experiments/create", {"name": name, "tags": [kind]})["experiment_id"]

    def run(self, experiment_id: str, name: str, start: int) -> str:
        body = {"experiment_id": experiment_id, "run_name": name, "start_time": start}
        return self.call("runs/create", body)["run"]["info"]["run_id"]

    def batch(self, run_id: str, metrics=(), params=None) -> None:
        body = {
            "run_id": run_id,
            "metrics": [
                {"key": k, "value": v, "timestamp": t, "step": s} for k, v, t, s in metrics
            ],
            "params": [{"key": k, "value": v} for k, v in (params or {}).items()],
        }
        self.call("runs/log-batch", body)


def mlflow_runs(rest: Rest, experiment_id: str, count: int, deadline: float) -> int:
    """Seeds up to `count` runs before `deadline`; how many it seeded."""

    def one(i: int) -> int:
        if time.time() > deadline:
            return 0
        params, metrics = run_data(i)
        rest.batch(rest.run(experiment_id, f"run-{i:06d}", START + i), metrics, params)
        return 1

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(one, range(count)))


def mlflow_chart(rest: Rest, experiment_id: str, runs: int, steps: int, deadline: float):
    """The chart runs' ids and the steps each got before `deadline`."""
    run_ids = [rest.run(experiment_id, f"run-{i:06d}", START + i) for i in range(runs)]

    def one(start: int) -> int:
        if time.time() > deadline:
            return 0
        for index, run_id in enumerate(run_ids):
            rest.batch(run_id, loss_points(index, start, steps))
        return min(BATCH, steps - start)

    with ThreadPoolExecutor(4) as pool:  # in step order: a budget cut leaves a shorter curve
        seeded = sum(pool.map(one, range(0, steps, BATCH)))
    return run_ids, seeded


def _trackwire_runs(port: int, experiment_id: str, first: int, count: int, deadline, out):
    """Writer process: runs first, first + WRITERS, ... below count."""
    client, done = GrpcClient(port), 0
    for i in range(first, count, WRITERS):
        if time.time() > deadline:
            break
        request = ts.CreateRunRequest(
            experiment_id=experiment_id, run_name=f"run-{i:06d}", start_time=START + i
        )
        run_id = client.stub.CreateRun(request).run.info.run_id
        params, metrics = run_data(i)
        client.log_batch(run_id, metrics, params)
        done += 1
    client.close()
    out.put(done)


def _trackwire_chart(port: int, runs: list[tuple[int, str]], steps: int, deadline, out):
    """Writer process: the loss curves of `runs` ((index, run_id) pairs)."""
    client, done = GrpcClient(port), 0
    for index, run_id in runs:
        for start in range(0, steps, BATCH):
            if time.time() > deadline:
                break
            client.log_batch(run_id, loss_points(index, start, steps))
            done += min(BATCH, steps - start)
    client.close()
    out.put(done)


def in_writers(target, jobs: list[tuple]) -> int:
    """Runs target(*job, out) in one process per job; the sum of what they put out."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [context.Process(target=target, args=(*job, out)) for job in jobs]
    for process in processes:
        process.start()
    total = sum(out.get() for _ in processes)
    for process in processes:
        process.join()
    return total


def trackwire_runs(server: ServerProcess, experiment_id: str, count: int, deadline: float) -> int:
    jobs = [(server.grpc_port, experiment_id, w, count, deadline) for w in range(WRITERS)]
    return in_writers(_trackwire_runs, jobs)


def trackwire_chart(server: ServerProcess, experiment_id: str, runs: int, steps: int, deadline):
    """The chart runs' ids and the points each got (the least of them)."""
    client = GrpcClient(server.grpc_port)
    run_ids = [
        client.stub.CreateRun(
            ts.CreateRunRequest(
                experiment_id=experiment_id, run_name=f"run-{i:06d}", start_time=START + i
            )
        ).run.info.run_id
        for i in range(runs)
    ]
    client.close()
    indexed = list(enumerate(run_ids))
    jobs = [(server.grpc_port, indexed[w::WRITERS], steps, deadline) for w in range(WRITERS)]
    return run_ids, in_writers(_trackwire_chart, jobs) // runs


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed_page(browser, url: str, ready, repeats: int) -> tuple[float, dict]:
    """Median seconds from navigation to `ready(page)` returning, on a cold page each time;
    and what the last page loaded (JS bytes, gzipped) and holds (DOM elements)."""
    times, facts = [], {}
    for _ in range(repeats):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        scripts: list[bytes] = []

        def keep(response, scripts=scripts):
            if "javascript" in response.headers.get("content-type", ""):
                try:
                    scripts.append(response.body())
                except Exception:  # noqa: BLE001 - a redirect or aborted load has no body
                    pass

        page.on("response", keep)
        t0 = time.perf_counter()
        page.goto(url)
        ready(page)
        times.append(time.perf_counter() - t0)
        facts = {
            "js_gzip_kb": sum(len(gzip.compress(s)) for s in scripts) / 1024,
            "dom_elements": page.evaluate("document.getElementsByTagName('*').length"),
            "page": page,
            "context": context,
        }
        if len(times) < repeats:
            context.close()
    return statistics.median(times), facts


def first_row(page) -> None:
    page.get_by_text(RUN_NAME).first.wait_for(timeout=120_000)


def trackwire_drawn(page) -> None:
    page.wait_for_selector("figure.chart[data-metric='loss'][data-points]", timeout=120_000)
    page.evaluate("new Promise(requestAnimationFrame)")


def mlflow_drawn(page) -> None:
    # MLflow's chart view draws each metric with plotly: an SVG trace per run.
    page.wait_for_selector(".js-plotly-plot .scatterlayer .trace", timeout=120_000)
    page.evaluate("new Promise(requestAnimationFrame)")


def scroll_dom(page) -> int:
    """DOM elements after scrolling the runs table through thousands of rows."""
    grid = page.get_by_role("grid", name="Runs")
    for position in range(1, 21):
        grid.evaluate(f"el => el.scrollTo(0, {position * 30 * 250})")
        page.wait_for_timeout(50)
    return page.evaluate("document.getElementsByTagName('*').length")


class Rows(list):
    """The table's rows, each printed as soon as it is measured (a long run keeps what it got)."""

    def append(self, row: tuple[str, str, str, str]) -> None:
        super().append(row)
        print("  " + " | ".join(row) + f"   ({load()})", flush=True)


def ratio(theirs: float, ours: float) -> str:
    return f"{theirs / ours:.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5000, help="runs, both servers")
    parser.add_argument("--large-runs", type=int, default=100_000, help="runs, trackwire only")
    parser.add_argument("--chart-runs", type=int, default=10)
    parser.add_argument("--chart-steps", type=int, default=100_000, help="trackwire only")
    parser.add_argument("--mlflow-chart-steps", type=int, default=10_000, help="both servers")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--budget", type=float, default=600, help="seconds each seeding (per server) may take"
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    rows = Rows()
    print(f"{os.cpu_count()} cores, {load()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        trackwire = start_trackwire(Path(tmp))
        mlflow = start_mlflow(Path(tmp), "mlflow", None)
        try:
            trackwire.wait_ready(timeout=600)
            mlflow.wait_ready(timeout=600)  # MLflow starts 15 processes
            tw_url, ml_url = trackwire.base_url, mlflow.base_url
            tw, ml = GrpcClient(trackwire.grpc_port), Rest(ml_url)

            t0 = time.perf_counter()
            tw_runs = tw.create_experiment("bench-runs")
            tw_count = trackwire_runs(trackwire, tw_runs, args.runs, time.time() + args.budget)
            tw_chart = tw.create_experiment("bench-chart")
            tw_chart_ids, _ = trackwire_chart(
                trackwire,
                tw_chart,
                args.chart_runs,
                args.mlflow_chart_steps,
                time.time() + args.budget,
            )
            print(
                f"seeded trackwire: {tw_count:,} runs in {time.perf_counter() - t0:.0f} s "
                f"({load()})",
                flush=True,
            )
            t0 = time.perf_counter()
            deadline = time.time() + args.budget
            ml_chart = ml.experiment("bench-chart")  # first: the runs take what time is left
            ml_chart_ids, ml_steps = mlflow_chart(
                ml, ml_chart, args.chart_runs, args.mlflow_chart_steps, deadline
            )
            ml_runs = ml.experiment("bench-runs")
            ml_count = mlflow_runs(ml, ml_runs, args.runs, deadline)
            print(
                f"seeded MLflow: {ml_count:,} runs, {ml_steps:,} steps per chart run in "
                f"{time.perf_counter() - t0:.0f} s ({load()})",
                flush=True,
            )

            r = args.repeats
            tw_table, tw_facts = timed_page(
                browser, f"{tw_url}/#/experiments/{tw_runs}", first_row, r
            )
            ml_table, ml_facts = timed_page(
                browser, f"{ml_url}/#/experiments/{ml_runs}/runs", first_row, r
            )
            counts = f"{tw_count:,}" if tw_count == ml_count else f"{tw_count:,} / {ml_count:,}"
            rows.append(
                (
                    f"{counts}-run table, first rows (s)",
                    f"{tw_table:.2f}",
                    f"{ml_table:.2f}",
                    ratio(ml_table, tw_table),
                )
            )
            rows.append(
                (
                    "JS loaded by the page, gzipped (KB)",
                    f"{tw_facts['js_gzip_kb']:.0f}",
                    f"{ml_facts['js_gzip_kb']:.0f}",
                    ratio(ml_facts["js_gzip_kb"], tw_facts["js_gzip_kb"]),
                )
            )
            rows.append(
                (
                    f"DOM elements, {counts}-run table",
                    str(tw_facts["dom_elements"]),
                    str(ml_facts["dom_elements"]),
                    "",
                )
            )
            for facts in (tw_facts, ml_facts):
                facts["context"].close()

            selection = ",".join(tw_chart_ids)
            tw_time, facts = timed_page(
                browser, f"{tw_url}/#/experiments/{tw_chart}?sel={selection}", trackwire_drawn, r
            )
            facts["context"].close()
            try:
                ml_time, facts = timed_page(
                    browser,
                    f"{ml_url}/#/experiments/{ml_chart}/runs?compareRunsMode=CHART",
                    mlflow_drawn,
                    r,
                )
                facts["context"].close()
                ml_text, versus = f"{ml_time:.2f}", ratio(ml_time, tw_time)
            except Exception as error:  # noqa: BLE001 - a figure, not a test
                ml_text, versus = f"failed ({type(error).__name__})", ""
            steps = (
                f"{args.mlflow_chart_steps:,}"
                if ml_steps == args.mlflow_chart_steps
                else f"{args.mlflow_chart_steps:,} / {ml_steps:,}"
            )
            rows.append(
                (
                    f"chart {args.chart_runs} runs x {steps} steps (s)",
                    f"{tw_time:.2f}",
                    ml_text,
                    versus,
                )
            )
            mlflow.stop()  # its 15 processes leave the cores to what follows

            t0 = time.perf_counter()
            deadline = time.time() + args.budget
            long = tw.create_experiment("bench-long-chart")
            long_ids, long_steps = trackwire_chart(
                trackwire, long, args.chart_runs, args.chart_steps, deadline
            )
            large = tw.create_experiment("bench-large")
            large_count = trackwire_runs(trackwire, large, args.large_runs, deadline)
            print(
                f"seeded trackwire's large data: {large_count:,} runs, {long_steps:,} steps "
                f"per chart run in {time.perf_counter() - t0:.0f} s ({load()})",
                flush=True,
            )

            large_time, facts = timed_page(browser, f"{tw_url}/#/experiments/{large}", first_row, r)
            scrolled = scroll_dom(facts["page"])
            facts["context"].close()
            rows.append(
                (f"{large_count:,}-run table, first rows (s)", f"{large_time:.2f}", "-", "")
            )
            rows.append(
                (
                    f"DOM elements, {large_count:,}-run table: first / scrolled",
                    f"{facts['dom_elements']} / {scrolled}",
                    "-",
                    "",
                )
            )
            try:
                long_time, facts = timed_page(
                    browser,
                    f"{tw_url}/#/experiments/{long}?sel={','.join(long_ids)}",
                    trackwire_drawn,
                    r,
                )
                facts["context"].close()
                long_text = f"{long_time:.2f}"
            except Exception as error:  # noqa: BLE001 - a figure, not a test
                long_text = f"failed ({type(error).__name__})"
            rows.append(
                (f"chart {args.chart_runs} runs x {long_steps:,} steps (s)", long_text, "-", "")
            )
            tw.close()
        finally:
            browser.close()
            for server in (trackwire, mlflow):
                server.stop()

    assets = Path(__file__).resolve().parent.parent / "python/src/trackwire/server/ui_assets"
    bundle = sum(len(gzip.compress(p.read_bytes())) for p in assets.glob("assets/*.js"))
    rows.append(("trackwire's whole UI JS, gzipped (KB)", f"{bundle / 1024:.0f}", "", ""))
    print(f"\n{os.cpu_count()} cores, {load()} at the end\n")
    print("| web UI | trackwire | MLflow | MLflow / trackwire |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
