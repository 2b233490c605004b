"""Experiment permissions as MLflow's basic-auth app has them.

A user's permission on an experiment is their grant, or the server's default permission
(READ unless `--auth-default-permission` says otherwise) when they have none. The creator of
an experiment is granted MANAGE. Runs inherit their experiment's permissions.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, delete, select, update

from trackwire.errors import AlreadyExists, InvalidArgument, NotFound
from trackwire.server.auth.db import read_transaction, write_transaction
from trackwire.server.store import schema as t
from trackwire.v1 import entities_pb2 as pb

# Permission names as stored and as MLflow spells them, weakest first.
NO_PERMISSIONS, READ, EDIT, MANAGE = "NO_PERMISSIONS", "READ", "EDIT", "MANAGE"
_RANK = {NO_PERMISSIONS: 0, READ: 1, EDIT: 2, MANAGE: 3}
NAMES = tuple(_RANK)

CACHE_SECONDS = 5.0
_CACHE_USERS = 10_000


def allows(granted: str, required: str) -> bool:
    return _RANK[granted] >= _RANK[required]


def permission_name(value: pb.Permission.ValueType) -> str:
    """The stored name of a Permission enum value."""
    if value == pb.PERMISSION_UNSPECIFIED or value not in pb.Permission.values():
        raise InvalidArgument(
            f"Missing or invalid value for parameter 'permission': use one of {', '.join(NAMES)}."
        )
    return pb.Permission.Name(value).removeprefix("PERMISSION_")


def _experiment_key(experiment_id: str) -> int:
    try:
        return int(experiment_id)
    except ValueError:
        raise NotFound(f"No Experiment with id={experiment_id!r} exists.") from None


class PermissionStore:
    """Grants in the backend store, with each user's grants cached for a few seconds so a
    call costs no query, and a change reaches every replica within that time."""

    def __init__(self, engine: Engine, cache_seconds: float = CACHE_SECONDS):
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[int, str]]] = {}
        self._lock = threading.Lock()

    # -- grants (the permission RPCs) ----------------------------------------------

    def create(self, experiment_id: str, user: str, permission: str) -> pb.ExperimentPermission:
        eid = _experiment_key(experiment_id)
        with write_transaction(self.engine) as conn:
            self._require_experiment(conn, eid)
            if self._grant(conn, eid, user) is not None:
                raise AlreadyExists(
                    f"Experiment permission (experiment_id={experiment_id}, username={user}) "
                    "already exists. Use UpdateExperimentPermission to change it."
                )
            conn.execute(
                t.experiment_permissions.insert().values(
                    experiment_id=eid, user_name=user, permission=permission
                )
            )
        self.forget(user)
        return _message(eid, user, permission)

    def get(self, experiment_id: str, user: str) -> pb.ExperimentPermission:
        eid = _experiment_key(experiment_id)
        with read_transaction(self.engine) as conn:
            permission = self._grant(conn, eid, user)
        if permission is None:
            raise NotFound(_no_grant(experiment_id, user))
        return _message(eid, user, permission)

    def update(self, experiment_id: str, user: str, permission: str) -> None:
        eid = _experiment_key(experiment_id)
        with write_transaction(self.engine) as conn:
            changed = conn.execute(
                update(t.experiment_permissions)
                .where(*_grant_of(eid, user))
                .values(permission=permission)
            ).rowcount
        if not changed:
            raise NotFound(_no_grant(experiment_id, user))
        self.forget(user)

    def delete(self, experiment_id: str, user: str) -> None:
        eid = _experiment_key(experiment_id)
        with write_transaction(self.engine) as conn:
            deleted = conn.execute(
                delete(t.experiment_permissions).where(*_grant_of(eid, user))
            ).rowcount
        if not deleted:
            raise NotFound(_no_grant(experiment_id, user))
        self.forget(user)

    @staticmethod
    def _grant(conn, eid: int, user: str) -> str | None:
        return conn.execute(
            select(t.experiment_permissions.c.permission).where(*_grant_of(eid, user))
        ).scalar()

    @staticmethod
    def _require_experiment(conn, eid: int) -> None:
        found = conn.execute(
            select(t.experiments.c.experiment_id).where(t.experiments.c.experiment_id == eid)
        ).scalar()
        if found is None:
            raise NotFound(f"No Experiment with id={eid} exists.")

    # -- checks ----------------------------------------------------------------------

    def grants_of(self, user: str) -> dict[int, str]:
        """The user's grants by experiment id (cached)."""
        now = time.monotonic()
        cached = self._cache.get(user)
        if cached is not None and cached[0] > now:
            return cached[1]
        c = t.experiment_permissions.c
        with read_transaction(self.engine) as conn:
            grants = dict(
                conn.execute(select(c.experiment_id, c.permission).where(c.user_name == user)).all()
            )
        with self._lock:
            if len(self._cache) >= _CACHE_USERS:
                self._cache.clear()
            self._cache[user] = (now + self.cache_seconds, grants)
        return grants

    def forget(self, user: str) -> None:
        """This replica sees its own changes at once; others within the cache time."""
        with self._lock:
            self._cache.pop(user, None)


def _grant_of(eid: int, user: str):
    c = t.experiment_permissions.c
    return c.experiment_id == eid, c.user_name == user


def _no_grant(experiment_id: str, user: str) -> str:
    return f"No permission of user {user!r} on experiment {experiment_id} exists."


def _message(eid: int, user: str, permission: str) -> pb.ExperimentPermission:
    return pb.ExperimentPermission(
        experiment_id=str(eid),
        username=user,
        permission=pb.Permission.Value("PERMISSION_" + permission),
    )
