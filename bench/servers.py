"""Server processes for the benchmark: start on free loopback ports, wait for /health, meter.

Each server runs in its own temp directory (fresh SQLite file, fresh artifact dir). A meter
samples the whole process tree (MLflow forks uvicorn workers and a job runner) so CPU seconds
and peak RSS are the server's, not the client's. It samples every 50 ms while the server's own
workload runs, and once a second otherwise: finding a tree's processes reads all of /proc,
and four servers' meters doing that 20 times a second took an eighth of a core from
whatever was being measured. Every sample is kept (`samples`), for figures over time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python" / "tests"))
from ports import free_port  # noqa: E402 - the test harnesses' free-port helper

TRACKWIRE_BIN = ROOT / ".venv" / "bin" / "trackwire"
MLFLOW_BIN = ROOT / ".venv-mlflow" / "bin" / "mlflow"


class ServerProcess:
    """A server process tree with a background RSS sampler."""

    name: str
    http_port: int
    grpc_port: int | None = None
    store_uri: str | None = None

    def __init__(self, name: str, argv: list[str], workdir: Path, http_port: int):
        self.name = name
        self.argv = argv
        self.workdir = workdir
        self.http_port = http_port
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        # Own session: stop() signals the whole tree, including MLflow's workers.
        self.launched = time.perf_counter()
        self.startup_s: float | None = None  # launch to first healthy /health
        self.proc = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True, cwd=workdir
        )
        self.ps = psutil.Process(self.proc.pid)
        self._peak_window = 0
        self.peak_overall = 0
        self.max_processes = 0
        self.samples: list[tuple[float, int]] = []  # (time.time(), RSS bytes of the tree)
        self._stop = threading.Event()
        self._measuring = threading.Event()  # this server's workload is running
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def wait_ready(self, timeout: float = 180) -> None:
        if self.startup_s is not None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}; see {self.log_path}"
                )
            try:
                if httpx.get(self.base_url + "/health", timeout=2).status_code == 200:
                    self.startup_s = time.perf_counter() - self.launched
                    self._sampler.start()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f} s; see {self.log_path}")

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.ps, *self.ps.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _sample(self) -> None:
        tree, found_at = self._tree(), time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - found_at >= 1:  # processes come and go (MLflow's workers)
                tree, found_at = self._tree(), time.monotonic()
            rss = 0
            for p in tree:
                try:
                    rss += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            if tree:
                self.samples.append((time.time(), rss))
            self._peak_window = max(self._peak_window, rss)
            self.peak_overall = max(self.peak_overall, rss)
            self.max_processes = max(self.max_processes, len(tree))
            if not self._measuring.is_set():
                self._measuring.wait(1)
            else:
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self._tree():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def start_window(self) -> float:
        self._peak_window = 0
        self._measuring.set()
        return self.cpu_seconds()

    def end_window(self, cpu_start: float) -> dict:
        self._measuring.clear()
        return {
            "server_cpu_s": round(self.cpu_seconds() - cpu_start, 2),
            "server_peak_rss_mb": round(self._peak_window / 2**20, 1),
        }

    def kill(self) -> None:
        """SIGKILL to the whole tree, as a crash or the OOM killer would end it."""
        self._stop.set()
        os.killpg(self.proc.pid, 9)
        self.proc.wait()
        self._log.close()

    def relaunch(self, name: str) -> ServerProcess:
        """The same command (same ports, same store) started again, logging to `name`.log."""
        server = ServerProcess(name, self.argv, self.workdir, self.http_port)
        server.grpc_port, server.store_uri = self.grpc_port, self.store_uri
        return server

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self._log.close()


def sqlite_uri(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'store.db'}"


def start_trackwire(
    tmp: Path, name: str = "trackwire", *flags: str, store_uri: str | None = None
) -> ServerProcess:
    """A trackwire server on `store_uri` (default: a fresh SQLite file in its own dir)."""
    workdir = tmp / name
    workdir.mkdir(exist_ok=True)
    http_port, grpc_port = free_port(), free_port()
    server = ServerProcess(
        name,
        [
            str(TRACKWIRE_BIN),
            "server",
            "--backend-store-uri",
            store_uri or sqlite_uri(workdir),
            "--artifacts-destination",
            str(workdir / "artifacts"),
            "--host",
            "127.0.0.1",
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
            *flags,
        ],
        workdir,
        http_port,
    )
    server.grpc_port = grpc_port
    server.store_uri = store_uri or sqlite_uri(workdir)
    return server


def start_mlflow(
    tmp: Path, name: str, workers: int | None, store_uri: str | None = None
) -> ServerProcess:
    workdir = tmp / name
    workdir.mkdir()
    port = free_port()
    argv = [
        str(MLFLOW_BIN),
        "server",
        "--backend-store-uri",
        store_uri or sqlite_uri(workdir),
        "--artifacts-destination",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return ServerProcess(name, argv, workdir, port)
