"""Dataset inputs of runs: LogInputs, and the inputs of a page of runs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, select

from trackwire.server.store import schema as t
from trackwire.server.store.database import Database
from trackwire.server.store.lookups import active_run
from trackwire.server.store.rows import Fields, entry_fields
from trackwire.v1 import entities_pb2 as pb

_RUN_INPUTS = (
    select(t.run_inputs.c.input_id, t.run_inputs.c.run_id, t.datasets)
    .join(t.datasets, t.datasets.c.dataset_id == t.run_inputs.c.dataset_id)
    .where(t.run_inputs.c.run_id.in_(bindparam("run_ids", expanding=True)))
    .order_by(t.run_inputs.c.input_id)
)
_DATASET_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")


class Inputs:
    def __init__(self, db: Database):
        self.db = db

    def log(self, run_id: str, dataset_inputs: Sequence[pb.DatasetInput]) -> None:
        with self.db.write() as conn:
            row = active_run(conn, run_id)
            for dataset_input in dataset_inputs:
                ds = dataset_input.dataset
                dataset_id = conn.execute(
                    select(t.datasets.c.dataset_id).where(
                        t.datasets.c.experiment_id == row.experiment_id,
                        t.datasets.c.name == ds.name,
                        t.datasets.c.digest == ds.digest,
                    )
                ).scalar()
                if dataset_id is None:
                    dataset_id = conn.execute(
                        t.datasets.insert()
                        .values(
                            experiment_id=row.experiment_id,
                            **{name: getattr(ds, name) for name in _DATASET_FIELDS},
                        )
                        .returning(t.datasets.c.dataset_id)
                    ).scalar_one()
                input_id = conn.execute(
                    select(t.run_inputs.c.input_id).where(
                        t.run_inputs.c.run_id == run_id, t.run_inputs.c.dataset_id == dataset_id
                    )
                ).scalar()
                if input_id is not None:
                    continue  # already an input of this run: MLflow ignores repeats
                input_id = conn.execute(
                    t.run_inputs.insert()
                    .values(run_id=run_id, dataset_id=dataset_id)
                    .returning(t.run_inputs.c.input_id)
                ).scalar_one()
                tags = {tag.key: tag.value for tag in dataset_input.tags}
                if tags:
                    conn.execute(
                        t.input_tags.insert(),
                        [{"input_id": input_id, "key": k, "value": v} for k, v in tags.items()],
                    )


def read_inputs(conn: Connection, run_ids: list[str], inputs_by_run: dict[str, Fields]) -> None:
    """Adds the RunInputs fields that are set (ResponseFields.set_only) of the runs of
    `run_ids` that have inputs to `inputs_by_run`."""
    inputs = conn.execute(_RUN_INPUTS, {"run_ids": run_ids}).all()
    if not inputs:
        return
    tags: dict[int, list[Fields]] = {row.input_id: [] for row in inputs}
    for tag in conn.execute(select(t.input_tags).where(t.input_tags.c.input_id.in_(list(tags)))):
        tags[tag.input_id].append(entry_fields(tag.key, tag.value))
    for row in inputs:
        run_inputs = inputs_by_run.setdefault(row.run_id, {"dataset_inputs": []})
        dataset = {name: getattr(row, name) for name in _DATASET_FIELDS if getattr(row, name)}
        dataset_input: Fields = {"tags": tags[row.input_id]} if tags[row.input_id] else {}
        dataset_input["dataset"] = dataset
        run_inputs["dataset_inputs"].append(dataset_input)
