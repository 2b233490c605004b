"""Authorisation of every RPC, read from the `(trackwire.v1.policy)` option of its descriptor.

`secure(descriptor, service, guard)` returns an object with the service's methods that
first authorise the call made by `current_identity`:

- scope: an RPC whose policy access is READ or MANAGE_READ is open to every token; EDIT
  and MANAGE need a write or admin token;
- experiment permission (admin tokens skip it): the access names the permission needed on
  the experiment (READ, EDIT, MANAGE; MANAGE_READ needs MANAGE), and the policy's auth
  target says where that experiment is found (the request, the response, a search's
  results, a stream's first message or each of its batches);
- searches return only what the caller may read;
- registry calls check the permission on the registered model the request names: the
  user's grant on it, MANAGE for its creator, else the server's default.

Both wires call these objects, so gRPC and HTTP/JSON cannot disagree.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import TypeVar, cast

from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from trackwire import limits
from trackwire.errors import NotFound, PermissionDenied, Unauthenticated
from trackwire.rpc_policy import Access, AuthTarget, policy_of
from trackwire.server.auth.identity import Identity, current_identity
from trackwire.server.auth.permissions import EDIT, MANAGE, READ, PermissionStore, allows
from trackwire.server.store.registry import Registry
from trackwire.server.store.rows import DEFAULT_EXPERIMENT_ID, USER_TAG
from trackwire.server.store.tracking_store import TrackingStore

T = TypeVar("T")

_PERMISSION_OF_ACCESS = {
    Access.ACCESS_READ: READ,
    Access.ACCESS_EDIT: EDIT,
    Access.ACCESS_MANAGE: MANAGE,
    Access.ACCESS_MANAGE_READ: MANAGE,
}
_RUN_CACHE_ENTRIES = 100_000


def is_read(method: MethodDescriptor) -> bool:
    """Whether a read-scope token may make the call."""
    return policy_of(method).access in (Access.ACCESS_READ, Access.ACCESS_MANAGE_READ)


def required_permission(method: MethodDescriptor) -> str:
    return _PERMISSION_OF_ACCESS[policy_of(method).access]


class Guard:
    """Decides whether the current caller may make a call."""

    def __init__(
        self,
        store: TrackingStore,
        permissions: PermissionStore,
        default_permission: str,
        registry: Registry,
    ):
        self.store = store
        self.permissions = permissions
        self.default_permission = default_permission
        self.registry = registry
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

    def model_permission(self, identity: Identity, name: str) -> str | None:
        """The caller's permission on a registered model; None when there is no such model."""
        creator = self.registry.creator(name)
        if creator is None:
            return None
        if identity.is_admin or creator == identity.user:
            return MANAGE
        return self.registry.grant(name, identity.user) or self.default_permission

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

    def experiment_of_model(self, model_id: str) -> int | None:
        """The logged model's experiment, or None when there is no such model."""
        try:
            return self.store.logged_models.experiment_of(model_id)
        except NotFound:
            return None

    def authorize(self, identity: Identity, method: MethodDescriptor, request) -> None:
        """Checks the permission on the experiment the request targets, if any."""
        if identity.is_admin:
            return
        fields = request.DESCRIPTOR.fields_by_name
        experiments: set[int | None] = set()
        if "experiment_id" in fields:
            experiment_id = request.experiment_id or DEFAULT_EXPERIMENT_ID
            if experiment_id.isdigit():
                experiments.add(int(experiment_id))
        elif "run_id" in fields and (request.run_id or getattr(request, "run_uuid", "")):
            experiments.add(self.experiment_of_run(request.run_id or request.run_uuid))
        elif "model_id" in fields and request.model_id:
            experiments.add(self.experiment_of_model(request.model_id))
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
        check = _CHECK_OF_TARGET[policy_of(method).auth_target]
        setattr(
            secured, method.name, _checked_call(method, getattr(service, method.name), guard, check)
        )
    return cast(T, secured)


class _Secured:
    """The secured methods of one service (set per RPC by `secure`)."""


Check = Callable[[Guard, MethodDescriptor, Callable, Identity, object], object]


def _checked_call(method: MethodDescriptor, impl: Callable, guard: Guard, check: Check) -> Callable:
    def call(request):
        return check(guard, method, impl, guard.caller(method), request)

    return call


# -- one check per authorisation target (AuthTarget in rpc_policy.proto) -------------------


def _request_target(guard, method, impl, identity, request):
    guard.authorize(identity, method, request)
    return impl(request)


def _request_and_run_tags(guard, method, impl, identity, request):
    _authorize_tag_write(guard, method, identity, request)
    return impl(request)


def _response_target(guard, method, impl, identity, request):
    """A lookup by name: the experiment it found must be readable."""
    response = impl(request)
    guard.require(
        identity, int(response.experiment.experiment_id), required_permission(method), method.name
    )
    return response


def _search_results(guard, method, impl, identity, request):
    """A search of runs names its experiments: it is narrowed to the readable ones. A
    search of experiments is filtered page by page."""
    if "experiment_ids" in request.DESCRIPTOR.fields_by_name:
        return _search_in_readable_experiments(guard, method, impl, identity, request)
    return _readable_experiment_pages(guard, impl, identity, request)


def _readable_experiment_pages(guard, impl, identity, request):
    """Pages of readable experiments: each inner page is consumed whole, so the page token
    of the last one continues exactly after what was returned."""
    page_size = request.max_results or limits.MAX_SEARCH_EXPERIMENTS_MAX_RESULTS
    if identity.is_admin or not 0 < page_size <= limits.MAX_SEARCH_EXPERIMENTS_MAX_RESULTS:
        return impl(request)  # the service reports a bad page size
    found = []
    token = request.page_token
    while True:
        page = type(request)()
        page.CopyFrom(request)
        page.max_results = page_size - len(found)
        page.page_token = token
        response = impl(page)
        found += [e for e in response.experiments if guard.can_read(identity, e.experiment_id)]
        token = response.next_page_token
        if not token or len(found) >= page_size:
            return type(response)(experiments=found, next_page_token=token)


def _search_in_readable_experiments(guard, method, impl, identity, request):
    if identity.is_admin or not request.experiment_ids:
        return impl(request)
    readable = [e for e in request.experiment_ids if not e.isdigit() or guard.can_read(identity, e)]
    if not readable:
        return message_factory.GetMessageClass(method.output_type)()
    narrowed = type(request)()
    narrowed.CopyFrom(request)
    del narrowed.experiment_ids[:]
    narrowed.experiment_ids.extend(readable)
    return impl(narrowed)


def _first_message_target(guard, method, impl, identity, requests):
    """A client stream is authorised by its first message, which names the run."""
    requests = iter(requests)
    header = next(requests, None)
    if header is None:
        return impl(iter(()))
    guard.authorize(identity, method, header)
    return impl(itertools.chain([header], requests))


def _each_batch_target(guard, method, impl, identity, request):
    """A request of a stream of batches is authorised as the batch it carries."""
    _authorize_tag_write(guard, method, identity, request.batch)
    return impl(request)


def _authorize_tag_write(guard, method, identity, request) -> None:
    """Run tags may not set the user tag, which the server sets from the caller's identity."""
    if "tags" in request.DESCRIPTOR.fields_by_name:
        keys = [tag.key for tag in request.tags]
    else:
        keys = [request.key]
    if not identity.is_admin and USER_TAG in keys:
        raise PermissionDenied(
            f"The tag {USER_TAG!r} is set by the server from the authenticated identity."
        )
    guard.authorize(identity, method, request)


def _registered_model_target(guard, method, impl, identity, request):
    """The model the request names; a model that does not exist yet (a create) or no longer
    (the service answers NOT_FOUND) needs no permission."""
    granted = guard.model_permission(identity, request.name)
    required = required_permission(method)
    if granted is not None and not allows(granted, required):
        raise PermissionDenied(
            f"User {identity.user!r} has permission {granted} on registered model "
            f"{request.name!r}; {method.name} needs {required}."
        )
    return impl(request)


def _registered_model_search(guard, method, impl, identity, request):
    """A page of the registry's search, narrowed to the models the caller may read."""
    response = impl(request)
    if identity.is_admin:
        return response
    fields = response.DESCRIPTOR.fields_by_name
    results = getattr(
        response, "registered_models" if "registered_models" in fields else "model_versions"
    )
    readable = [
        r for r in results if allows(guard.model_permission(identity, r.name) or READ, READ)
    ]
    del results[:]
    results.extend(readable)
    return response


_CHECK_OF_TARGET: dict[AuthTarget.ValueType, Check] = {
    AuthTarget.AUTH_TARGET_REQUEST: _request_target,
    AuthTarget.AUTH_TARGET_REQUEST_RUN_TAGS: _request_and_run_tags,
    AuthTarget.AUTH_TARGET_RESPONSE: _response_target,
    AuthTarget.AUTH_TARGET_SEARCH_RESULTS: _search_results,
    AuthTarget.AUTH_TARGET_FIRST_MESSAGE: _first_message_target,
    AuthTarget.AUTH_TARGET_EACH_BATCH: _each_batch_target,
    AuthTarget.AUTH_TARGET_REGISTERED_MODEL: _registered_model_target,
    AuthTarget.AUTH_TARGET_REGISTERED_MODEL_SEARCH: _registered_model_search,
}
