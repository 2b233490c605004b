"""MLflow 3's logged models through the official client: log_model / load_model for
scikit-learn and pyfunc, autologging, search_logged_models and last_logged_model."""

from __future__ import annotations

import uuid

import mlflow
import numpy as np
import pytest
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LinearRegression

X = np.array([[0.0], [1.0], [2.0], [3.0]])
Y = np.array([1.0, 3.0, 5.0, 7.0])


@pytest.fixture
def experiment_id() -> str:
    experiment_id = mlflow.create_experiment(f"models-{uuid.uuid4().hex[:8]}")
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n: int):
        self.n = n

    def predict(self, context, model_input, params=None):
        return [x + self.n for x in model_input]


def test_sklearn_log_model_and_load_by_run_and_model_uri(experiment_id):
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(LinearRegression().fit(X, Y), name="model")
    model = MlflowClient().get_logged_model(info.model_id)
    assert model.status == LoggedModelStatus.READY
    assert model.source_run_id == run.info.run_id
    assert model.experiment_id == experiment_id
    assert model.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    for uri in (f"runs:/{run.info.run_id}/model", f"models:/{info.model_id}"):
        loaded = mlflow.sklearn.load_model(uri)
        assert loaded.predict([[10.0]])[0] == pytest.approx(21.0)


def test_pyfunc_log_model_and_load(experiment_id):
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="adder", python_model=AddN(5))
    assert mlflow.last_logged_model().model_id == info.model_id
    loaded = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
    assert list(loaded.predict([1, 2])) == [6, 7]


def test_autolog_records_metrics_params_and_model(experiment_id):
    mlflow.sklearn.autolog()
    try:
        with mlflow.start_run() as run:
            LinearRegression().fit(X, Y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    finished = MlflowClient().get_run(run.info.run_id)
    assert finished.info.status == "FINISHED"
    assert "training_score" in finished.data.metrics
    assert finished.data.params["fit_intercept"] == "True"
    models = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        output_format="list",
    )
    assert len(models) == 1
    assert mlflow.sklearn.load_model(f"models:/{models[0].model_id}").predict([[1.0]])[0] == (
        pytest.approx(3.0)
    )


def test_search_logged_models_filters_orders_and_pages(experiment_id):
    client = MlflowClient()
    ids = []
    for i, alpha in enumerate(["0.1", "0.2", "0.3"]):
        model = mlflow.initialize_logged_model(name=f"m{i}", params={"alpha": alpha})
        client.set_logged_model_tags(model.model_id, {"team": "a" if i < 2 else "b"})
        with mlflow.start_run():
            mlflow.log_metric("rmse", 1.0 - i / 10, model_id=model.model_id)
        ids.append(model.model_id)

    found = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string="tags.team = 'a' AND params.alpha != '0.1'",
        output_format="list",
    )
    assert [m.model_id for m in found] == [ids[1]]
    by_rmse = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        order_by=[{"field_name": "metrics.rmse", "ascending": True}],
        output_format="list",
    )
    assert [m.model_id for m in by_rmse] == list(reversed(ids))
    assert by_rmse[0].metrics[0].value == pytest.approx(0.8)

    first = client.search_logged_models(experiment_ids=[experiment_id], max_results=2)
    second = client.search_logged_models(
        experiment_ids=[experiment_id], max_results=2, page_token=first.token
    )
    assert len(first) == 2 and len(second) == 1 and not second.token
    assert {m.model_id for m in [*first, *second]} == set(ids)

    client.delete_logged_model_tag(ids[2], "team")
    assert "team" not in client.get_logged_model(ids[2]).tags
    client.delete_logged_model(ids[0])
    with pytest.raises(MlflowException) as error:
        client.get_logged_model(ids[0])
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_run_outputs_link_the_model(experiment_id):
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(LinearRegression().fit(X, Y), name="model")
    outputs = MlflowClient().get_run(run.info.run_id).outputs
    assert [o.model_id for o in outputs.model_outputs] == [info.model_id]
