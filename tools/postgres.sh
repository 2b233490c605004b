#!/usr/bin/env bash
# A private PostgreSQL cluster for tests (no system files touched).
# Usage: tools/postgres.sh install|start|stop DIR [PORT]
# `start` prints the cluster's URI; without PORT it listens on a free port chosen now (a
# cluster already running in DIR keeps its port). fsync is off (tests); PG_FSYNC=on for benchmarks.
set -euo pipefail
action=$1 dir=${2:-} port=${3:-}
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
as_postgres() { su postgres -s /bin/sh -c "$1"; }

case "$action" in
  install)
    if [ -z "$pgbin" ]; then
      apt-get update -q
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
    fi ;;
  start)
    mkdir -p "$dir" && dir=$(cd "$dir" && pwd) && chown postgres:postgres "$dir"
    # postgres must be able to traverse every parent directory of the data dir.
    d=$dir; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
    [ -d "$dir/data" ] || as_postgres "$pgbin/initdb -D $dir/data -U postgres -A trust -E UTF8 --no-sync >/dev/null"
    if as_postgres "$pgbin/pg_ctl -D $dir/data status >/dev/null"; then
      port=$(sed -n 4p "$dir/data/postmaster.pid")  # the running cluster's port
    else
      [ -n "$port" ] || port=$(python3 "$(dirname "$0")/../python/tests/ports.py")
      as_postgres "$pgbin/pg_ctl -D $dir/data -l $dir/log -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${PG_FSYNC:-off}\" start >/dev/null"
    fi
    echo "postgresql://postgres@127.0.0.1:$port/postgres" ;;
  stop)
    as_postgres "$pgbin/pg_ctl -D $dir/data -m fast -w stop >/dev/null" || true ;;
  *) echo "usage: $0 install|start|stop DIR [PORT]" >&2; exit 2 ;;
esac
