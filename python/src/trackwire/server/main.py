"""Runs one `trackwire server` process: gRPC and the HTTP/JSON gateway over the same services."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from trackwire.server.app import open_services
from trackwire.server.grpc_server import build_grpc_server

log = logging.getLogger("trackwire.server")


@dataclass
class ServerSettings:
    backend_store_uri: str = "sqlite:///trackwire.db"
    artifacts_destination: str = "./trackwire-artifacts"
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_port: int = 5000


def serve(settings: ServerSettings) -> None:
    """Serves until SIGINT or SIGTERM, then drains in-flight calls and exits."""
    services = open_services(settings.backend_store_uri, settings.artifacts_destination)
    grpc_server = build_grpc_server(services, f"{settings.host}:{settings.grpc_port}")
    grpc_server.start()
    banner = (
        f"trackwire server listening on grpc://{settings.host}:{settings.grpc_port} "
        f"and http://{settings.host}:{settings.http_port} "
        f"(store {settings.backend_store_uri}, artifacts {settings.artifacts_destination})"
    )
    try:
        _serve_http(services, settings, banner)
    finally:
        grpc_server.stop(grace=5).wait()
        services.close()
        log.info("trackwire server stopped")


def _serve_http(services, settings: ServerSettings, banner: str) -> None:
    """Runs the gateway in this (main) thread; uvicorn handles SIGINT/SIGTERM."""
    import uvicorn

    from trackwire.server.http_gateway import create_app

    config = uvicorn.Config(
        create_app(services),
        host=settings.host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.01)
        if server.started:
            print(banner, flush=True)

    threading.Thread(target=announce, daemon=True).start()
    server.run()
    if not server.started:
        raise OSError(f"cannot listen for HTTP on {settings.host}:{settings.http_port}")
