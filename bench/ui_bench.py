"""The web UI side by side with MLflow's own, in the same headless Chromium, on the same data.

Prints figures, asserts nothing (make bench-ui). Both servers get the same experiments through
MLflow's REST API: RUNS runs with params and metrics, and CHART_RUNS runs with a long `loss`
history. trackwire alone also gets a LARGE_RUNS-run experiment and CHART_RUNS x CHART_STEPS
points (MLflow's server takes minutes to store that many): the targets of issue 17.

Times are from navigation to the first table row / the drawn chart, cold page each time,
median of REPEATS.
"""

from __future__ import annotations

import argparse
import gzip
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
from servers import ServerProcess, start_mlflow, start_trackwire  # noqa: E402

CHROMIUM = "/usr/bin/chromium-headless-shell"
RUN_NAME = re.compile(r"^run-\d{6}$")


class Rest:
    """MLflow's REST API (both servers speak it), one keep-alive connection per thread."""

    def __init__(self, base_url: str):
        self.base = base_url + "/api/2.0/mlflow/"
        self.local = threading.local()

    def call(self, path: str, body: dict) -> dict:
        if not hasattr(self.local, "http"):
            self.local.http = httpx.Client(timeout=600)
        response = self.local.http.post(self.base + path, json=body)
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
        body = {"run_id": run_id, "metrics": list(metrics)}
        if params:
            body["params"] = [{"key": k, "value": v} for k, v in params.items()]
        self.call("runs/log-batch", body)


def seed_runs(rest: Rest, experiment_id: str, count: int, threads: int = 8) -> None:
    def one(i: int) -> None:
        run_id = rest.run(experiment_id, f"run-{i:06d}", 1_700_000_000_000 + i)
        params = {"lr": str(0.001 * (1 + i % 10)), "optimizer": ("adam", "sgd")[i % 2]}
        params.update({f"p{j}": f"v{(i * 7 + j) % 13}" for j in range(3)})
        metrics = [
            {"key": key, "value": (i * 37 + n) % 101 / 100, "timestamp": 1, "step": 0}
            for n, key in enumerate(("loss", "accuracy", "f1"))
        ]
        rest.batch(run_id, metrics, params)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(count), chunksize=32))


def seed_chart(rest: Rest, experiment_id: str, runs: int, steps: int) -> list[str]:
    run_ids = [rest.run(experiment_id, f"run-{i:06d}", 1_700_000_000_000 + i) for i in range(runs)]

    def one(job: tuple[str, int, int]) -> None:
        run_id, index, start = job
        rest.batch(
            run_id,
            [
                {
                    "key": "loss",
                    "value": 1 / (1 + step / 1000) + ((step * (index + 3)) % 17) / 400,
                    "timestamp": 1_700_000_000_000 + step * 10,
                    "step": step,
                }
                for step in range(start, min(steps, start + 1000))
            ],
        )

    jobs = [
        (run_id, i, start) for i, run_id in enumerate(run_ids) for start in range(0, steps, 1000)
    ]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, jobs))
    return run_ids


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


def trackwire_chart(page) -> None:
    page.wait_for_selector("figure.chart[data-metric='loss'][data-points]", timeout=120_000)
    page.evaluate("new Promise(requestAnimationFrame)")


def mlflow_chart(page) -> None:
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
        print("  " + " | ".join(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5000, help="runs, both servers")
    parser.add_argument("--large-runs", type=int, default=100_000, help="runs, trackwire only")
    parser.add_argument("--chart-runs", type=int, default=10)
    parser.add_argument("--chart-steps", type=int, default=100_000, help="trackwire only")
    parser.add_argument("--mlflow-chart-steps", type=int, default=10_000, help="both servers")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    rows = Rows()
    with tempfile.TemporaryDirectory() as tmp:
        servers: list[ServerProcess] = [
            start_trackwire(Path(tmp)),
            start_mlflow(Path(tmp), "mlflow", None),
        ]
        try:
            for server in servers:
                server.wait_ready(timeout=600)  # MLflow starts 15 processes
            tw, ml = (Rest(s.base_url) for s in servers)
            ids: dict[str, dict[str, str]] = {"tw": {}, "ml": {}}
            for key, rest in (("tw", tw), ("ml", ml)):
                t0 = time.perf_counter()
                ids[key]["runs"] = rest.experiment("bench-runs")
                seed_runs(rest, ids[key]["runs"], args.runs)
                ids[key]["chart"] = rest.experiment("bench-chart")
                ids[key]["chart_runs"] = seed_chart(
                    rest, ids[key]["chart"], args.chart_runs, args.mlflow_chart_steps
                )
                print(f"seeded {key}: {time.perf_counter() - t0:.0f} s", flush=True)
            t0 = time.perf_counter()
            ids["tw"]["large"] = tw.experiment("bench-large")
            seed_runs(tw, ids["tw"]["large"], args.large_runs)
            ids["tw"]["long"] = tw.experiment("bench-long-chart")
            long_runs = seed_chart(tw, ids["tw"]["long"], args.chart_runs, args.chart_steps)
            print(f"seeded trackwire's large data: {time.perf_counter() - t0:.0f} s", flush=True)

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"]
                )
                tw_url, ml_url = (s.base_url for s in servers)
                r = args.repeats

                tw_table, tw_facts = timed_page(
                    browser, f"{tw_url}/#/experiments/{ids['tw']['runs']}", first_row, r
                )
                ml_table, ml_facts = timed_page(
                    browser, f"{ml_url}/#/experiments/{ids['ml']['runs']}/runs", first_row, r
                )
                rows.append(
                    (
                        f"{args.runs:,}-run table, first rows (s)",
                        f"{tw_table:.2f}",
                        f"{ml_table:.2f}",
                        f"{ml_table / tw_table:.1f}x",
                    )
                )
                rows.append(
                    (
                        "JS loaded by the page, gzipped (KB)",
                        f"{tw_facts['js_gzip_kb']:.0f}",
                        f"{ml_facts['js_gzip_kb']:.0f}",
                        f"{ml_facts['js_gzip_kb'] / tw_facts['js_gzip_kb']:.0f}x",
                    )
                )
                rows.append(
                    (
                        f"DOM elements, {args.runs:,}-run table",
                        str(tw_facts["dom_elements"]),
                        str(ml_facts["dom_elements"]),
                        "",
                    )
                )
                for facts in (tw_facts, ml_facts):
                    facts["context"].close()

                selection = ",".join(ids["tw"]["chart_runs"])
                tw_chart, facts = timed_page(
                    browser,
                    f"{tw_url}/#/experiments/{ids['tw']['chart']}?sel={selection}",
                    trackwire_chart,
                    r,
                )
                facts["context"].close()
                try:
                    ml_chart, facts = timed_page(
                        browser,
                        f"{ml_url}/#/experiments/{ids['ml']['chart']}/runs?compareRunsMode=CHART",
                        mlflow_chart,
                        r,
                    )
                    facts["context"].close()
                    ml_chart_text, ratio = f"{ml_chart:.2f}", f"{ml_chart / tw_chart:.1f}x"
                except Exception as error:  # noqa: BLE001 - a figure, not a test
                    ml_chart_text, ratio = f"failed ({type(error).__name__})", ""
                rows.append(
                    (
                        f"chart {args.chart_runs} runs x {args.mlflow_chart_steps:,} steps (s)",
                        f"{tw_chart:.2f}",
                        ml_chart_text,
                        ratio,
                    )
                )

                large, facts = timed_page(
                    browser, f"{tw_url}/#/experiments/{ids['tw']['large']}", first_row, r
                )
                scrolled = scroll_dom(facts["page"])
                facts["context"].close()
                rows.append(
                    (f"{args.large_runs:,}-run table, first rows (s)", f"{large:.2f}", "-", "")
                )
                rows.append(
                    (
                        f"DOM elements, {args.large_runs:,}-run table: first / scrolled",
                        f"{facts['dom_elements']} / {scrolled}",
                        "-",
                        "",
                    )
                )
                selection = ",".join(long_runs)
                try:
                    long_chart, facts = timed_page(
                        browser,
                        f"{tw_url}/#/experiments/{ids['tw']['long']}?sel={selection}",
                        trackwire_chart,
                        r,
                    )
                    facts["context"].close()
                    long_text = f"{long_chart:.2f}"
                except Exception as error:  # noqa: BLE001 - a figure, not a test
                    long_text = f"failed ({type(error).__name__})"
                rows.append(
                    (
                        f"chart {args.chart_runs} runs x {args.chart_steps:,} steps (s)",
                        long_text,
                        "-",
                        "",
                    )
                )
                browser.close()
        finally:
            for server in servers:
                server.stop()

    assets = Path(__file__).resolve().parent.parent / "python/src/trackwire/server/ui_assets"
    bundle = sum(len(gzip.compress(p.read_bytes())) for p in assets.glob("assets/*.js"))
    rows.append(("trackwire's whole UI JS, gzipped (KB)", f"{bundle / 1024:.0f}", "", ""))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'web UI':<{width}}  {'trackwire':>12}  {'MLflow':>12}  {'MLflow/tw':>9}")
    for name, ours, theirs, ratio in rows:
        print(f"{name:<{width}}  {ours:>12}  {theirs:>12}  {ratio:>9}")


if __name__ == "__main__":
    main()
