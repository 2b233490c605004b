"""One private PostgreSQL cluster for a benchmark run: fsync on, one database per server.

The cluster comes from tools/postgres.sh (a free port, a data dir of the run's own); every
server of the run, MLflow's and trackwire's, gets a database of its own in it, so both see the
same settings and the same durability.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
from servers import ROOT

SCRIPT = ROOT / "tools" / "postgres.sh"


class Cluster:
    def __init__(self, directory: Path):
        self.directory = directory
        self.uri = subprocess.run(
            [str(SCRIPT), "start", str(directory)],
            env={**os.environ, "PG_FSYNC": "on"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def database(self, name: str) -> str:
        """A new, empty database; returns its URI."""
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.uri.rsplit("/", 1)[0] + "/" + name

    def analyze(self) -> None:
        """ANALYZE in every database: what autovacuum does within its minute's nap. A store
        seeded in seconds would otherwise be searched with the statistics of its empty
        tables (nested index scans of every param row per run: 1 s where 50 ms is right)."""
        with psycopg.connect(self.uri, autocommit=True) as conn:
            names = conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate"
            ).fetchall()
        for (name,) in names:
            with psycopg.connect(self.uri.rsplit("/", 1)[0] + "/" + name, autocommit=True) as db:
                db.execute("ANALYZE")

    def size_bytes(self, name: str) -> int:
        with psycopg.connect(self.uri) as conn:
            return conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()[0]

    def durability(self) -> str:
        names = ("fsync", "synchronous_commit", "wal_sync_method", "full_page_writes")
        with psycopg.connect(self.uri) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            shown = [f"{n}={conn.execute(f'SHOW {n}').fetchone()[0]}" for n in names]
            buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
        return (
            f"PostgreSQL {version}, {', '.join(shown)}, shared_buffers={buffers} "
            "(one cluster for every server; a commit survives power loss)"
        )

    def explain(self, name: str, sql: str) -> str:
        """EXPLAIN (ANALYZE, BUFFERS) of one statement in database `name`."""
        uri = self.uri.rsplit("/", 1)[0] + "/" + name
        with psycopg.connect(uri) as conn:
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql).fetchall()
        return "\n".join(r[0] for r in rows)

    def stop(self) -> None:
        subprocess.run([str(SCRIPT), "stop", str(self.directory)], check=False)
