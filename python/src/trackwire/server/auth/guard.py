"""Authorisation of every RPC, derived from the service descriptors.

`secure(descriptor, service, guard)` returns an object with the service's methods that
first authorise the call made by `current_identity`:

- scope: RPCs named Get*, Search*, List*, Download*, Stream* read; every other RPC writes and
  needs a write or admin token;
- experiment permission (admin tokens skip it): the experiment is the request's
  `experiment_id`, or the experiment of its `run_id`. Reads need READ, writes EDIT, and
  deleting/restoring experiments or runs and managing grants need MANAGE;
- searches return only what the caller may read.

Both wires call these objects, so gRPC and HTTP/JSON cannot disagree.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar, cast

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from trackwire import limits
from trackwire.errors import NotFound, PermissionDenied, Unauthenticated
from trackwire.server.auth.identity import Identity, current_identity
from trackwire.server.auth.permissions import EDIT, MANAGE, READ, PermissionStore, allows
from trackwire.server.store.rows import DEFAULT_EXPERIMENT_ID, USER_TAG
from trackwire.server.store.tracking_store import TrackingStore
from trackwire.v1 import tracking_service_pb2 as rpc

T = TypeVar("T")

READ_PREFIXES = ("Get", "Search", "List", "Download", "Stream")
# Destructive or administrative RPCs: MLflow's basic-auth app asks MANAGE for these.
MANAGE_RPCS = frozenset(
    {
        "DeleteExperiment",
        "RestoreExperiment",
        "DeleteRun",
        "RestoreRun",
        "DeleteRuns",
        "CreateExperimentPermission",
        "GetExperimentPermission",
        "UpdateExperimentPermission",
        "DeleteExperimentPermission",
    }
)
_RUN_CACHE_ENTRIES = 100_000


def is_read(method: MethodDescriptor) -> bool:
    return method.name.startswith(READ_PREFIXES)


def required_permission(method: MethodDescriptor) -> str:
    if method.name in MANAGE_RPCS:
        return MANAGE
    return READ if is_read(method) else EDIT


class Guard:
    """Decides whether the current caller may make a call."""

    def __init__(self, store: TrackingStore, permissions: PermissionStore, default_permission: str):
        self.store = store
        self.permissions = permissions
        self.default_permission = default_permission
        # A run never moves to another experiment, so this mapping never goes stale.
        self._experiment_of_run: dict[str, int] = {}
        self._lock = threading.Lock()

    def caller(self, method: MethodDescriptor) -> Identity:
        """The authenticated caller, if its token's scope allows the RPC."""
        identity = current_identity.get()
        if identity is None:
            raise Unauthenticated("Authentication required.")
        if not is_read(method) and not identity.can_write:
            raise PermissionDenied(
                f"Token of user {identity.user!r} has the 'read' scope: it cannot call "
                f"{method.name}, which writes. Use a token with the 'write' scope."
            )
        return identity

    def permission(self, identity: Identity, experiment_id: int) -> str:
        if identity.is_admin:
            return MANAGE
        return self.permissions.grants_of(identity.user).get(experiment_id, self.default_permission)

    def can_read(self, identity: Identity, experiment_id: str) -> bool:
        return allows(self.permission(identity, int(experiment_id)), READ)

    def require(self, identity: Identity, experiment_id: int, required: str, what: str) -> None:
        granted = self.permission(identity, experiment_id)
        if not allows(granted, required):
            raise PermissionDenied(
                f"User {identity.user!r} has permission {granted} on experiment "
                f"{experiment_id}; {what} needs {required}."
            )

    def experiment_of_run(self, run_id: str) -> int | None:
        """The run's experiment, or None when there is no such run (the service says so)."""
        found = self._experiment_of_run.get(run_id)
        if found is None:
            try:
                found = int(self.store.runs.info(run_id).experiment_id)
            except NotFound:
                return None
            with self._lock:
                if len(self._experiment_of_run) >= _RUN_CACHE_ENTRIES:
                    self._experiment_of_run.clear()
                self._experiment_of_run[run_id] = found
        return found

    def authorize(self, identity: Identity, method: MethodDescriptor, request) -> None:
        """Checks the permission on the experiment the request targets, if any."""
        if identity.is_admin:
            return
        fields = request.DESCRIPTOR.fields_by_name
        experiments: set[int | None] = set()
        if "experiment_id" in fields:
            experiment_id = request.experiment_id
            if not experiment_id and method.name == "CreateRun":
                experiment_id = DEFAULT_EXPERIMENT_ID
            if experiment_id.isdigit():
                experiments.add(int(experiment_id))
        elif "run_id" in fields:
            run_id = request.run_id or getattr(request, "run_uuid", "")
            if run_id:
                experiments.add(self.experiment_of_run(run_id))
        elif "run_ids" in fields:  # several runs at once: each of them must be allowed
            experiments.update(self.experiment_of_run(run_id) for run_id in request.run_ids)
        for experiment in experiments:
            if experiment is not None:
                self.require(identity, experiment, required_permission(method), method.name)


def secure(descriptor: ServiceDescriptor, service: T, guard: Guard) -> T:
    """An object with `service`'s RPC methods, each authorised by `guard` first (typed as
    the service: callers use it in its place)."""
    secured = _Secured()
    for method in descriptor.methods:
        special = _SPECIAL.get(method.name)
        impl = getattr(service, method.name)
        if special is not None:
            call = _special_call(method, impl, guard, special)
        else:
            call = _plain_call(method, impl, guard)
        setattr(secured, method.name, call)
    return cast(T, secured)


class _Secured:
    """The secured methods of one service (set per RPC by `secure`)."""


def _plain_call(method: MethodDescriptor, impl: Callable, guard: Guard) -> Callable:
    def call(request):
        guard.authorize(guard.caller(method), method, request)
        return impl(request)

    return call


def _special_call(method, impl, guard, special) -> Callable:
    def call(request):
        return special(guard, method, impl, guard.caller(method), request)

    return call


# -- RPCs whose target is known only after the call, or that need more than a check ------


def _get_experiment_by_name(guard, method, impl, identity, request):
    response = impl(request)
    guard.require(identity, int(response.experiment.experiment_id), READ, method.name)
    return response


def _search_experiments(guard, method, impl, identity, request):
    """Pages of readable experiments: each inner page is consumed whole, so the page token
    of the last one continues exactly after what was returned."""
    page_size = request.max_results or limits.MAX_SEARCH_EXPERIMENTS_MAX_RESULTS
    if identity.is_admin or not 0 < page_size <= limits.MAX_SEARCH_EXPERIMENTS_MAX_RESULTS:
        return impl(request)  # the service reports a bad page size
    found = []
    token = request.page_token
    while True:
        page = rpc.SearchExperimentsRequest()
        page.CopyFrom(request)
        page.max_results = page_size - len(found)
        page.page_token = token
        response = impl(page)
        found += [e for e in response.experiments if guard.can_read(identity, e.experiment_id)]
        token = response.next_page_token
        if not token or len(found) >= page_size:
            return rpc.SearchExperimentsResponse(experiments=found, next_page_token=token)


def _search_runs(guard, method, impl, identity, request):
    if identity.is_admin or not request.experiment_ids:
        return impl(request)
    readable = [e for e in request.experiment_ids if not e.isdigit() or guard.can_read(identity, e)]
    if not readable:
        return rpc.SearchRunsResponse()
    narrowed = rpc.SearchRunsRequest()
    narrowed.CopyFrom(request)
    del narrowed.experiment_ids[:]
    narrowed.experiment_ids.extend(readable)
    return impl(narrowed)


def _refuse_user_tag(identity, keys: Iterable[str]) -> None:
    if not identity.is_admin and USER_TAG in keys:
        raise PermissionDenied(
            f"The tag {USER_TAG!r} is set by the server from the authenticated identity."
        )


def _authorize_tag_write(guard, method, identity, request) -> None:
    keys = [tag.key for tag in request.tags] if method.name == "LogBatch" else [request.key]
    _refuse_user_tag(identity, keys)
    guard.authorize(identity, method, request)


def _tag_write(guard, method, impl, identity, request):
    _authorize_tag_write(guard, method, identity, request)
    return impl(request)


def _batch_of_stream(guard, method, impl, identity, request):
    """A request of a LogBatchStream is authorised as the LogBatch it carries."""
    log_batch = method.containing_service.methods_by_name["LogBatch"]
    _authorize_tag_write(guard, log_batch, identity, request.batch)
    return impl(request)


def _upload(guard, method, impl, identity, requests):
    """Authorises by the first message of the stream, which names the run."""
    requests = iter(requests)
    header = next(requests, None)
    if header is None:
        return impl(iter(()))
    guard.authorize(identity, method, header)
    return impl(itertools.chain([header], requests))


_SPECIAL = {
    "GetExperimentByName": _get_experiment_by_name,
    "SearchExperiments": _search_experiments,
    "SearchRuns": _search_runs,
    "SetTag": _tag_write,
    "DeleteTag": _tag_write,
    "LogBatch": _tag_write,
    "LogBatchStream": _batch_of_stream,
    "UploadArtifact": _upload,
}
