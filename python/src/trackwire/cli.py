"""The `trackwire` command line."""

from __future__ import annotations

import argparse
import logging
import sys

from trackwire.export.command import add_export_command

DEFAULT_BACKEND_STORE_URI = "sqlite:///trackwire.db"
DEFAULT_ARTIFACTS_DESTINATION = "./trackwire-artifacts"
PERMISSIONS = ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS")
# Server flags of the quotas: (flag, Quotas field).
QUOTA_FLAGS = (
    ("--max-runs-per-experiment", "max_runs_per_experiment"),
    ("--max-params-per-run", "max_params_per_run"),
    ("--max-tags-per-run", "max_tags_per_run"),
    ("--max-metric-steps-per-run", "max_metric_steps_per_run"),
    ("--max-tags-per-experiment", "max_tags_per_experiment"),
)


def _server(args: argparse.Namespace) -> int:
    from trackwire.server.main import ServerSettings, serve
    from trackwire.server.services import AuthSettings
    from trackwire.server.store.quotas import Quotas

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
            quotas=Quotas(**{name: getattr(args, name) for _, name in QUOTA_FLAGS}),
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            fsync_commits=args.fsync_commits,
        )
    )
    return 0


def _token_store(uri: str):
    from trackwire.server.auth.tokens import TokenStore
    from trackwire.server.store.database import Database
    from trackwire.server.store.engine import create_store_engine, upgrade_schema

    engine = create_store_engine(uri)
    upgrade_schema(engine)
    return TokenStore(Database(engine))


def _tokens_create(args: argparse.Namespace) -> int:
    token_id, token = _token_store(args.backend_store_uri).create(args.user, args.scope)
    print(f"token id {token_id} for user {args.user!r}, scope {args.scope}", file=sys.stderr)
    print("store the token now: it is not shown again", file=sys.stderr)
    print(token)
    return 0


def _tokens_revoke(args: argparse.Namespace) -> int:
    _token_store(args.backend_store_uri).revoke(args.token_id)
    print(f"revoked token {args.token_id} (servers refuse it within seconds)")
    return 0


def _tokens_list(args: argparse.Namespace) -> int:
    print(f"{'ID':<18} {'USER':<24} {'SCOPE':<6} {'CREATED':<20} REVOKED")
    for token in _token_store(args.backend_store_uri).list():
        print(
            f"{token.token_id:<18} {token.user:<24} {token.scope:<6} "
            f"{_time(token.created_time):<20} {_time(token.revoked_time) or '-'}"
        )
    return 0


def _time(millis: int | None) -> str:
    import datetime

    if millis is None:
        return ""
    return datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


def _gc(args: argparse.Namespace) -> int:
    from trackwire.server.garbage_collection import collect_garbage, parse_age

    older_than = parse_age(args.older_than) if args.older_than else 0
    report = collect_garbage(args.backend_store_uri, args.artifacts_destination, older_than)
    print(f"purged {report.runs} runs and {report.experiments} experiments")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from pathlib import Path

    from trackwire.client import spool

    directory = Path(args.spool_dir) if args.spool_dir else spool.spool_dir()
    synced = spool.sync(directory, args.tracking_uri)
    for spooled, remote in synced:
        print(f"uploaded spooled run {spooled} as run {remote}")
    print(f"{len(synced)} spooled run(s) uploaded from {directory}")
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
    _store_flags(server)
    server.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    server.add_argument("--grpc-port", type=int, default=50051, help="default: %(default)s")
    server.add_argument("--http-port", type=int, default=5000, help="default: %(default)s")
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
    quotas = server.add_argument_group("quotas")
    from trackwire.server.store.quotas import Quotas

    for flag, name in QUOTA_FLAGS:
        quotas.add_argument(
            flag, type=int, default=getattr(Quotas, name), help="default: %(default)s"
        )
    server.set_defaults(run=_server)

    tokens = commands.add_parser("tokens", help="create, list and revoke access tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--user", required=True, help="the user the token authenticates")
    create.add_argument("--scope", choices=("read", "write", "admin"), default="write")
    create.set_defaults(run=_tokens_create)
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    revoke.set_defaults(run=_tokens_revoke)
    listing = token_commands.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.set_defaults(run=_tokens_list)
    for command in (create, revoke, listing):
        _store_flags(command, artifacts=False)

    gc = commands.add_parser("gc", help="purge deleted runs and experiments, artifacts included")
    gc.add_argument(
        "--older-than",
        help="only those deleted at least this long ago, e.g. 30d, 12h, 1d6h (default: all)",
    )
    _store_flags(gc)
    gc.set_defaults(run=_gc)

    sync = commands.add_parser("sync", help="upload the runs logged offline to the spool")
    sync.add_argument(
        "--spool-dir", help="the spool (default: $TRACKWIRE_SPOOL_DIR or ~/.trackwire/spool)"
    )
    sync.add_argument(
        "--tracking-uri", help="upload here instead of the server each run was logged for"
    )
    sync.set_defaults(run=_sync)

    db = commands.add_parser("db", help="manage the backend store")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade the schema in place")
    upgrade.add_argument("uri", help="backend store URI")
    upgrade.set_defaults(run=_db_upgrade)

    add_export_command(commands)
    return parser


def _store_flags(parser: argparse.ArgumentParser, artifacts: bool = True) -> None:
    parser.add_argument(
        "--backend-store-uri",
        default=DEFAULT_BACKEND_STORE_URI,
        help="sqlite:///path or postgresql://... (default: %(default)s)",
    )
    if artifacts:
        parser.add_argument(
            "--artifacts-destination",
            default=DEFAULT_ARTIFACTS_DESTINATION,
            help="directory or s3://bucket/prefix for artifacts (default: %(default)s)",
        )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per migration is noise
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
