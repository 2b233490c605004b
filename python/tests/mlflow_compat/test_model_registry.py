"""The official mlflow client's model registry calls against trackwire's HTTP gateway."""

from __future__ import annotations

import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client() -> MlflowClient:
    return MlflowClient()


@pytest.fixture
def run_id(client) -> str:
    experiment_id = client.create_experiment(unique("registry"))
    return client.create_run(experiment_id).info.run_id


def test_registered_model_lifecycle(client):
    name = unique("model")
    created = client.create_registered_model(name, tags={"team": "ml"}, description="first")
    assert created.name == name
    assert created.description == "first"
    assert created.tags == {"team": "ml"}
    assert created.creation_timestamp > 0

    client.update_registered_model(name, description="second")
    client.set_registered_model_tag(name, "stage", "dev")
    client.delete_registered_model_tag(name, "team")
    fetched = client.get_registered_model(name)
    assert fetched.description == "second"
    assert fetched.tags == {"stage": "dev"}

    client.rename_registered_model(name, name + "-renamed")
    assert client.get_registered_model(name + "-renamed").tags == {"stage": "dev"}
    with pytest.raises(MlflowException) as missing:
        client.get_registered_model(name)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.delete_registered_model(name + "-renamed")
    with pytest.raises(MlflowException):
        client.get_registered_model(name + "-renamed")


def test_duplicate_registered_model_is_refused(client):
    name = unique("model")
    client.create_registered_model(name)
    with pytest.raises(MlflowException) as duplicate:
        client.create_registered_model(name)
    assert duplicate.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_versions_stages_and_latest(client, run_id):
    name = unique("model")
    client.create_registered_model(name)
    first = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    second = client.create_model_version(
        name, f"runs:/{run_id}/model", run_id=run_id, tags={"k": "v"}, description="two"
    )
    assert (first.version, second.version) == ("1", "2")
    assert first.current_stage == "None"
    assert first.status == "READY"
    assert second.tags == {"k": "v"}

    client.transition_model_version_stage(name, "1", "Production")
    moved = client.transition_model_version_stage(
        name, "2", "production", archive_existing_versions=True
    )
    assert moved.current_stage == "Production"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    latest = client.get_latest_versions(name, stages=["Production"])
    assert [v.version for v in latest] == ["2"]

    client.update_model_version(name, "1", description="old")
    client.set_model_version_tag(name, "1", "quality", "low")
    fetched = client.get_model_version(name, "1")
    assert fetched.description == "old"
    assert fetched.tags == {"quality": "low"}
    client.delete_model_version_tag(name, "1", "quality")
    assert client.get_model_version(name, "1").tags == {}

    uri = client.get_model_version_download_uri(name, "2")
    assert uri.endswith(f"{run_id}/artifacts/model")

    client.delete_model_version(name, "2")
    third = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    assert third.version == "3"  # a deleted version's number is not reused


def test_aliases(client, run_id):
    name = unique("model")
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    assert client.get_model_version(name, "2").aliases == ["champion"]
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException) as missing:
        client.get_model_version_by_alias(name, "champion")
    # MLflow's own server answers an alias that names no version so (test_mlflow_validation).
    assert missing.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_with_filter_and_pages(client, run_id):
    prefix = unique("searched")
    for i in range(5):
        client.create_registered_model(f"{prefix}-{i}", tags={"parity": str(i % 2)})
        client.create_model_version(f"{prefix}-{i}", f"runs:/{run_id}/model", run_id=run_id)

    first = client.search_registered_models(f"name LIKE '{prefix}-%'", max_results=2)
    assert [m.name for m in first] == [f"{prefix}-0", f"{prefix}-1"]
    assert first.token
    second = client.search_registered_models(
        f"name LIKE '{prefix}-%'", max_results=2, page_token=first.token
    )
    assert [m.name for m in second] == [f"{prefix}-2", f"{prefix}-3"]

    even = client.search_registered_models(
        f"name LIKE '{prefix}-%' AND tags.parity = '0'", order_by=["name DESC"]
    )
    assert [m.name for m in even] == [f"{prefix}-4", f"{prefix}-2", f"{prefix}-0"]

    versions = client.search_model_versions(f"name = '{prefix}-3'")
    assert [(v.name, v.version) for v in versions] == [(f"{prefix}-3", "1")]
    by_run = client.search_model_versions(f"run_id = '{run_id}'")
    assert len(by_run) == 5

    with pytest.raises(MlflowException) as bad:
        client.search_registered_models("metrics.acc > 1")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"


def _write_pyfunc_model(directory: Path) -> None:
    """A pyfunc model directory by hand: an MLmodel file and a loader module that doubles."""
    code = directory / "code"
    code.mkdir(parents=True)
    (code / "doubler.py").write_text(
        "class _Doubler:\n"
        "    def predict(self, data, params=None):\n"
        "        return [2 * x for x in data]\n"
        "\n"
        "def _load_pyfunc(path):\n"
        "    return _Doubler()\n"
    )
    (directory / "MLmodel").write_text(
        "flavors:\n"
        "  python_function:\n"
        "    loader_module: doubler\n"
        "    code: code\n"
        "    python_version: 3.11.0\n"
    )


def test_register_and_load_by_version_and_alias(client, tmp_path):
    model_dir = tmp_path / "model"
    _write_pyfunc_model(model_dir)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
    name = unique("loadable")

    registered = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    assert registered.version == "1"
    client.set_registered_model_alias(name, "champion", registered.version)

    by_version = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert by_version.predict([1, 2]) == [2, 4]
    by_alias = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert by_alias.predict([3]) == [6]
