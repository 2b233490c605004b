"""MLflow 3's logged models: their rows, tags, params and latest metrics, and the models
runs produced (outputs) and used (inputs)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, update

from trackwire.errors import InvalidArgument, NotFound
from trackwire.server.store import schema as t
from trackwire.server.store.database import Database
from trackwire.server.store.lookups import active_run, experiment_key
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.rows import ACTIVE, DELETED, metric_value, now_millis
from trackwire.server.store.search_logged_models import Dataset, plan_logged_model_search
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import logged_model_service_pb2 as lm

_STATUS_PREFIX = "LOGGED_MODEL_STATUS_"


def status_name(status: lm.LoggedModelStatus.ValueType) -> str:
    """The stored (and MLflow's) name of a status: LOGGED_MODEL_READY."""
    return lm.LoggedModelStatus.Name(status).removeprefix(_STATUS_PREFIX)


def model_not_found(model_id: str) -> NotFound:
    return NotFound(f"Logged model with ID '{model_id}' not found.")


class LoggedModels:
    def __init__(self, db: Database, page_tokens: PageTokens):
        self.db = db
        self.page_tokens = page_tokens

    def create(
        self,
        experiment_id: str,
        name: str,
        model_type: str,
        source_run_id: str,
        params: Sequence[lm.LoggedModelParameter],
        tags: Sequence[lm.LoggedModelTag],
    ) -> lm.LoggedModel:
        key = experiment_key(experiment_id)
        model_id = f"m-{uuid.uuid4().hex}"
        now = now_millis()
        with self.db.write() as conn:
            experiment = conn.execute(
                select(t.experiments.c.artifact_location, t.experiments.c.lifecycle_stage).where(
                    t.experiments.c.experiment_id == key
                )
            ).first()
            if experiment is None:
                raise NotFound(f"No Experiment with id={experiment_id} exists")
            if experiment.lifecycle_stage != ACTIVE:
                raise InvalidArgument(
                    f"The experiment {experiment_id} must be in the 'active' state."
                )
            location = experiment.artifact_location.rstrip("/")
            conn.execute(
                t.logged_models.insert().values(
                    model_id=model_id,
                    experiment_id=key,
                    name=name,
                    status=status_name(lm.LOGGED_MODEL_STATUS_LOGGED_MODEL_PENDING),
                    model_type=model_type,
                    source_run_id=source_run_id,
                    artifact_uri=f"{location}/models/{model_id}/artifacts",
                    creation_time=now,
                    last_updated_time=now,
                    lifecycle_stage=ACTIVE,
                )
            )
            self._set_tags(conn, model_id, tags)
            self._log_params(conn, model_id, params)
            return self._model(conn, model_id)

    def get(self, model_id: str) -> lm.LoggedModel:
        with self.db.read() as conn:
            return self._model(conn, model_id)

    def experiment_of(self, model_id: str) -> int:
        """The experiment of a model (deleted ones included); NotFound when there is none."""
        with self.db.read() as conn:
            key = conn.execute(
                select(t.logged_models.c.experiment_id).where(
                    t.logged_models.c.model_id == model_id
                )
            ).scalar()
        if key is None:
            raise model_not_found(model_id)
        return int(key)

    def finalize(self, model_id: str, status: lm.LoggedModelStatus.ValueType) -> lm.LoggedModel:
        with self.db.write() as conn:
            self._active(conn, model_id)
            conn.execute(
                update(t.logged_models)
                .where(t.logged_models.c.model_id == model_id)
                .values(status=status_name(status), last_updated_time=now_millis())
            )
            return self._model(conn, model_id)

    def delete(self, model_id: str) -> None:
        with self.db.write() as conn:
            self._active(conn, model_id)
            conn.execute(
                update(t.logged_models)
                .where(t.logged_models.c.model_id == model_id)
                .values(lifecycle_stage=DELETED, last_updated_time=now_millis())
            )

    def set_tags(self, model_id: str, tags: Sequence[lm.LoggedModelTag]) -> lm.LoggedModel:
        with self.db.write() as conn:
            self._active(conn, model_id)
            self._set_tags(conn, model_id, tags)
            self._touch(conn, model_id)
            return self._model(conn, model_id)

    def delete_tag(self, model_id: str, key: str) -> None:
        with self.db.write() as conn:
            self._active(conn, model_id)
            deleted = conn.execute(
                delete(t.logged_model_tags).where(
                    t.logged_model_tags.c.model_id == model_id, t.logged_model_tags.c.key == key
                )
            ).rowcount
            if not deleted:
                raise NotFound(f"No tag with key '{key}' found for model with ID '{model_id}'.")
            self._touch(conn, model_id)

    def log_params(self, model_id: str, params: Sequence[lm.LoggedModelParameter]) -> None:
        with self.db.write() as conn:
            self._active(conn, model_id)
            self._log_params(conn, model_id, params)
            self._touch(conn, model_id)

    def search(
        self,
        experiment_keys: Sequence[int],
        filter_string: str,
        datasets: Sequence[Dataset],
        order_by: Sequence[lm.SearchLoggedModelsRequest.OrderBy],
        max_results: int,
        page_token: str,
    ) -> tuple[list[lm.LoggedModel], str]:
        """A page of the active models of the experiments, and the next page's token."""
        plan = plan_logged_model_search(
            experiment_keys=experiment_keys,
            filter_string=filter_string,
            datasets=datasets,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
            page_tokens=self.page_tokens,
        )
        with self.db.read() as conn:
            rows, token = plan.page(conn.execute(plan.statement).all())
            return [self._model(conn, row.model_id) for row in rows], token

    def log_outputs(self, run_id: str, outputs: Sequence[pb.ModelOutput]) -> None:
        with self.db.write() as conn:
            active_run(conn, run_id)
            for output in outputs:
                self._active(conn, output.model_id)
                conn.execute(
                    self.db.insert(t.run_model_outputs)
                    .values(run_id=run_id, model_id=output.model_id, step=output.step)
                    .on_conflict_do_update(
                        index_elements=["run_id", "model_id"], set_={"step": output.step}
                    )
                )

    def log_inputs(self, run_id: str, inputs: Sequence[pb.ModelInput]) -> None:
        with self.db.write() as conn:
            active_run(conn, run_id)
            for model_input in inputs:
                self._active(conn, model_input.model_id)
                conn.execute(
                    self.db.insert(t.run_model_inputs)
                    .values(run_id=run_id, model_id=model_input.model_id)
                    .on_conflict_do_nothing()
                )

    def require_active(self, model_ids: Iterable[str]) -> None:
        """NotFound unless every model of `model_ids` exists and is not deleted."""
        with self.db.read() as conn:
            for model_id in model_ids:
                self._active(conn, model_id)

    def record_metrics(self, run_id: str, metrics: Sequence[pb.Metric]) -> None:
        """Keeps the latest (step, timestamp) value of metrics logged with a model_id."""
        with self.db.write() as conn:
            for metric in metrics:
                self._active(conn, metric.model_id)
                key = {
                    "model_id": metric.model_id,
                    "key": metric.key,
                    "dataset_name": metric.dataset_name,
                    "dataset_digest": metric.dataset_digest,
                }
                stored = conn.execute(
                    select(t.logged_model_metrics.c.step, t.logged_model_metrics.c.timestamp).where(
                        *(t.logged_model_metrics.c[name] == value for name, value in key.items())
                    )
                ).first()
                if stored is not None and (stored.step, stored.timestamp) > (
                    metric.step,
                    metric.timestamp,
                ):
                    continue
                value = None if math.isnan(metric.value) else metric.value
                values = {
                    "run_id": run_id,
                    "value": value,
                    "step": metric.step,
                    "timestamp": metric.timestamp,
                }
                conn.execute(
                    self.db.insert(t.logged_model_metrics)
                    .values(**key, **values)
                    .on_conflict_do_update(index_elements=list(key), set_=values)
                )

    def run_outputs(self, run_id: str) -> tuple[list[pb.ModelInput], list[pb.ModelOutput]]:
        """The models a run used and produced."""
        with self.db.read() as conn:
            inputs = conn.execute(
                select(t.run_model_inputs.c.model_id).where(t.run_model_inputs.c.run_id == run_id)
            ).scalars()
            outputs = conn.execute(
                select(t.run_model_outputs.c.model_id, t.run_model_outputs.c.step).where(
                    t.run_model_outputs.c.run_id == run_id
                )
            ).all()
            return (
                [pb.ModelInput(model_id=model_id) for model_id in inputs],
                [pb.ModelOutput(model_id=row.model_id, step=row.step) for row in outputs],
            )

    # -- within a transaction ------------------------------------------------------------

    def _active(self, conn: Connection, model_id: str) -> Any:
        row = conn.execute(
            select(t.logged_models).where(t.logged_models.c.model_id == model_id)
        ).first()
        if row is None or row.lifecycle_stage != ACTIVE:
            raise model_not_found(model_id)
        return row

    def _touch(self, conn: Connection, model_id: str) -> None:
        conn.execute(
            update(t.logged_models)
            .where(t.logged_models.c.model_id == model_id)
            .values(last_updated_time=now_millis())
        )

    def _set_tags(self, conn: Connection, model_id: str, tags: Sequence[lm.LoggedModelTag]) -> None:
        for tag in tags:
            conn.execute(
                self.db.insert(t.logged_model_tags)
                .values(model_id=model_id, key=tag.key, value=tag.value)
                .on_conflict_do_update(
                    index_elements=["model_id", "key"], set_={"value": tag.value}
                )
            )

    def _log_params(
        self, conn: Connection, model_id: str, params: Sequence[lm.LoggedModelParameter]
    ) -> None:
        for param in params:
            stored = conn.execute(
                select(t.logged_model_params.c.value).where(
                    t.logged_model_params.c.model_id == model_id,
                    t.logged_model_params.c.key == param.key,
                )
            ).scalar()
            if stored is None:
                conn.execute(
                    t.logged_model_params.insert().values(
                        model_id=model_id, key=param.key, value=param.value
                    )
                )
            elif stored != param.value:
                raise InvalidArgument(
                    f"Changing param values is not allowed. Param with key='{param.key}' was "
                    f"already logged with value='{stored}' for logged model '{model_id}'. "
                    f"Attempted logging new value '{param.value}'."
                )

    def _model(self, conn: Connection, model_id: str) -> lm.LoggedModel:
        row = self._active(conn, model_id)
        tags = conn.execute(
            select(t.logged_model_tags.c.key, t.logged_model_tags.c.value)
            .where(t.logged_model_tags.c.model_id == model_id)
            .order_by(t.logged_model_tags.c.key)
        ).all()
        params = conn.execute(
            select(t.logged_model_params.c.key, t.logged_model_params.c.value)
            .where(t.logged_model_params.c.model_id == model_id)
            .order_by(t.logged_model_params.c.key)
        ).all()
        metrics = conn.execute(
            select(t.logged_model_metrics)
            .where(t.logged_model_metrics.c.model_id == model_id)
            .order_by(t.logged_model_metrics.c.key)
        ).all()
        info = lm.LoggedModelInfo(
            model_id=row.model_id,
            experiment_id=str(row.experiment_id),
            name=row.name,
            creation_timestamp_ms=row.creation_time,
            last_updated_timestamp_ms=row.last_updated_time,
            artifact_uri=row.artifact_uri,
            status=lm.LoggedModelStatus.Value(_STATUS_PREFIX + row.status),
            model_type=row.model_type,
            source_run_id=row.source_run_id,
            status_message=row.status_message,
            tags=[lm.LoggedModelTag(key=k, value=v) for k, v in tags],
        )
        data = lm.LoggedModelData(
            params=[lm.LoggedModelParameter(key=k, value=v) for k, v in params],
            metrics=[
                pb.Metric(
                    key=m.key,
                    value=metric_value(m.value),
                    timestamp=m.timestamp,
                    step=m.step,
                    dataset_name=m.dataset_name,
                    dataset_digest=m.dataset_digest,
                    model_id=model_id,
                    run_id=m.run_id,
                )
                for m in metrics
            ],
        )
        return lm.LoggedModel(info=info, data=data)
