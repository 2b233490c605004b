"""The dashboard example (examples/dashboard) end to end on generated runs: the script and the
notebook's code cells, against a real server, writing their charts."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the analytics suite runs in `make test-analytics`")
pytest.importorskip("matplotlib", reason="the analytics suite runs in `make test-analytics`")

from matplotlib import image  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dashboard"
CHARTS = ("metric_over_time", "runs_per_user", "total_runs")


def run_example(command: list[str], server, **env) -> str:
    done = subprocess.run(
        command,
        cwd=EXAMPLE,
        env={
            **os.environ,
            "PYSPARK_PYTHON": sys.executable,
            "TRACKWIRE_TRACKING_URI": server.tracking_uri,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


def assert_charts(out: Path) -> None:
    for source in ("search_runs", "spark"):
        for chart in CHARTS:
            png = out / f"{source}_{chart}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
            height, width, _ = image.imread(png).shape
            assert height >= 300 and width >= 500, png


def per_user(stdout: str, source: str) -> dict[str, int]:
    line = next(
        line for line in stdout.splitlines() if line.startswith(f"runs per user ({source})")
    )
    return ast.literal_eval(line.split(":", 1)[1].strip())


def test_the_script_draws_the_charts_from_both_sources(server, tmp_path):
    out = tmp_path / "charts"
    stdout = run_example(
        [
            sys.executable,
            "dashboard.py",
            "--experiment",
            f"dashboard-script-{os.getpid()}",
            "--generate",
            "60",
            "--out",
            str(out),
        ],
        server,
    )
    assert_charts(out)
    counts = per_user(stdout, "search_runs")
    assert counts == per_user(stdout, "Spark")
    assert sum(counts.values()) == 60 and set(counts) <= {"alice", "bob", "carol", "dan"}


def test_the_notebook_runs_end_to_end(server, tmp_path):
    notebook = json.loads((EXAMPLE / "dashboard.ipynb").read_text())
    cells = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    script = tmp_path / "notebook.py"
    script.write_text("\n\n".join(cells) + "\n")
    out = tmp_path / "charts"
    stdout = run_example(
        [sys.executable, str(script)],
        server,
        DASHBOARD_OUT=str(out),
        DASHBOARD_EXPERIMENT=f"dashboard-notebook-{os.getpid()}",
        PYTHONPATH=str(EXAMPLE),
    )
    assert_charts(out)
    assert "mean eval_accuracy" in stdout
