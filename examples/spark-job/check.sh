#!/usr/bin/env bash
# Builds the Spark job against the installed io.trackwire coordinates and Spark from Maven
# Central, runs it on local[2] against a fresh server over http://, and reads the run back with
# Python's generated gRPC stubs.
# Usage: check.sh MVN VENV VERSION   (run by `make test-spark-job`)
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

# What spark-submit passes to a Java 17 driver (Spark's JavaModuleOptions).
jvm_options=(-XX:+IgnoreUnrecognizedVMOptions -Djdk.reflect.useDirectMethodHandle=false
  -Dio.netty.tryReflectionSetAccessible=true)
for package in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util \
    java.util.concurrent java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs \
    sun.security.action sun.util.calendar; do
  jvm_options+=("--add-opens=java.base/$package=ALL-UNNAMED")
done
run_id=$(env -u MLFLOW_TRACKING_URI TRACKWIRE_TRACKING_URI="http://127.0.0.1:$http_port" \
  java "${jvm_options[@]}" -Dspark.master='local[2]' -Dspark.ui.enabled=false \
  -cp "$here/target/classes:$(cat "$here/target/classpath.txt")" com.example.spark.TrainingJob spark-job \
  2> "$work/spark.log") || { tail -50 "$work/spark.log"; exit 1; }

"$venv/bin/python" - "$grpc_port" "$run_id" <<'PY'
import sys

import grpc

from trackwire.v1 import entities_pb2 as ent
from trackwire.v1 import tracking_service_pb2 as ts, tracking_service_pb2_grpc as ts_grpc

port, run_id = sys.argv[1], sys.argv[2].strip().splitlines()[-1]
with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
    stub = ts_grpc.TrackingServiceStub(channel)
    run = stub.GetRun(ts.GetRunRequest(run_id=run_id)).run
    history = stub.GetMetricHistory(
        ts.GetMetricHistoryRequest(run_id=run_id, metric_key="bucket_mean")).metrics
checks = {
    "status FINISHED": run.info.status == ent.RUN_STATUS_FINISHED,
    "param spark.master=local[2]": {p.key: p.value for p in run.data.params}.get("spark.master") == "local[2]",
    "rows = 10000": {m.key: m.value for m in run.data.metrics}.get("rows") == 10000,
    "a mean per bucket": [(m.step, m.value) for m in history] == [(b, 4998.0 + b) for b in range(4)],
}
failed = [name for name, ok in checks.items() if not ok]
print(f"spark-job: {len(checks) - len(failed)} passed, {len(failed)} failed")
if failed:
    sys.exit(f"run {run_id} as read back by Python: failed {failed}\n{run}")
PY
