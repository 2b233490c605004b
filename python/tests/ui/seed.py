"""The data the UI tests look at, logged through the Python client into a live server."""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import trackwire
from trackwire.v1 import entities_pb2 as ent

SPIKE_STEP = 31_337
SPIKE_VALUE = 1000.0
SPIKY_STEPS = 100_000
MANY_RUNS = 1500


@dataclass
class Seeded:
    experiment_id: str
    many_runs_experiment_id: str
    runs: dict[str, str] = field(default_factory=dict)  # run name -> run id


def png(width: int = 48, height: int = 32) -> bytes:
    """A small RGB gradient as a PNG file (no imaging library needed)."""
    rows = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in (x * 5, y * 7, 160)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _metrics(key: str, values) -> list[ent.Metric]:
    return [
        ent.Metric(key=key, value=v, step=step, timestamp=1_700_000_000_000 + step * 1000)
        for step, v in enumerate(values)
    ]


def _artifacts(client: trackwire.TrackingClient, run_id: str, workdir: Path) -> None:
    files = {
        "notes.txt": "Trained on the full set.\nSecond line.\n",
        "config/params.json": json.dumps({"lr": 0.01, "layers": [64, 32]}),
        "config/model.yaml": "name: mlp\nlayers:\n  - 64\n  - 32\n",
        "predictions.csv": 'id,label,score\n1,cat,0.91\n2,dog,0.78\n3,"bird, small",0.55\n',
        "eval_table.json": json.dumps(
            {
                "columns": ["question", "answer", "score"],
                "data": [["2+2?", "4", 1.0], ["3*3?", "9", 0.9]],
            }
        ),
    }
    for name, text in files.items():
        local = workdir / run_id / name
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text)
        folder = str(Path(name).parent) if "/" in name else None
        client.log_artifact(run_id, local, folder)
    image = workdir / run_id / "plots" / "gradient.png"
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_bytes(png())
    client.log_artifact(run_id, image, "plots")


def seed(tracking_uri: str, workdir: Path) -> Seeded:
    client = trackwire.TrackingClient(tracking_uri)
    experiment_id = client.create_experiment("ui-demo")
    client.create_experiment("ui-other")
    client.delete_experiment(client.create_experiment("ui-removed"))
    seeded = Seeded(experiment_id, client.create_experiment("ui-many"))

    def run(name: str, params: dict, losses, status="FINISHED", tags=None) -> str:
        created = client.create_run(
            experiment_id, run_name=name, tags=tags or {}, start_time=1_700_000_000_000
        )
        run_id = created.info.run_id
        seeded.runs[name] = run_id
        client.log_batch(
            run_id,
            metrics=_metrics("loss", losses) + _metrics("accuracy", [1 - v / 2 for v in losses]),
            params=params,
        )
        if status != "RUNNING":
            client.update_run(run_id, status=status, end_time=1_700_000_090_000)
        return run_id

    for i, optimizer in enumerate(["adam", "sgd", "adam", "rmsprop", "sgd", "adam"]):
        lr = 0.001 * (i + 1)
        run(
            f"trial-{i}",
            {"lr": str(lr), "optimizer": optimizer, "batch_size": str(32 * (1 + i % 2))},
            [1 / (1 + step * lr * 10) for step in range(200)],
        )
    parent = run("sweep-parent", {"lr": "0.01", "optimizer": "adam"}, [0.5, 0.4, 0.3])
    for i in range(3):
        run(
            f"sweep-child-{i}",
            {"lr": str(0.01 * (i + 2)), "optimizer": "adam"},
            [0.6 - i / 10, 0.5 - i / 10],
            tags={"mlflow.parentRunId": parent},
        )
    run("live", {"lr": "0.1", "optimizer": "sgd"}, [0.9, 0.8], status="RUNNING")

    spiky = run("spiky", {"lr": "0.05", "optimizer": "sgd"}, [])
    values = [
        SPIKE_VALUE if step == SPIKE_STEP else 1.0 + (step % 7) / 100 for step in range(SPIKY_STEPS)
    ]
    client.log_batch(spiky, metrics=_metrics("loss", values))

    best = seeded.runs["trial-5"]
    client.set_tag(best, "team", "vision")
    client.set_tag(best, "mlflow.note.content", "The best trial so far.")
    client.set_tag(best, "mlflow.source.name", "train.py")
    client.set_tag(best, "mlflow.source.git.commit", "0123456789abcdef")
    dataset = ent.Dataset(name="mnist", digest="d1g3st", source_type="local", source="/data/mnist")
    client.log_inputs(
        best,
        [
            ent.DatasetInput(
                dataset=dataset, tags=[ent.InputTag(key="mlflow.data.context", value="train")]
            )
        ],
    )
    _artifacts(client, best, workdir)

    for i in range(MANY_RUNS):
        created = client.create_run(seeded.many_runs_experiment_id, run_name=f"many-{i:04d}")
        client.log_batch(
            created.info.run_id,
            metrics=[ent.Metric(key="score", value=i, step=0, timestamp=1)],
            params={"index": str(i)},
        )
    client.close()
    return seeded
