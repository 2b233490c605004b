"""An MLflow-tutorial-style training script, run twice by test_drop_in.py: once as it is
(`import mlflow`, against trackwire's REST gateway) and once with `import trackwire as mlflow`
(over gRPC). Usage: tutorial_training.py EXPERIMENT_NAME mlflow|trackwire
"""

import sys

import numpy as np
import pandas as pd

experiment_name, flavour = sys.argv[1], sys.argv[2]
if flavour == "trackwire":
    import trackwire as mlflow
else:
    import mlflow

mlflow.set_experiment(experiment_name)
params = {"learning_rate": 0.01, "epochs": 20, "optimizer": "adam"}

with mlflow.start_run(run_name="baseline", description="tutorial baseline") as run:
    mlflow.log_params(params)
    mlflow.set_tag("stage", "dev")
    mlflow.set_tags({"team": "vision", "dataset": "synthetic"})
    rng = np.random.default_rng(7)
    for epoch in range(params["epochs"]):
        loss = 1.0 / (epoch + 1) + float(rng.random()) / 100
        mlflow.log_metric(
            "train_loss", round(loss, 6), step=epoch, timestamp=1_700_000_000_000 + epoch
        )
        mlflow.log_metrics(
            {"val_loss": round(loss * 1.1, 6), "val_accuracy": round(1 - loss / 2, 6)},
            step=epoch,
            timestamp=1_700_000_000_000 + epoch,
        )
    mlflow.log_param("best_epoch", params["epochs"] - 1)
    mlflow.log_dict({"layers": [64, 32], "activation": "relu"}, "config/model.json")
    mlflow.log_text("tutorial notes\n", "notes.txt")
    mlflow.log_table(pd.DataFrame({"label": ["a", "b"], "score": [0.9, 0.7]}), "eval/table.json")
    with mlflow.start_run(run_name="child", nested=True):
        mlflow.log_metric("child_metric", 3.0, step=0, timestamp=1_700_000_000_000)
    mlflow.delete_tag("stage")
    parent = mlflow.get_run(run.info.run_id)
    assert parent.data.params["learning_rate"] == "0.01"
    assert parent.info.status == "RUNNING"

finished = mlflow.get_run(run.info.run_id)
assert finished.info.status == "FINISHED", finished.info.status
history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "train_loss")
assert [m.step for m in history] == list(range(params["epochs"]))
frame = mlflow.search_runs(
    experiment_names=[experiment_name], filter_string="params.optimizer = 'adam'"
)
assert list(frame["run_id"]) == [run.info.run_id]
assert mlflow.get_experiment_by_name(experiment_name + "-missing") is None
assert mlflow.last_active_run().info.run_id == run.info.run_id
print(run.info.run_id)
