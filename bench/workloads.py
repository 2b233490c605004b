"""The workloads of issue 6. Each takes a client (bench.clients) and returns its figures."""

from __future__ import annotations

import multiprocessing
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from clients import connect, now_ms

SEARCH_FILTER = "metrics.m0 > 0.5 and params.p1 = 'a'"
SEARCH_ORDER = ("metrics.m0 DESC",)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def create_run(client, experiment_id: str, n: int) -> dict:
    latencies = [_timed(client.create_run, experiment_id) for _ in range(n)]
    return {
        "create_run_median_ms": statistics.median(latencies) * 1000,
        "create_run_p99_ms": p99(latencies) * 1000,
    }


def log_metric(client, experiment_id: str, n: int) -> dict:
    run_id = client.create_run(experiment_id)
    t0 = time.perf_counter()
    for step in range(n):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step)
    return {"log_metric_calls_per_s": n / (time.perf_counter() - t0)}


def _points(key: str, start: int, count: int) -> list[tuple]:
    ts = now_ms()
    return [(key, (start + i) * 1e-3, ts, start + i) for i in range(count)]


def log_batch(client, experiment_id: str, batches: int, size: int = 1000) -> dict:
    run_id = client.create_run(experiment_id)
    # Requests are built outside the clock (for both wires); encoding them is timed.
    payloads = [client.batch_payload(run_id, _points("m", b * size, size)) for b in range(batches)]
    t0 = time.perf_counter()
    for payload in payloads:
        client.send_batch(payload)
    return {"log_batch_points_per_s": batches * size / (time.perf_counter() - t0)}


def seed_history(client, experiment_id: str, points: int) -> str:
    run_id = client.create_run(experiment_id)
    for start in range(0, points, 1000):
        client.log_batch(run_id, _points("long", start, min(1000, points - start)))
    return run_id


def metric_history(client, run_id: str, points: int) -> dict:
    t0 = time.perf_counter()
    got = client.read_history(run_id, "long")
    elapsed = time.perf_counter() - t0
    if got != points:
        raise RuntimeError(f"history read returned {got} points, expected {points}")
    return {"history_read_s": elapsed}


def _run_data(i: int) -> tuple[dict, dict, list[tuple]]:
    rng = random.Random(i)
    params = {f"p{j}": f"v{rng.randrange(100)}" for j in range(5)}
    params["p1"] = "a" if rng.random() < 0.5 else "b"
    tags = {"t0": f"team{rng.randrange(5)}", "t1": f"tag{i}"}
    ts = now_ms()
    metrics = [(f"m{j}", rng.random(), ts, 0) for j in range(5)]
    return params, tags, metrics


def seed_runs(kind: str, address, experiment_id: str, n: int, threads: int = 8) -> float:
    """n runs with 5 params, 5 metrics and 2 tags each; returns the seconds it took."""
    local = threading.local()

    def one(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = connect(kind, address)
        params, tags, metrics = _run_data(i)
        run_id = local.client.create_run(experiment_id)
        local.client.log_batch(run_id, metrics, params, tags)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(one, range(n), chunksize=64):
            pass
    return time.perf_counter() - t0


def search(client, experiment_id: str, runs: int, repeats: int = 5) -> dict:
    times, matches = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        matches, _token = client.search(experiment_id, SEARCH_FILTER, SEARCH_ORDER, 1000)
        times.append(time.perf_counter() - t0)
    if matches == 0:
        raise RuntimeError("filtered search matched no runs")
    t0 = time.perf_counter()
    seen, token = 0, None
    while True:
        count, token = client.search(experiment_id, max_results=1000, page_token=token)
        seen += count
        if not token:
            break
    paging = time.perf_counter() - t0
    if seen != runs:
        raise RuntimeError(f"paging saw {seen} runs, expected {runs}")
    return {
        "search_filtered_median_s": statistics.median(times),
        "search_page_all_s": paging,
        "search_matches_returned": matches,
    }


def _writer(kind, address, run_id, batches, size, ready, start, results) -> None:
    client = connect(kind, address)
    payloads = [client.batch_payload(run_id, _points("w", b * size, size)) for b in range(batches)]
    ready.put(True)
    start.wait()
    latencies = [_timed(client.send_batch, payload) for payload in payloads]
    results.put(latencies)


def concurrent_writers(
    kind: str,
    address,
    client,
    experiment_id: str,
    writers: int,
    batches: int,
    size: int = 100,
    rounds: int = 3,
) -> dict:
    """Writer processes (not threads: the client's GIL must not be the bottleneck), in
    `rounds` rounds of fresh runs: the median round's points/s (one round of trackwire's lasts
    about a second and a half, and varies by a sixth from one to the next), with the
    slowest and fastest rounds beside it; p99 over every batch of every round."""
    rates, latencies = [], []
    for _ in range(rounds):
        rate, round_latencies = _writers_round(
            kind, address, client, experiment_id, writers, batches, size
        )
        rates.append(rate)
        latencies += round_latencies
    return {
        "writers_points_per_s": statistics.median(rates),
        "writers_points_per_s_slowest_round": min(rates),
        "writers_points_per_s_fastest_round": max(rates),
        "writers_p99_s": p99(latencies),
        "writers_points": rounds * writers * batches * size,
    }


def _writers_round(kind, address, client, experiment_id, writers, batches, size):
    ctx = multiprocessing.get_context("spawn")
    ready, start, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    run_ids = [client.create_run(experiment_id) for _ in range(writers)]
    # A list of addresses (replicas of one store): the writers take them in turn.
    addresses = address if isinstance(address, list) else [address]
    procs = [
        ctx.Process(
            target=_writer,
            args=(kind, addresses[i % len(addresses)], r, batches, size, ready, start, results),
        )
        for i, r in enumerate(run_ids)
    ]
    for p in procs:
        p.start()
    for _ in procs:  # the clock starts once every interpreter has imported and built its data
        ready.get(timeout=120)
    t0 = time.perf_counter()
    start.set()
    latencies = [lat for _ in procs for lat in results.get(timeout=1800)]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return writers * batches * size / elapsed, latencies
