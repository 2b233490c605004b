"""The web UI's static files, served at `/` from the assets built into the package.

`index.html` is never cached (it names the current bundle); the bundle's files carry a content
hash in their names and are cached for a year. `/ui/session` tells the UI who its token
belongs to and what it may do on each experiment, so that the UI shows what the caller may
not do as disabled instead of failing.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from trackwire.rpc_policy import SERVICES
from trackwire.server.auth.guard import Guard, is_read, required_permission
from trackwire.server.auth.identity import current_identity
from trackwire.server.auth.permissions import MANAGE

ASSETS = resources.files("trackwire.server") / "ui_assets"
# Paths the UI needs before it has a token: the page itself and its bundle.
OPEN_PATHS = frozenset({"/", "/index.html"})
OPEN_PREFIX = "/assets/"


async def _asset(request: Request) -> Response:
    name = request.path_params["name"]
    asset = ASSETS / "assets" / name
    # The bundle is flat: a name with a separator or a dot prefix is nothing of ours.
    if "/" in name or "\\" in name or name.startswith(".") or not asset.is_file():
        return PlainTextResponse("Not Found", status_code=404)
    return FileResponse(
        str(asset), headers={"Cache-Control": "public, max-age=31536000, immutable"}
    )


async def _index(request: Request) -> Response:
    index = ASSETS / "index.html"
    if not index.is_file():
        return PlainTextResponse(
            "The web UI is not built into this installation: run `make ui` in the source tree.",
            status_code=404,
        )
    return FileResponse(str(index), headers={"Cache-Control": "no-cache"})


# What each RPC needs, from its policy option: a write token (`write`) and a permission on
# the experiment it touches. The UI asks this of the calls behind its buttons.
_NEEDS = {
    method.name: {"write": not is_read(method), "permission": required_permission(method)}
    for service in SERVICES
    for method in service.methods
}


def _session_of(guard: Guard | None):
    async def session(request: Request) -> Response:
        """The caller: user, token scope, and permissions (their grants by experiment id, and
        the permission on any other experiment), with what each RPC needs."""
        identity = current_identity.get()
        if guard is None or identity is None:
            return JSONResponse({"auth": False})
        grants = {} if identity.is_admin else guard.permissions.grants_of(identity.user)
        return JSONResponse(
            {
                "auth": True,
                "user": identity.user,
                "scope": identity.scope,
                "default_permission": MANAGE if identity.is_admin else guard.default_permission,
                "grants": {str(experiment): name for experiment, name in grants.items()},
                "needs": _NEEDS,
            }
        )

    return session


def is_open(path: str) -> bool:
    """Whether `path` is served without a token (the UI asks for one itself)."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIX)


def web_ui_routes(guard: Guard | None) -> list[Route]:
    """The UI's routes; `guard` decides the caller's permissions (None without --auth)."""
    return [
        Route("/", _index, methods=["GET"]),
        Route("/index.html", _index, methods=["GET"]),
        Route("/ui/session", _session_of(guard), methods=["GET"]),
        Route("/assets/{name:path}", _asset, methods=["GET"]),
    ]
