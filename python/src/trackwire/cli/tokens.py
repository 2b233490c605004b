"""`trackwire tokens`: access tokens, kept (hashed) in the backend store."""

from __future__ import annotations

import argparse

from trackwire.cli.output import print_table, say, short_time
from trackwire.cli.stores import add_store_flags, require_existing_store


def register(commands) -> None:
    tokens = commands.add_parser("tokens", help="create, list and revoke access tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--user", required=True, help="the user the token authenticates")
    create.add_argument("--scope", choices=("read", "write", "admin"), default="write")
    create.set_defaults(run=create_token)
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    revoke.set_defaults(run=revoke_token)
    listing = token_commands.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.set_defaults(run=list_tokens)
    for command in (create, revoke, listing):
        add_store_flags(command, artifacts=False)


def _token_store(uri: str):
    from trackwire.server.auth.tokens import TokenStore
    from trackwire.server.store.database import Database
    from trackwire.server.store.engine import create_store_engine, upgrade_schema

    require_existing_store(uri)
    engine = create_store_engine(uri)
    upgrade_schema(engine)
    return TokenStore(Database(engine))


def create_token(args: argparse.Namespace) -> int:
    token_id, token = _token_store(args.backend_store_uri).create(args.user, args.scope)
    say(f"token id {token_id} for user {args.user!r}, scope {args.scope}")
    say("store the token now: it is not shown again")
    print(token)
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    _token_store(args.backend_store_uri).revoke(args.token_id)
    print(f"revoked token {args.token_id} (servers refuse it within seconds)")
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    print_table(
        ("ID", "USER", "SCOPE", "CREATED", "REVOKED"),
        (
            (t.token_id, t.user, t.scope, short_time(t.created_time), short_time(t.revoked_time))
            for t in _token_store(args.backend_store_uri).list()
        ),
    )
    return 0
