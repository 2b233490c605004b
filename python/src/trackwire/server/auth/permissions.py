"""Experiment permissions as MLflow's basic-auth app has them.

A user's permission on an experiment is their grant, or the server's default permission
(READ unless `--auth-default-permission` says otherwise) when they have none. The creator of
an experiment is granted MANAGE. Runs inherit their experiment's permissions.
"""

from __future__ import annotations

import threading
import time

from trackwire.errors import InvalidArgument, NotFound
from trackwire.server.store.database import Database
from trackwire.server.store.lookups import experiment_key
from trackwire.server.store.permissions import GrantTable
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


class PermissionStore:
    """Grants in the backend store, with each user's grants cached for a few seconds so a
    call costs no query, and a change reaches every replica within that time."""

    def __init__(self, db: Database, cache_seconds: float = CACHE_SECONDS):
        self.grants = GrantTable(db)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[int, str]]] = {}
        self._lock = threading.Lock()

    # -- grants (the permission RPCs) ----------------------------------------------

    def create(self, experiment_id: str, user: str, permission: str) -> pb.ExperimentPermission:
        eid = experiment_key(experiment_id)
        self.grants.add(
            eid,
            user,
            permission,
            f"Experiment permission (experiment_id={experiment_id}, username={user}) "
            "already exists. Use UpdateExperimentPermission to change it.",
        )
        self.forget(user)
        return _message(eid, user, permission)

    def get(self, experiment_id: str, user: str) -> pb.ExperimentPermission:
        eid = experiment_key(experiment_id)
        permission = self.grants.get(eid, user)
        if permission is None:
            raise NotFound(_no_grant(experiment_id, user))
        return _message(eid, user, permission)

    def update(self, experiment_id: str, user: str, permission: str) -> None:
        if not self.grants.change(experiment_key(experiment_id), user, permission):
            raise NotFound(_no_grant(experiment_id, user))
        self.forget(user)

    def delete(self, experiment_id: str, user: str) -> None:
        if not self.grants.remove(experiment_key(experiment_id), user):
            raise NotFound(_no_grant(experiment_id, user))
        self.forget(user)

    # -- checks ----------------------------------------------------------------------

    def grants_of(self, user: str) -> dict[int, str]:
        """The user's grants by experiment id (cached)."""
        now = time.monotonic()
        cached = self._cache.get(user)
        if cached is not None and cached[0] > now:
            return cached[1]
        grants = self.grants.of_user(user)
        with self._lock:
            if len(self._cache) >= _CACHE_USERS:
                self._cache.clear()
            self._cache[user] = (now + self.cache_seconds, grants)
        return grants

    def forget(self, user: str) -> None:
        """This replica sees its own changes at once; others within the cache time."""
        with self._lock:
            self._cache.pop(user, None)


def _no_grant(experiment_id: str, user: str) -> str:
    return f"No permission of user {user!r} on experiment {experiment_id} exists."


def _message(eid: int, user: str, permission: str) -> pb.ExperimentPermission:
    return pb.ExperimentPermission(
        experiment_id=str(eid),
        username=user,
        permission=pb.Permission.Value("PERMISSION_" + permission),
    )
