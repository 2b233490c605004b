"""The `trackwire` command line."""

from __future__ import annotations

import argparse
import logging
import sys


def _server(args: argparse.Namespace) -> int:
    from trackwire.server.main import ServerSettings, serve

    serve(
        ServerSettings(
            backend_store_uri=args.backend_store_uri,
            artifacts_destination=args.artifacts_destination,
            host=args.host,
            grpc_port=args.grpc_port,
            http_port=args.http_port,
        )
    )
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from trackwire.server.store.engine import create_store_engine, upgrade_schema

    upgrade_schema(create_store_engine(args.uri))
    print(f"schema of {args.uri} is up to date")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trackwire", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    server = commands.add_parser("server", help="serve gRPC and MLflow's REST API")
    server.add_argument(
        "--backend-store-uri",
        default="sqlite:///trackwire.db",
        help="sqlite:///path or postgresql://... (default: %(default)s)",
    )
    server.add_argument(
        "--artifacts-destination",
        default="./trackwire-artifacts",
        help="directory for artifacts (default: %(default)s)",
    )
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    server.add_argument("--grpc-port", type=int, default=50051, help="default: %(default)s")
    server.add_argument("--http-port", type=int, default=5000, help="default: %(default)s")
    server.set_defaults(run=_server)

    db = commands.add_parser("db", help="manage the backend store")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade the schema in place")
    upgrade.add_argument("uri", help="backend store URI")
    upgrade.set_defaults(run=_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        from trackwire.errors import TrackwireError
        from trackwire.server.store.engine import SchemaTooNew

        if isinstance(exc, TrackwireError | SchemaTooNew | OSError):
            print(f"trackwire: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
