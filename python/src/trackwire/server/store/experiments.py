"""Experiments: creation, reads, search, renames, lifecycle and tags."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from trackwire.errors import AlreadyExists, InvalidArgument, NotFound
from trackwire.server.store import schema as t
from trackwire.server.store.database import Database
from trackwire.server.store.lookups import experiment_key, experiment_stage
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.quotas import Quotas
from trackwire.server.store.rows import (
    ACTIVE,
    DEFAULT_EXPERIMENT_NAME,
    DELETED,
    chunks,
    experiment_message,
    now_millis,
)
from trackwire.server.store.search_experiments import plan_experiment_search
from trackwire.v1 import entities_pb2 as pb


class Experiments:
    def __init__(self, db: Database, quotas: Quotas, page_tokens: PageTokens):
        self.db = db
        self.quotas = quotas
        self.page_tokens = page_tokens

    def ensure_default(self, artifact_location: str) -> None:
        """Creates experiment "0" named "Default" once; safe when replicas race."""
        now = now_millis()
        with self.db.write() as conn:
            conn.execute(
                self.db.insert(t.experiments)
                .values(
                    experiment_id=0,
                    name=DEFAULT_EXPERIMENT_NAME,
                    artifact_location=artifact_location,
                    lifecycle_stage=ACTIVE,
                    creation_time=now,
                    last_update_time=now,
                )
                .on_conflict_do_nothing()
            )

    def create(
        self,
        name: str,
        artifact_location_for: Callable[[str], str],
        tags: Sequence[pb.ExperimentTag],
        owner: str = "",
    ) -> str:
        """`artifact_location_for(experiment_id)` chooses the location once the id is known.

        A non-empty `owner` (the authenticated creator) gets MANAGE on the experiment.
        """
        now = now_millis()
        try:
            with self.db.write() as conn:
                experiment_id = conn.execute(
                    t.experiments.insert()
                    .values(
                        name=name,
                        artifact_location="",
                        lifecycle_stage=ACTIVE,
                        creation_time=now,
                        last_update_time=now,
                    )
                    .returning(t.experiments.c.experiment_id)
                ).scalar_one()
                conn.execute(
                    update(t.experiments)
                    .where(t.experiments.c.experiment_id == experiment_id)
                    .values(artifact_location=artifact_location_for(str(experiment_id)))
                )
                if tags:
                    conn.execute(
                        t.experiment_tags.insert(),
                        [
                            {"experiment_id": experiment_id, "key": tag.key, "value": tag.value}
                            for tag in {tag.key: tag for tag in tags}.values()
                        ],
                    )
                    self.quotas.check_experiment_tags(conn, experiment_id, len(tags))
                if owner:
                    conn.execute(
                        t.experiment_permissions.insert().values(
                            experiment_id=experiment_id, user_name=owner, permission="MANAGE"
                        )
                    )
        except IntegrityError:
            raise AlreadyExists(f"Experiment(name={name}) already exists.") from None
        return str(experiment_id)

    def get(self, experiment_id: str) -> pb.Experiment:
        with self.db.read() as conn:
            return _experiment(conn, experiment_key(experiment_id))

    def get_by_name(self, name: str) -> pb.Experiment:
        with self.db.read() as conn:
            found = conn.execute(
                select(t.experiments.c.experiment_id).where(t.experiments.c.name == name)
            ).scalar()
            if found is None:
                raise NotFound(f"Could not find experiment with name '{name}'")
            return _experiment(conn, found)

    def search(
        self,
        filter_string: str,
        order_by: Sequence[str],
        view_type: int,
        max_results: int,
        page_token: str,
    ) -> tuple[list[pb.Experiment], str]:
        plan = plan_experiment_search(
            filter_string=filter_string,
            order_by=order_by,
            view_type=view_type,
            max_results=max_results,
            page_token=page_token,
            page_tokens=self.page_tokens,
        )
        with self.db.read() as conn:
            rows, next_token = plan.page(conn.execute(plan.statement).all())
            ids = [row.experiment_id for row in rows]
            tags_by_id: dict[int, list] = {i: [] for i in ids}
            for chunk in chunks(ids):
                for tag in conn.execute(
                    select(t.experiment_tags).where(t.experiment_tags.c.experiment_id.in_(chunk))
                ):
                    tags_by_id[tag.experiment_id].append(tag)
        return [experiment_message(row, tags_by_id[row.experiment_id]) for row in rows], next_token

    def set_lifecycle(self, experiment_id: str, stage: str) -> None:
        """Deletes or restores an experiment, and with it the runs deleted with it."""
        eid = experiment_key(experiment_id)
        now = now_millis()
        with self.db.write() as conn:
            current = experiment_stage(conn, eid)
            if eid == 0 and stage == DELETED:
                raise InvalidArgument("Cannot delete the default experiment '0'.")
            if current == stage:
                raise InvalidArgument(
                    f"Cannot {'delete' if stage == DELETED else 'restore'} experiment "
                    f"{experiment_id}: it is already {stage}."
                )
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.experiment_id == eid)
                .values(lifecycle_stage=stage, last_update_time=now)
            )
            conn.execute(
                update(t.runs)
                .where(t.runs.c.experiment_id == eid, t.runs.c.lifecycle_stage != stage)
                .values(lifecycle_stage=stage, deleted_time=now if stage == DELETED else None)
            )

    def rename(self, experiment_id: str, new_name: str) -> None:
        eid = experiment_key(experiment_id)
        try:
            with self.db.write() as conn:
                if experiment_stage(conn, eid) != ACTIVE:
                    raise InvalidArgument(
                        f"Cannot rename experiment {experiment_id}: it is deleted."
                    )
                conn.execute(
                    update(t.experiments)
                    .where(t.experiments.c.experiment_id == eid)
                    .values(name=new_name, last_update_time=now_millis())
                )
        except IntegrityError:
            raise AlreadyExists(f"Experiment(name={new_name}) already exists.") from None

    def set_tag(self, experiment_id: str, key: str, value: str) -> None:
        eid = experiment_key(experiment_id)
        with self.db.write() as conn:
            if experiment_stage(conn, eid) != ACTIVE:
                raise InvalidArgument(
                    f"Cannot set a tag on experiment {experiment_id}: it is deleted."
                )
            self.quotas.lock_experiment(conn, eid)
            statement = self.db.insert(t.experiment_tags).values(
                experiment_id=eid, key=key, value=value
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["experiment_id", "key"], set_={"value": value}
                )
            )
            self.quotas.check_experiment_tags(conn, eid, 1)

    def delete_tag(self, experiment_id: str, key: str) -> None:
        eid = experiment_key(experiment_id)
        with self.db.write() as conn:
            if experiment_stage(conn, eid) != ACTIVE:
                raise InvalidArgument(
                    f"Cannot delete a tag of experiment {experiment_id}: it is deleted."
                )
            deleted = conn.execute(
                delete(t.experiment_tags).where(
                    t.experiment_tags.c.experiment_id == eid, t.experiment_tags.c.key == key
                )
            ).rowcount
            if not deleted:
                raise NotFound(f"No tag with name: {key} in experiment {experiment_id}.")


def _experiment(conn: Connection, experiment_id: int) -> pb.Experiment:
    row = conn.execute(
        select(t.experiments).where(t.experiments.c.experiment_id == experiment_id)
    ).first()
    if row is None:
        raise NotFound(f"No Experiment with id={experiment_id} exists.")
    tags = conn.execute(
        select(t.experiment_tags.c.key, t.experiment_tags.c.value).where(
            t.experiment_tags.c.experiment_id == experiment_id
        )
    ).all()
    return experiment_message(row, tags)
