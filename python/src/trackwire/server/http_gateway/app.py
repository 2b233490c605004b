"""The ASGI application of the HTTP/JSON gateway: MLflow's REST API over trackwire's services."""

from __future__ import annotations

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from trackwire._version import __version__
from trackwire.errors import TrackwireError, UnknownAttribute
from trackwire.server.auth.identity import current_identity
from trackwire.server.http_gateway import transcode
from trackwire.server.http_gateway.mlflow_artifacts import mlflow_artifact_routes
from trackwire.server.http_gateway.routes import rpc_routes
from trackwire.server.http_gateway.web_ui import is_open, web_ui_routes
from trackwire.server.internal_errors import internal_error
from trackwire.server.services import LOGGED_MODEL_SERVICE
from trackwire.v1 import artifact_service_pb2, model_registry_service_pb2, tracking_service_pb2

_HTTP_ERROR_CODES = {404: "ENDPOINT_NOT_FOUND", 405: "INVALID_PARAMETER_VALUE"}

# The `sqlstate` and `error_class` MLflow's server adds to an error of each code (its
# error_classification module); codes it has none for get neither field.
_ERROR_CLASSIFICATION = {
    "INVALID_PARAMETER_VALUE": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "BAD_REQUEST": ("KAM00", "INVALID_PARAMETER_VALUE"),
    "RESOURCE_DOES_NOT_EXIST": ("KAM00", "RESOURCE_NOT_FOUND"),
    "ENDPOINT_NOT_FOUND": ("KAM00", "RESOURCE_NOT_FOUND"),
    "RESOURCE_ALREADY_EXISTS": ("KAM00", "RESOURCE_ALREADY_EXISTS"),
    "PERMISSION_DENIED": ("KAM00", "PERMISSION_DENIED"),
    "INTERNAL_ERROR": ("XXM00", "CLIENT_INTERNAL_ERROR"),
    "TEMPORARILY_UNAVAILABLE": ("XXM00", "CLIENT_INTERNAL_ERROR"),
}


# An attribute lookup that failed is one of the few errors MLflow classifies by its kind.
_UNKNOWN_ATTRIBUTE = ("KAM04", "ATTRIBUTE_NOT_FOUND")


def _error(
    status: int, code: str, message: str, classification: tuple[str, str] | None = None
) -> Response:
    """MLflow's error body: its code and message, and the classification it derives from the
    code unless given one."""
    error = {"error_code": code, "message": message}
    classification = classification or _ERROR_CLASSIFICATION.get(code)
    if classification is not None:
        error["sqlstate"], error["error_class"] = classification
    body = transcode.dumps(error)
    return Response(body, status_code=status, media_type="application/json")


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TrackwireError)
    classification = _UNKNOWN_ATTRIBUTE if isinstance(exc, UnknownAttribute) else None
    return _error(exc.http_status, exc.mlflow_code, exc.message, classification)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return _error(exc.status_code, _HTTP_ERROR_CODES.get(exc.status_code, "BAD_REQUEST"), message)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    error = internal_error(f"{request.method} {request.url.path}", exc)
    return _error(error.http_status, error.mlflow_code, error.message)


async def _health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def _version(request: Request) -> Response:
    return PlainTextResponse(__version__)


async def _workspace_config(request: Request) -> Response:
    """The discovery document a hosted-workspace client (the Databricks SDK under
    `mlflow.set_tracking_uri("databricks")`) reads before anything else; it warns when it cannot.
    trackwire has no OIDC provider, account or workspace id to announce: the client then uses
    the host and token it was given."""
    return Response(b"{}", media_type="application/json")


_WORKSPACE_CONFIG_PATH = "/.well-known/databricks-config"
# Paths served without a token: load balancers probe them, and clients read the discovery
# document before they authenticate.
_OPEN_PATHS = frozenset({"/health", "/version", _WORKSPACE_CONFIG_PATH})


class _AuthMiddleware:
    """Authenticates every request but the open paths by its `Authorization` header (Bearer
    token, or HTTP Basic with the token as password) and sets `current_identity`."""

    def __init__(self, app, tokens):
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in _OPEN_PATHS or is_open(scope["path"]):
            return await self.app(scope, receive, send)
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        authorization = header.decode("latin-1") if header else None
        try:
            # A worker thread only when the token is not cached: then it costs a query.
            identity = self.tokens.cached(authorization) or await anyio.to_thread.run_sync(
                self.tokens.authenticate, authorization
            )
        except TrackwireError as error:
            response = _error(error.http_status, error.mlflow_code, error.message)
            response.headers["WWW-Authenticate"] = 'Bearer realm="trackwire"'
            return await response(scope, receive, send)
        reset = current_identity.set(identity)
        try:
            await self.app(scope, receive, send)
        finally:
            current_identity.reset(reset)


class _Router(Router):
    """Starlette's router with a dict lookup in front for fixed paths (every RPC's): matching
    some 80 route patterns in turn costs up to 30 µs a request.

    Only the fixed-path routes before the first route with parameters are indexed, so the
    first route that matches in list order is still the one chosen; anything else (a method
    not allowed, a mount prefix, the artifact proxy's paths) goes through Starlette's loop.
    """

    def __init__(self, routes: list[Route]):
        super().__init__(routes=routes)
        self.fixed: dict[tuple[str, str], Route] = {}
        for route in routes:
            if not isinstance(route, Route) or route.param_convertors or not route.methods:
                break
            for method in route.methods:
                self.fixed.setdefault((route.path, method), route)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.fixed.get((scope["path"], scope["method"]))
        if route is None:
            return await super().app(scope, receive, send)
        # What Router.app and Route.matches set for a full match.
        scope.setdefault("router", self)
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = dict(scope.get("path_params", {}))
        await route.handle(scope, receive, send)


def create_app(services) -> Starlette:
    """The gateway over `services` (from trackwire.server.services.open_services).

    Every annotated RPC of the tracking, artifact, logged-model and model registry services is
    routed (see routes.py), plus MLflow's artifact proxy API, `/health`, `/version`, the
    hosted-workspace discovery document and the web UI.
    """
    tracking = tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"]
    artifacts = artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"]
    registry = model_registry_service_pb2.DESCRIPTOR.services_by_name["ModelRegistryService"]
    routes = [
        Route("/health", _health, methods=["GET"]),
        Route("/version", _version, methods=["GET"]),
        Route(_WORKSPACE_CONFIG_PATH, _workspace_config, methods=["GET"]),
        *rpc_routes(
            {
                tracking: services.tracking_fields,
                artifacts: services.artifacts,
                registry: services.registry,
                LOGGED_MODEL_SERVICE: services.logged_models,
            },
            services.store.db.write_lock,
        ),
        *mlflow_artifact_routes(services.artifacts),
        *web_ui_routes(services.guard),
    ]
    middleware = []
    if services.tokens is not None:
        middleware.append(Middleware(_AuthMiddleware, tokens=services.tokens))
    app = Starlette(
        middleware=middleware,
        exception_handlers={
            TrackwireError: _domain_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.router = _Router(routes)  # before the first request builds the middleware stack
    return app
