#!/usr/bin/env bash
# Builds this project against the installed io.trackwire coordinates, logs a run with it to a
# fresh server, and reads the run back with Python's generated gRPC stubs.
# Usage: check.sh MVN VENV VERSION   (run by `make test-jvm-consumer`)
set -euo pipefail
mvn=$1 venv=$2 version=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# io.trackwire is on no remote repository: it can only come from install-jvm's local one.
rm -rf "$here/target"
"$mvn" -B -q -ntp -f "$here/pom.xml" -Dtrackwire.version="$version" compile

# Two distinct free ports from the test harnesses' helper.
{ read -r grpc_port; read -r http_port; } < <("$venv/bin/python" "$here/../../python/tests/ports.py" 2)
"$venv/bin/trackwire" server --backend-store-uri "sqlite:///$work/store.db" \
  --artifacts-destination "$work/artifacts" --host 127.0.0.1 \
  --grpc-port "$grpc_port" --http-port "$http_port" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do
  grep -q "trackwire server listening" "$work/server.log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done

run_id=$(TRACKWIRE_TRACKING_URI="grpc://127.0.0.1:$grpc_port" \
  java -cp "$here/target/classes:$(cat "$here/target/classpath.txt")" com.example.consumer.LogRun jvm-consumer)

"$venv/bin/python" - "$grpc_port" "$run_id" <<'PY'
import sys

import grpc

from trackwire.v1 import artifact_service_pb2 as art, artifact_service_pb2_grpc as art_grpc
from trackwire.v1 import entities_pb2 as ent
from trackwire.v1 import tracking_service_pb2 as ts, tracking_service_pb2_grpc as ts_grpc

port, run_id = sys.argv[1], sys.argv[2]
with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
    run = ts_grpc.TrackingServiceStub(channel).GetRun(ts.GetRunRequest(run_id=run_id)).run
    history = ts_grpc.TrackingServiceStub(channel).GetMetricHistory(
        ts.GetMetricHistoryRequest(run_id=run_id, metric_key="loss")).metrics
    files = art_grpc.ArtifactServiceStub(channel).ListArtifacts(
        art.ListArtifactsRequest(run_id=run_id, path="reports")).files
checks = {
    "status FINISHED": run.info.status == ent.RUN_STATUS_FINISHED,
    "param optimizer=adam": {p.key: p.value for p in run.data.params} == {"optimizer": "adam"},
    "tag source=jvm-consumer": {t.key: t.value for t in run.data.tags}.get("source") == "jvm-consumer",
    "loss history of 3 steps": [m.step for m in history] == [0, 1, 2],
    "one report artifact": len(files) == 1 and files[0].path.startswith("reports/"),
}
failed = [name for name, ok in checks.items() if not ok]
print(f"jvm-consumer: {len(checks) - len(failed)} passed, {len(failed)} failed")
if failed:
    sys.exit(f"run {run_id} as read back by Python: failed {failed}\n{run}")
PY
