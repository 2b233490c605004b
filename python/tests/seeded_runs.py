"""Runs with known contents on a live server, for the analytics tests (Spark, Delta)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from trackwire import TrackingClient
from trackwire.v1 import entities_pb2 as ent

BASE_MILLIS = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
USERS = ("alice", "bob")


@dataclass
class SeededRun:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    start_time: int
    end_time: int | None
    status: str
    lifecycle_stage: str
    params: dict[str, str]
    tags: dict[str, str]
    # key -> [(step, timestamp, value)] in step order
    history: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)

    def latest(self) -> dict[str, float]:
        return {key: points[-1][2] for key, points in self.history.items()}


def seed_experiment(
    client: TrackingClient, name: str, runs: int, *, deleted: int = 0
) -> tuple[str, list[SeededRun]]:
    """An experiment of `runs` runs, started a second apart, the last `deleted` of them
    deleted; run i has a loss history of i % 4 + 2 points (one NaN when i % 5 == 3), an
    accuracy of two points, a param, a tag and a name with an underscore (one has none)."""
    experiment_id = client.create_experiment(name)
    seeded = []
    for i in range(runs):
        start = BASE_MILLIS + i * 1000
        user = USERS[i % len(USERS)]
        run_name = f"run_{i}" if i != 1 else "runx1"  # `_` must match only itself
        run = client.create_run(experiment_id, start_time=start, run_name=run_name, user_id=user)
        run_id = run.info.run_id
        loss = [(s, start + s, 1.0 / (s + 1 + i)) for s in range(i % 4 + 2)]
        if i % 5 == 3:
            loss[1] = (loss[1][0], loss[1][1], math.nan)
        accuracy = [(0, start, 0.5 + i / 100), (1, start + 1, 0.6 + i / 100)]
        history = {"loss": loss, "accuracy": accuracy}
        client.log_batch(
            run_id,
            metrics=[
                ent.Metric(key=key, step=s, timestamp=t, value=v)
                for key, points in history.items()
                for s, t, v in points
            ],
            params={"lr": str(0.1 * (i + 1))},
            tags={"team": "vision" if i % 2 else "nlp"},
        )
        status, end = "RUNNING", None
        if i % 3 == 1:
            status, end = "FINISHED", start + 500
        elif i % 3 == 2:
            status, end = "FAILED", start + 700
        if end is not None:
            client.set_terminated(run_id, status=status, end_time=end)
        seeded.append(
            SeededRun(
                run_id=run_id,
                experiment_id=experiment_id,
                run_name=run_name,
                user_id=user,
                start_time=start,
                end_time=end,
                status=status,
                lifecycle_stage="active",
                params={"lr": str(0.1 * (i + 1))},
                tags={"team": "vision" if i % 2 else "nlp"},
                history=history,
            )
        )
    for run in seeded[runs - deleted :]:
        client.delete_run(run.run_id)
        run.lifecycle_stage = "deleted"
    return experiment_id, seeded


def server_order(runs: list[SeededRun]) -> list[SeededRun]:
    """The order a search returns: newest start first, then run id."""
    return sorted(runs, key=lambda r: (-r.start_time, r.run_id))
