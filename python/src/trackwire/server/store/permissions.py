"""Grants of users on experiments as stored (see server/auth/permissions.py)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from trackwire.errors import AlreadyExists, NotFound
from trackwire.server.store import schema as t
from trackwire.server.store.database import Database

_c = t.experiment_permissions.c


def _grant_of(experiment_id: int, user: str):
    return _c.experiment_id == experiment_id, _c.user_name == user


class GrantTable:
    def __init__(self, db: Database):
        self.db = db

    def add(self, experiment_id: int, user: str, permission: str, exists_message: str) -> None:
        """Adds a grant; AlreadyExists(`exists_message`) when the user has one."""
        with self.db.write() as conn:
            found = conn.execute(
                select(t.experiments.c.experiment_id).where(
                    t.experiments.c.experiment_id == experiment_id
                )
            ).scalar()
            if found is None:
                raise NotFound(f"No Experiment with id={experiment_id} exists.")
            if _grant(conn, experiment_id, user) is not None:
                raise AlreadyExists(exists_message)
            conn.execute(
                t.experiment_permissions.insert().values(
                    experiment_id=experiment_id, user_name=user, permission=permission
                )
            )

    def get(self, experiment_id: int, user: str) -> str | None:
        with self.db.read() as conn:
            return _grant(conn, experiment_id, user)

    def change(self, experiment_id: int, user: str, permission: str) -> bool:
        """Whether the user had a grant to change."""
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    update(t.experiment_permissions)
                    .where(*_grant_of(experiment_id, user))
                    .values(permission=permission)
                ).rowcount
            )

    def remove(self, experiment_id: int, user: str) -> bool:
        """Whether the user had a grant to remove."""
        with self.db.write() as conn:
            return bool(
                conn.execute(
                    delete(t.experiment_permissions).where(*_grant_of(experiment_id, user))
                ).rowcount
            )

    def of_user(self, user: str) -> dict[int, str]:
        """The user's grants by experiment id."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(_c.experiment_id, _c.permission).where(_c.user_name == user)
            ).all()
        return {experiment_id: permission for experiment_id, permission in rows}


def _grant(conn: Connection, experiment_id: int, user: str) -> str | None:
    return conn.execute(select(_c.permission).where(*_grant_of(experiment_id, user))).scalar()
