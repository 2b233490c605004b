"""`trackwire server`: gRPC and MLflow's REST API over one store."""

from __future__ import annotations

import argparse
import errno
import socket

from trackwire.cli.failures import CommandError
from trackwire.cli.stores import add_store_flags, check_artifacts_destination

PERMISSIONS = ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS")
# Server flags of the quotas: (flag, Quotas field).
QUOTA_FLAGS = (
    ("--max-runs-per-experiment", "max_runs_per_experiment"),
    ("--max-params-per-run", "max_params_per_run"),
    ("--max-tags-per-run", "max_tags_per_run"),
    ("--max-metric-steps-per-run", "max_metric_steps_per_run"),
    ("--max-tags-per-experiment", "max_tags_per_experiment"),
)


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1 to 65535")
    return port


def register(commands) -> None:
    server = commands.add_parser("server", help="serve gRPC and MLflow's REST API")
    add_store_flags(server)
    server.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    server.add_argument("--grpc-port", type=port_number, default=50051, help="default: %(default)s")
    server.add_argument(
        "--http-port",
        "--port",
        type=port_number,
        default=5000,
        help="MLflow's REST API and the UI; --port is MLflow's name for it (default: %(default)s)",
    )
    server.add_argument(
        "--fsync-commits",
        action="store_true",
        help="SQLite: sync every commit to disk, so acknowledged writes survive an OS crash or "
        "power loss too (default: WAL with synchronous=NORMAL, which survives a crash of the "
        "server process)",
    )
    security = server.add_argument_group("security")
    security.add_argument(
        "--auth",
        action="store_true",
        help="require access tokens (create them with `trackwire tokens create`)",
    )
    security.add_argument(
        "--auth-default-permission",
        choices=PERMISSIONS,
        default="READ",
        help="permission on experiments a user has no grant for (default: %(default)s)",
    )
    security.add_argument("--tls-cert", help="PEM certificate (chain): both ports speak TLS")
    security.add_argument("--tls-key", help="PEM private key of --tls-cert")
    quotas = server.add_argument_group(
        "quotas", "defaults: the hosted service's (see the README); a write over one is refused"
    )
    for flag, _ in QUOTA_FLAGS:
        quotas.add_argument(flag, type=int)
    server.set_defaults(run=serve)


def serve(args: argparse.Namespace) -> int:
    from trackwire.server.main import ServerSettings, serve
    from trackwire.server.services import AuthSettings
    from trackwire.server.store.quotas import Quotas

    if args.grpc_port == args.http_port:
        raise CommandError(f"--grpc-port and --http-port are both {args.http_port}: use two ports")
    check_artifacts_destination(args.artifacts_destination)
    quota_flags = [(flag, name) for flag, name in QUOTA_FLAGS if getattr(args, name) is not None]
    check_can_listen(args.host, args.grpc_port, "gRPC")
    check_can_listen(args.host, args.http_port, "HTTP")
    serve(
        ServerSettings(
            backend_store_uri=args.backend_store_uri,
            artifacts_destination=args.artifacts_destination,
            host=args.host,
            grpc_port=args.grpc_port,
            http_port=args.http_port,
            auth=AuthSettings(default_permission=args.auth_default_permission)
            if args.auth
            else None,
            quotas=Quotas(**{name: getattr(args, name) for _, name in quota_flags}),
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            fsync_commits=args.fsync_commits,
        )
    )
    return 0


def check_can_listen(host: str, port: int, wire: str) -> None:
    """Fails with one line when `host:port` cannot be bound, before the store is opened and
    the other wire started: a busy port otherwise surfaces as a library's log line."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise CommandError(f"cannot listen for {wire} on {host}:{port}: {e.strerror}") from None
    family, kind, protocol, _, address = addresses[0]
    with socket.socket(family, kind, protocol) as sock:
        # As the servers do: a port whose last connections are in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as e:
            reason = "the port is in use" if e.errno == errno.EADDRINUSE else e.strerror
            raise CommandError(f"cannot listen for {wire} on {host}:{port}: {reason}") from None
