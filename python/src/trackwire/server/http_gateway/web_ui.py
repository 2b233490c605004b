"""The web UI's static files, served at `/` from the assets built into the package.

`index.html` is never cached (it names the current bundle); the bundle's files carry a content
hash in their names and are cached for a year. `/ui/session` tells the UI who its token
belongs to, so it can show what the caller may not do as disabled.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from trackwire.server.auth.identity import current_identity

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


async def _session(request: Request) -> Response:
    identity = current_identity.get()
    if identity is None:
        return JSONResponse({"auth": False})
    return JSONResponse({"auth": True, "user": identity.user, "scope": identity.scope})


def is_open(path: str) -> bool:
    """Whether `path` is served without a token (the UI asks for one itself)."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIX)


def web_ui_routes() -> list[Route]:
    return [
        Route("/", _index, methods=["GET"]),
        Route("/index.html", _index, methods=["GET"]),
        Route("/ui/session", _session, methods=["GET"]),
        Route("/assets/{name:path}", _asset, methods=["GET"]),
    ]
