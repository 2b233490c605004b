"""Runs one `trackwire server` process: gRPC and the HTTP/JSON gateway over the same services."""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from sqlalchemy.engine import make_url

from trackwire.server import memory
from trackwire.server.grpc_server import GrpcServer
from trackwire.server.http_gateway import create_app
from trackwire.server.services import AuthSettings, open_services
from trackwire.server.store.quotas import Quotas

log = logging.getLogger("trackwire.server")


@dataclass
class ServerSettings:
    backend_store_uri: str = "sqlite:///trackwire.db"
    artifacts_destination: str = "./trackwire-artifacts"
    host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_port: int = 5000
    # None: no authentication (the single-user default).
    auth: AuthSettings | None = None
    quotas: Quotas = field(default_factory=Quotas)
    # PEM files; both ports speak TLS when set.
    tls_cert: str | None = None
    tls_key: str | None = None
    # SQLite: sync every commit to disk (survives power loss, slower).
    fsync_commits: bool = False


class _GatewayServer(uvicorn.Server):
    """Uvicorn re-raises SIGTERM once it has shut down, which would kill the process
    before gRPC drains; here a signal only asks the gateway to exit."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def serve(settings: ServerSettings) -> None:
    """Serves until SIGINT or SIGTERM, then drains in-flight calls and exits."""
    tls = _read_tls(settings)
    services = open_services(
        settings.backend_store_uri,
        settings.artifacts_destination,
        quotas=settings.quotas,
        auth=settings.auth,
        fsync_commits=settings.fsync_commits,
    )
    grpc_server = GrpcServer(services, f"{settings.host}:{settings.grpc_port}", tls=tls)
    # Requests make many short-lived objects (rows, messages) and few reference cycles: with
    # Python's default thresholds, gen-0 collections cost a fifth of a page of runs. What
    # start-up loaded is moved out of the collector's sight for good.
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)
    memory.return_large_blocks_to_the_system()
    grpc_server.start()
    gateway = _GatewayServer(
        uvicorn.Config(
            create_app(services),
            host=settings.host,
            port=settings.http_port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            ssl_certfile=settings.tls_cert,
            ssl_keyfile=settings.tls_key,
        )
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, gateway.handle_exit)
    secure = "s" if tls else ""
    banner = (
        f"trackwire server listening on grpc{secure}://{settings.host}:{settings.grpc_port} "
        f"and http{secure}://{settings.host}:{settings.http_port} "
        f"(store {_printable(settings.backend_store_uri)}, "
        f"artifacts {settings.artifacts_destination}, "
        f"durability: {_durability(settings)})"
    )
    threading.Thread(target=_announce, args=(gateway, banner), daemon=True).start()
    try:
        gateway.run()  # the main thread serves HTTP until a signal arrives
        if not gateway.started:
            raise OSError(f"cannot listen for HTTP on {settings.host}:{settings.http_port}")
    finally:
        grpc_server.stop(grace=5)
        services.close()
        log.info("trackwire server stopped")


def _read_tls(settings: ServerSettings) -> tuple[bytes, bytes] | None:
    """(key, certificate chain) as PEM bytes, read once for gRPC (uvicorn reads the files)."""
    if not settings.tls_cert and not settings.tls_key:
        return None
    if not (settings.tls_cert and settings.tls_key):
        raise OSError("TLS needs both --tls-cert and --tls-key")
    return Path(settings.tls_key).read_bytes(), Path(settings.tls_cert).read_bytes()


def _durability(settings: ServerSettings) -> str:
    """What an acknowledged write survives, said plainly at start-up."""
    if not settings.backend_store_uri.startswith("sqlite:"):
        return "as configured in the database (synchronous_commit)"
    if settings.fsync_commits:
        return "fsync per commit: survives power loss"
    return "WAL, synchronous=NORMAL: survives a server crash, not a power loss"


def _announce(gateway: uvicorn.Server, banner: str) -> None:
    while not gateway.started and not gateway.should_exit:
        time.sleep(0.01)
    if gateway.started:
        print(banner, flush=True)


def _printable(store_uri: str) -> str:
    """The store URI with its password hidden: the banner goes to logs."""
    return make_url(store_uri).render_as_string(hide_password=True)
