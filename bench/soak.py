"""trackwire's soak test (issue 15): many clients, two crashes of the server, exact counts.

    .venv/bin/python bench/soak.py [--duration 180] [--backend postgresql]

Sixteen client processes (half over grpc://, half over http://; one of each uses the fluent
API, the others the low-level TrackingClient) create runs, log metrics one by one and in
batches, params and tags, end their runs, and read in between (get_run, search_runs with a
filter across pages, metric history). Twice during the soak the whole server is killed with
SIGKILL and started again on the same ports and store after a short outage; the clients keep
going through it on their own retries (and the fluent API's journal).

Each client keeps a ledger of every write the server acknowledged. A write whose outcome is
unknown (a call the client may not send again, such as a single LogMetric or CreateRun,
that failed after the client's retries) is kept apart: it may be stored once or not at all.
Writes that are safe to repeat (LogBatch with the same idempotency keys, LogParam, SetTag,
UpdateRun) are sent again until acknowledged. At the end every ledger is compared with what
the server holds: every acknowledged point exactly once (per run, key and step, with its
value), params, tags and run statuses. The exit status is 1 if anything differs.

Also printed: errors the clients saw by kind, throughput per phase, the server's RSS
throughout and after each restart, and the recovery time after each restart (server healthy
again -> each client's first acknowledged call).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from postgres import Cluster
from servers import ROOT, TRACKWIRE_BIN, ServerProcess, start_trackwire

import trackwire as tw
from trackwire import errors
from trackwire.client import TrackingClient
from trackwire.client.tracking import run_status
from trackwire.v1 import entities_pb2 as ent

EXPERIMENT = "soak"
BATCH_STEPS = 50  # steps per LogBatch, each with a "loss" and an "acc" point
FLUENT_STEPS = 400  # steps per fluent run, "loss" and "acc" at each
WRITE_WEIGHTS = {  # one run's operations, drawn at random
    "log_metric": 4,
    "log_batch": 3,
    "log_param": 1,
    "set_tag": 1,
    "get_run": 1,
    "search_runs": 1,
    "get_metric_history": 1,
}
GIVE_UP_AFTER_S = 60  # past the soak's end, a write still unacknowledged is reported as such


# The client processes


class Ledger:
    """What one client logged: per run (by its soak_seq tag), what the server acknowledged,
    and apart from it what may or may not have been stored."""

    def __init__(self, client: int, wire: str, kind: str):
        self.client, self.wire, self.kind = client, wire, kind
        self.runs: dict[int, dict] = {}
        # (time acknowledged, operation, points, seconds since the operation began)
        self.ops: list[tuple[float, str, int, float]] = []
        self.errors: Counter[str] = Counter()
        self._began = 0.0

    def new_run(self, seq: int) -> dict:
        run = {
            "metrics": defaultdict(dict),  # key -> {step: value}, acknowledged
            "maybe_metrics": defaultdict(dict),  # outcome unknown: stored once or not at all
            "params": {},
            "tags": {},
            "status": None,
            "creation_unknown": False,  # CreateRun failed: the run may exist or not
        }
        self.runs[seq] = run
        return run

    def begin(self) -> None:
        self._began = time.time()

    def done(self, op: str, points: int = 0) -> None:
        now = time.time()
        self.ops.append((now, op, points, now - self._began))

    def failed(self, op: str, error: Exception) -> None:
        self.errors[f"{op}: {type(error).__name__}"] += 1

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "client": self.client,
                    "wire": self.wire,
                    "kind": self.kind,
                    "runs": self.runs,
                    "ops": self.ops,
                    "errors": self.errors,
                }
            )
        )


def run_client(index: int, wire: str, kind: str, uri: str, out: Path, ready, go, soak_s: float):
    """One client process: works until `soak_s` after `go`, then writes its ledger to `out`."""
    ledger = Ledger(index, wire, kind)
    rng = random.Random(index)
    if kind == "fluent":
        tw.set_tracking_uri(uri)
        tw.set_experiment(EXPERIMENT)
        work = FluentWork(ledger, rng, index)
    else:
        client = TrackingClient(uri)
        experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
        work = ClientWork(client, ledger, rng, index, experiment_id)
    ready.put(index)
    go.wait()
    end = time.time() + soak_s
    seq = 0
    while time.time() < end:
        seq += 1
        work.one_run(seq, end)
    ledger.save(out)


class ClientWork:
    """Runs written through the low-level TrackingClient."""

    def __init__(self, client, ledger: Ledger, rng: random.Random, index, experiment_id):
        self.client, self.ledger, self.rng = client, ledger, rng
        self.index, self.experiment_id = index, experiment_id

    def until_acknowledged(self, op: str, give_up_at: float, call, *args, **kwargs) -> bool:
        """Sends a write that is safe to repeat until the server acknowledges it."""
        self.ledger.begin()
        while True:
            try:
                call(*args, **kwargs)
                return True
            except Exception as e:  # every kind is counted; non-trackwire ones are findings
                self.ledger.failed(op, e)
                if not isinstance(e, errors.Unavailable) or time.time() > give_up_at:
                    return False
                time.sleep(0.1)

    def read(self, op: str, call) -> None:
        self.ledger.begin()
        try:
            call()
            self.ledger.done(op)
        except Exception as e:
            self.ledger.failed(op, e)

    def search_pages(self) -> None:
        """Up to three pages of this client's runs, filtered on a tag and a metric."""
        token = None
        for _ in range(3):
            page = self.client.search_runs(
                [self.experiment_id],
                filter_string=f"tags.soak_client = '{self.index}' and metrics.loss < 0.9",
                max_results=5,
                order_by=["attributes.start_time DESC"],
                page_token=token,
            )
            token = page.token
            if not token:
                return

    def one_run(self, seq: int, end: float) -> None:
        give_up_at = end + GIVE_UP_AFTER_S
        tags = {"soak_client": str(self.index), "soak_seq": str(seq)}
        run = self.ledger.new_run(seq)
        self.ledger.begin()
        try:
            run_id = self.client.create_run(self.experiment_id, tags=tags).info.run_id
            self.ledger.done("create_run")
        except Exception as e:  # CreateRun is never sent again: the run may exist or not
            self.ledger.failed("create_run", e)
            run["creation_unknown"] = True
            time.sleep(0.2)  # as a script would before trying again, instead of spinning
            return
        run["tags"].update(tags)
        single_step = batch_step = param_no = tag_no = 0
        ops, weights = zip(*WRITE_WEIGHTS.items(), strict=True)
        for op in self.rng.choices(ops, weights, k=self.rng.randint(20, 40)):
            if op == "log_metric":
                value = self.rng.random()
                self.ledger.begin()
                try:
                    self.client.log_metric(run_id, "single", value, step=single_step)
                    run["metrics"]["single"][single_step] = value
                    self.ledger.done(op, 1)
                except Exception as e:
                    self.ledger.failed(op, e)
                    run["maybe_metrics"]["single"][single_step] = value
                single_step += 1
            elif op == "log_batch":
                self.log_batch(run, run_id, seq, batch_step, give_up_at)
                batch_step += BATCH_STEPS
            elif op == "log_param":
                key, value = f"p{param_no}", f"{self.rng.random():.6f}"
                param_no += 1
                if self.until_acknowledged(
                    op, give_up_at, self.client.log_param, run_id, key, value
                ):
                    run["params"][key] = value
                    self.ledger.done(op)
            elif op == "set_tag":
                key, value = f"t{tag_no}", f"v{self.rng.random():.6f}"
                tag_no += 1
                if self.until_acknowledged(op, give_up_at, self.client.set_tag, run_id, key, value):
                    run["tags"][key] = value
                    self.ledger.done(op)
            elif op == "get_run":
                self.read(op, lambda: self.client.get_run(run_id))
            elif op == "search_runs":
                self.read(op, self.search_pages)
            else:
                self.read(op, lambda: self.client.get_metric_history(run_id, "loss"))
        status = self.rng.choice(("FINISHED", "FINISHED", "FAILED", "KILLED"))
        if self.until_acknowledged(
            "set_terminated", give_up_at, self.client.set_terminated, run_id, status
        ):
            run["status"] = status
            self.ledger.done("set_terminated")

    def log_batch(self, run: dict, run_id: str, seq: int, first: int, give_up_at: float) -> None:
        """One LogBatch of loss and acc points; sent again with the same idempotency keys."""
        timestamp = int(time.time() * 1000)
        points = {
            key: {step: self.rng.random() for step in range(first, first + BATCH_STEPS)}
            for key in ("loss", "acc")
        }
        metrics = [
            ent.Metric(key=key, value=value, timestamp=timestamp, step=step)
            for key, steps in points.items()
            for step, value in steps.items()
        ]
        prefix = f"soak-{self.index}-{seq}-{first}"
        if self.until_acknowledged(
            "log_batch",
            give_up_at,
            self.client.log_batch,
            run_id,
            metrics,
            request_id_prefix=prefix,
        ):
            target = run["metrics"]
            self.ledger.done("log_batch", len(metrics))
        else:
            target = run["maybe_metrics"]
        for key, steps in points.items():
            target[key].update(steps)


class FluentWork:
    """Runs written through the fluent API: it buffers points, sends them in the background,
    and keeps what outlasts its retries in its journal until the server is back."""

    def __init__(self, ledger: Ledger, rng: random.Random, index: int):
        self.ledger, self.rng, self.index = ledger, rng, index

    def one_run(self, seq: int, end: float) -> None:
        run = self.ledger.new_run(seq)
        tags = {"soak_client": str(self.index), "soak_seq": str(seq)}
        self.ledger.begin()
        try:
            tw.start_run(tags=tags)
            self.ledger.done("start_run")
        except Exception as e:
            self.ledger.failed("start_run", e)
            run["creation_unknown"] = True
            return
        run["tags"].update(tags)
        params = {"lr": f"{self.rng.random():.6f}", "layers": str(self.rng.randint(1, 9))}
        self.accepted("log_params", run["params"], params, tw.log_params)
        for step in range(FLUENT_STEPS):
            values = {"loss": self.rng.random(), "acc": self.rng.random()}
            self.ledger.begin()
            try:
                tw.log_metrics(values, step=step)
                for key, value in values.items():
                    run["metrics"][key][step] = value
                self.ledger.done("log_metrics (queued)", 2)
            except Exception as e:
                self.ledger.failed("log_metrics", e)
            if step % 100 == 99:
                tag = {f"t{step}": f"v{self.rng.random():.6f}"}
                self.accepted("set_tags", run["tags"], tag, tw.set_tags)
                self.ledger.begin()
                try:
                    tw.search_runs(filter_string=f"tags.soak_client = '{self.index}'")
                    self.ledger.done("search_runs")
                except Exception as e:
                    self.ledger.failed("search_runs", e)
        status = self.rng.choice(("FINISHED", "FAILED"))
        self.ledger.begin()
        try:
            tw.end_run(status)
            run["status"] = status
            self.ledger.done("end_run")
        except Exception as e:
            self.ledger.failed("end_run", e)

    def accepted(self, op: str, into: dict, values: dict, call) -> None:
        """`call(values)`; what it accepted goes into the ledger's `into`."""
        self.ledger.begin()
        try:
            call(values)
            into.update(values)
            self.ledger.done(op)
        except Exception as e:
            self.ledger.failed(op, e)


# The conductor


def kill_and_restart(server: ServerProcess, number: int, outage_s: float, events: dict):
    events[f"kill{number}"] = time.time()
    server.kill()
    time.sleep(outage_s)
    restarted = server.relaunch(f"trackwire-restart{number}")
    restarted.wait_ready()
    events[f"healthy{number}"] = time.time()
    restarted.start_window()
    return restarted


def upload_journals(spools: list[Path]) -> list[str]:
    """`trackwire sync` for each fluent client's spool that still holds anything."""
    outputs = []
    for spool in spools:
        if spool.exists() and any(p.is_file() for p in spool.rglob("*")):
            done = subprocess.run(
                [str(TRACKWIRE_BIN), "sync"],
                env={**os.environ, "TRACKWIRE_SPOOL_DIR": str(spool)},
                capture_output=True,
                text=True,
            )
            outputs.append(f"{spool.name}: exit {done.returncode} {done.stdout.strip()[:200]}")
    return outputs


def stored_runs(client, experiment_id: str) -> dict[tuple[int, int], list]:
    """Every run of the soak, by (client, seq) from its tags."""
    found: dict[tuple[int, int], list] = defaultdict(list)
    token = None
    while True:
        page = client.search_runs(
            [experiment_id], run_view_type="ALL", max_results=1000, page_token=token
        )
        for run in page:
            tags = {t.key: t.value for t in run.data.tags}
            found[(int(tags["soak_client"]), int(tags["soak_seq"]))].append(run)
        token = page.token
        if not token:
            return found


def compare(client, ledgers: list[dict], experiment_id: str) -> tuple[list[str], Counter]:
    """Differences between the ledgers and the store, and what was compared."""
    found = stored_runs(client, experiment_id)
    differences: list[str] = []
    counted: Counter[str] = Counter()
    for ledger in ledgers:
        for seq_text, expected in ledger["runs"].items():
            where = f"client {ledger['client']} ({ledger['kind']}, {ledger['wire']}) run {seq_text}"
            runs = found.pop((ledger["client"], int(seq_text)), [])
            if expected["creation_unknown"]:  # at most once, and nothing logged to it
                counted["runs of unknown outcome"] += 1
                counted["runs of unknown outcome, stored"] += len(runs)
                if len(runs) > 1:
                    differences.append(f"{where}: stored {len(runs)} times")
                continue
            counted["runs"] += 1
            if len(runs) != 1:
                differences.append(f"{where}: stored {len(runs)} times, expected once")
                continue
            run = client.get_run(runs[0].info.run_id)
            differences += compare_run(client, run, expected, where, counted)
    for (index, seq), runs in found.items():
        differences.append(f"client {index} run {seq}: {len(runs)} stored, in no ledger")
    return differences, counted


def compare_run(client, run, expected: dict, where: str, counted: Counter) -> list[str]:
    differences = []
    params = {p.key: p.value for p in run.data.params}
    if params != expected["params"]:
        differences.append(f"{where}: params {params} != {expected['params']}")
    counted["params"] += len(expected["params"])
    tags = {t.key: t.value for t in run.data.tags if not t.key.startswith("mlflow.")}
    if tags != expected["tags"]:
        differences.append(f"{where}: tags {tags} != {expected['tags']}")
    counted["tags"] += len(expected["tags"])
    if expected["status"] is not None:
        counted["statuses"] += 1
        if run.info.status != run_status(expected["status"]):
            stored = ent.RunStatus.Name(run.info.status)
            differences.append(f"{where}: status {stored} != {expected['status']}")
    keys = (
        {m.key for m in run.data.metrics}
        | set(expected["metrics"])
        | set(expected["maybe_metrics"])
    )
    for key in sorted(keys):
        history = client.get_metric_history_columns(run.info.run_id, key)
        stored: dict[int, list[float]] = defaultdict(list)
        for step, value in zip(history.steps, history.values, strict=True):
            stored[step].append(value)
        acked = {int(s): v for s, v in expected["metrics"].get(key, {}).items()}
        maybe = {int(s): v for s, v in expected["maybe_metrics"].get(key, {}).items()}
        counted["points acknowledged"] += len(acked)
        counted["points of unknown outcome"] += len(maybe)
        for step, values in stored.items():
            if step in acked:
                if values != [acked[step]]:
                    differences.append(
                        f"{where}: {key} step {step} holds {values}, sent {acked[step]}"
                    )
            elif step in maybe:
                counted["points of unknown outcome, stored"] += 1
                if values != [maybe[step]]:
                    differences.append(
                        f"{where}: {key} step {step} holds {values}, sent {maybe[step]}"
                    )
            else:
                differences.append(f"{where}: {key} step {step} holds {values}, never sent")
        lost = sorted(set(acked) - set(stored))
        if lost:
            differences.append(f"{where}: {key} lost {len(lost)} acknowledged points {lost[:5]}")
    return differences


def phases(events: dict, end: float) -> list[tuple[str, float, float]]:
    return [
        ("before kill 1", events["go"], events["kill1"]),
        ("outage 1 (kill to healthy)", events["kill1"], events["healthy1"]),
        ("between restarts", events["healthy1"], events["kill2"]),
        ("outage 2 (kill to healthy)", events["kill2"], events["healthy2"]),
        ("after restart 2", events["healthy2"], end),
    ]


def render(header: list[str], rows: list[list]) -> str:
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def throughput_table(ops: list, spans: list) -> str:
    rows = []
    for name, start, stop in spans:
        inside = [op for op in ops if start <= op[0] < stop]
        span = max(stop - start, 1e-9)
        points = sum(op[2] for op in inside)
        rows.append(
            [name, f"{span:.1f}", len(inside), f"{len(inside) / span:.0f}", f"{points / span:,.0f}"]
        )
    return render(["phase", "seconds", "calls done", "calls/s", "points/s"], rows) + (
        "\n(calls acknowledged by the server, and the fluent API's log_metrics calls, which "
        "it queues)"
    )


def latency_table(ops: list, spans: list) -> str:
    """Median seconds from an operation's start to its acknowledgement (retries included)."""
    rows = []
    for name in sorted({op[1] for op in ops}):
        row = [name]
        for _, start, stop in spans:
            took = [op[3] for op in ops if op[1] == name and start <= op[0] < stop]
            row.append(f"{statistics.median(took) * 1000:.1f} ({len(took)})" if took else "-")
        rows.append(row)
    header = ["median ms (calls)", *[name.split(" (")[0] for name, _, _ in spans]]
    return render(header, rows)


def recovery_table(ledgers: list[dict], events: dict) -> str:
    """From the restarted server's first healthy answer to each low-level client's first
    acknowledged call (the fluent API's queued calls are not answers of the server)."""
    rows = []
    for number in (1, 2):
        healthy = events[f"healthy{number}"]
        for wire in ("grpc", "http"):
            delays = []
            for ledger in ledgers:
                if ledger["wire"] == wire and ledger["kind"] == "client":
                    after = [op[0] for op in ledger["ops"] if op[0] >= healthy]
                    if after:
                        delays.append(min(after) - healthy)
            if delays:
                rows.append(
                    [
                        f"restart {number}",
                        wire,
                        len(delays),
                        f"{min(delays):.2f}",
                        f"{statistics.median(delays):.2f}",
                        f"{max(delays):.2f}",
                    ]
                )
    header = ["after", "wire", "clients", "first ack: min s", "median s", "max s"]
    return render(header, rows) + (
        "\n(seconds from the restarted server's first healthy /health to each client's "
        "first acknowledged call)"
    )


def memory_table(servers: list[ServerProcess]) -> str:
    rows = []
    for server in servers:
        rss = [r for _, r in server.samples]
        if rss:
            rows.append(
                [
                    server.name,
                    len(rss),
                    mb(rss[0]),
                    mb(min(rss)),
                    mb(statistics.median(rss)),
                    mb(max(rss)),
                    mb(rss[-1]),
                ]
            )
    every = [rss for s in servers for _, rss in s.samples]
    header = ["server RSS", "samples", "first MB", "min MB", "median MB", "max MB", "last MB"]
    return render(header, rows) + (
        f"\nwhole soak: min {mb(min(every))} MB, median {mb(statistics.median(every))} MB, "
        f"max {mb(max(every))} MB (sampled every 50 ms)"
    )


def errors_table(ledgers: list[dict]) -> str:
    seen: Counter[str] = Counter()
    for ledger in ledgers:
        for kind, count in ledger["errors"].items():
            seen[f"{ledger['wire']} {ledger['kind']} {kind}"] += count
    rows = sorted(seen.items()) or [["none", 0]]
    return render(["errors seen by clients (each failed attempt)", "count"], rows)


def report(ledgers, servers, events, end, differences, counted, synced) -> str:
    ops = sorted(op for ledger in ledgers for op in ledger["ops"])
    spans = phases(events, end)
    parts = [
        throughput_table(ops, spans),
        latency_table(ops, spans),
        recovery_table(ledgers, events),
        memory_table(servers),
        errors_table(ledgers),
        render(["compared with the ledgers", "count"], sorted(counted.items())),
    ]
    if synced:
        parts.append("trackwire sync at the end: " + "; ".join(synced))
    if differences:
        parts.append(f"DIFFERENCES ({len(differences)}):\n" + "\n".join(differences[:30]))
    else:
        parts.append("No differences: every acknowledged write is stored exactly once.")
    return "\n\n".join(parts)


def mb(n: float) -> str:
    return f"{n / 2**20:.0f}"


def start_clients(args, server: ServerProcess, tmp: Path):
    """The client processes, each waiting for `go`; half on each wire, one of each half
    through the fluent API, each with a spool directory of its own."""
    spawn = multiprocessing.get_context("spawn")  # no fork of a process holding gRPC
    ready, go = spawn.Queue(), spawn.Event()
    workers, spools = [], []
    half = args.clients // 2
    for index in range(args.clients):
        wire = "grpc" if index < half else "http"
        kind = "fluent" if index in (0, half) else "client"
        uri = f"grpc://127.0.0.1:{server.grpc_port}" if wire == "grpc" else server.base_url
        spools.append(tmp / f"spool-{index}")
        os.environ["TRACKWIRE_SPOOL_DIR"] = str(spools[-1])  # inherited by this child
        ledger = tmp / f"ledger-{index}.json"
        worker = spawn.Process(
            target=run_client, args=(index, wire, kind, uri, ledger, ready, go, args.duration)
        )
        worker.start()
        workers.append(worker)
    return workers, spools, ready, go


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=180, help="seconds of load (≤ 240)")
    parser.add_argument("--clients", type=int, default=16, help="client processes (even, ≥ 4)")
    parser.add_argument("--outage", type=float, default=3, help="seconds each kill lasts")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (store, logs)")
    args = parser.parse_args()
    if not 0 < args.duration <= 240 or args.clients < 4 or args.clients % 2:
        parser.error("--duration must be in (0, 240] and --clients even and at least 4")

    tmp = Path(tempfile.mkdtemp(prefix="trackwire-soak-"))
    cluster = Cluster(tmp / "postgres") if args.backend == "postgresql" else None
    store = cluster.database("soak") if cluster else None
    server = start_trackwire(tmp, "trackwire", store_uri=store)
    servers = [server]
    workers: list = []
    try:
        server.wait_ready()
        server.start_window()  # RSS every 50 ms from here on
        checker = TrackingClient(f"grpc://127.0.0.1:{server.grpc_port}")
        experiment_id = checker.create_experiment(EXPERIMENT)
        checker.close()

        workers, spools, ready, go = start_clients(args, server, tmp)
        for _ in workers:
            ready.get(timeout=120)
        events = {"go": time.time()}
        go.set()
        print(
            f"{args.clients} clients started on {args.backend}; {args.duration:.0f} s of load, "
            f"SIGKILL at {args.duration / 3:.0f} s and {2 * args.duration / 3:.0f} s "
            f"for {args.outage:.0f} s each",
            flush=True,
        )
        for number in (1, 2):
            time.sleep(max(0.0, events["go"] + number * args.duration / 3 - time.time()))
            server = kill_and_restart(server, number, args.outage, events)
            servers.append(server)
            print(
                f"restart {number}: healthy "
                f"{events[f'healthy{number}'] - events[f'kill{number}']:.1f} s after the kill",
                flush=True,
            )
        deadline = events["go"] + args.duration + GIVE_UP_AFTER_S + 30
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.time()))
        end = time.time()
        stuck = [w for w in workers if w.exitcode is None]
        for worker in stuck:
            worker.kill()
        ledgers = [json.loads(p.read_text()) for p in sorted(tmp.glob("ledger-*.json"))]
        synced = upload_journals(spools)
        checker = TrackingClient(f"grpc://127.0.0.1:{server.grpc_port}")
        t0 = time.time()
        differences, counted = compare(checker, ledgers, experiment_id)
        checker.close()
        if len(ledgers) != args.clients:
            differences.append(
                f"{args.clients - len(ledgers)} clients wrote no ledger "
                f"(exit codes {[w.exitcode for w in workers]})"
            )
        text = report(ledgers, servers, events, end, differences, counted, synced)
        text += (
            f"\n\nBackend {args.backend}; {args.clients} clients for {args.duration:.0f} s; "
            f"compared in {time.time() - t0:.1f} s; wall time "
            f"{time.time() - events['go']:.0f} s from the start of the load; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        print("\n" + text)
        args.out.mkdir(parents=True, exist_ok=True)
        out = args.out / f"soak-{args.backend}.json"
        out.write_text(
            json.dumps(
                {"events": events, "report": text, "differences": differences, "counted": counted},
                indent=1,
            )
        )
        print(f"\nwrote {out}")
        return 1 if differences else 0
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
        server.stop()
        if cluster:
            cluster.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
