#!/usr/bin/env bash
# Builds this project against the installed io.trackwire coordinates, logs a run with it to a
# fresh server three times (Java over grpc://, Java over http:// named by MLflow's variable, Scala
# over http://), and reads the runs back with Python's generated gRPC stubs.
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

classpath="$here/target/classes:$(cat "$here/target/classpath.txt")"
grpc_run=$(env -u MLFLOW_TRACKING_URI TRACKWIRE_TRACKING_URI="grpc://127.0.0.1:$grpc_port" \
  java -cp "$classpath" com.example.consumer.LogRun jvm-consumer)
http_run=$(env -u TRACKWIRE_TRACKING_URI MLFLOW_TRACKING_URI="http://127.0.0.1:$http_port" \
  java -cp "$classpath" com.example.consumer.LogRun jvm-consumer)
scala_run=$(env -u MLFLOW_TRACKING_URI TRACKWIRE_TRACKING_URI="http://127.0.0.1:$http_port" \
  java -cp "$classpath" com.example.consumer.LogRunScala jvm-consumer)

"$venv/bin/python" - "$grpc_port" "$grpc_run" "$http_run" "$scala_run" <<'PY'
import sys

import grpc

from trackwire.v1 import artifact_service_pb2 as art, artifact_service_pb2_grpc as art_grpc
from trackwire.v1 import entities_pb2 as ent
from trackwire.v1 import tracking_service_pb2 as ts, tracking_service_pb2_grpc as ts_grpc

port, run_ids = sys.argv[1], dict(zip(["java grpc", "java http", "scala http"], sys.argv[2:]))
checks = {}
experiments = set()
with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
    for client, run_id in run_ids.items():
        run = ts_grpc.TrackingServiceStub(channel).GetRun(ts.GetRunRequest(run_id=run_id)).run
        history = ts_grpc.TrackingServiceStub(channel).GetMetricHistory(
            ts.GetMetricHistoryRequest(run_id=run_id, metric_key="loss")).metrics
        files = art_grpc.ArtifactServiceStub(channel).ListArtifacts(
            art.ListArtifactsRequest(run_id=run_id, path="reports")).files
        experiments.add(run.info.experiment_id)
        tags = {t.key: t.value for t in run.data.tags}
        checks.update({
            f"{client}: status FINISHED": run.info.status == ent.RUN_STATUS_FINISHED,
            f"{client}: param optimizer=adam": {p.key: p.value for p in run.data.params} == {"optimizer": "adam"},
            f"{client}: tag source=jvm-consumer": tags.get("source") == "jvm-consumer",
            f"{client}: loss history of 3 steps": [m.step for m in history] == [0, 1, 2],
            f"{client}: one report artifact": len(files) == 1 and files[0].path.startswith("reports/"),
        })
checks["one experiment, got or created"] = len(experiments) == 1
failed = [name for name, ok in checks.items() if not ok]
print(f"jvm-consumer: {len(checks) - len(failed)} passed, {len(failed)} failed")
if failed:
    sys.exit(f"runs {run_ids} as read back by Python: failed {failed}")
PY
