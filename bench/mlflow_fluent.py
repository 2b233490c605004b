"""MLflow's fluent log_metric loop; run by .venv-mlflow's python. Prints one JSON line."""

import json
import sys
import time

import mlflow
from mlflow.tracking import MlflowClient

uri, calls = sys.argv[1], int(sys.argv[2])
mlflow.set_tracking_uri(uri)
mlflow.set_experiment("fluent")
with mlflow.start_run() as run:
    t0 = time.perf_counter()
    for step in range(calls):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    loop = time.perf_counter() - t0
total = time.perf_counter() - t0
points = len(MlflowClient(uri).get_metric_history(run.info.run_id, "loss"))
print(
    json.dumps(
        {
            "fluent_calls": calls,
            "fluent_calls_per_s": calls / loop,
            "fluent_until_end_run_s": total,
            "fluent_points_on_server": points,
        }
    )
)
