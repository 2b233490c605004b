"""Autologging and callbacks of XGBoost, LightGBM and Keras (JAX backend), each training a
tiny model built here, against a real server."""

from __future__ import annotations

import os
import uuid

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

import trackwire as tw


@pytest.fixture
def experiment(server):
    tw.set_tracking_uri(server.tracking_uri)
    tw.set_experiment(f"autolog-{uuid.uuid4().hex}")
    yield
    while tw.active_run():
        tw.end_run()
    tw.autolog(disable=True)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4)).astype("float32")
    y = (X[:, 0] + X[:, 1] > 0).astype("float32")
    return X, y


def history(run_id: str, key: str) -> list[int]:
    return [m.step for m in tw.get_metric_history(run_id, key)]


def test_xgboost_train_and_sklearn_wrapper(experiment, data):
    import xgboost

    from trackwire.xgboost import TrackwireCallback

    X, y = data
    dtrain = xgboost.DMatrix(X, label=y)
    tw.xgboost.autolog()
    xgboost.train(
        {"objective": "binary:logistic", "max_depth": 2}, dtrain, 5, evals=[(dtrain, "train")]
    )
    run = tw.last_active_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["max_depth"] == "2" and run.data.params["num_boost_round"] == "5"
    assert history(run.info.run_id, "train-logloss") == [0, 1, 2, 3, 4]

    xgboost.XGBClassifier(n_estimators=3, max_depth=2).fit(X, y, eval_set=[(X, y)])
    wrapped = tw.last_active_run()
    assert wrapped.info.run_id != run.info.run_id
    assert history(wrapped.info.run_id, "validation_0-logloss") == [0, 1, 2]

    tw.autolog(disable=True)
    with tw.start_run() as manual:  # the callback on its own, in the user's run
        xgboost.train(
            {"max_depth": 1}, dtrain, 2, evals=[(dtrain, "d")], callbacks=[TrackwireCallback()]
        )
    assert history(manual.info.run_id, "d-rmse") == [0, 1]
    assert tw.get_run(manual.info.run_id).data.params == {}


def test_lightgbm_train(experiment, data):
    import lightgbm

    X, y = data
    train = lightgbm.Dataset(X, label=y)
    tw.autolog(exclude_flavors=["sklearn", "xgboost", "keras"])
    with tw.start_run() as run:
        lightgbm.train(
            {"objective": "binary", "num_leaves": 4, "verbose": -1, "min_data_in_leaf": 5},
            train,
            num_boost_round=4,
            valid_sets=[train],
        )
    stored = tw.get_run(run.info.run_id)
    assert stored.data.params["num_leaves"] == "4" and stored.data.params["num_boost_round"] == "4"
    assert history(run.info.run_id, "training-binary_logloss") == [0, 1, 2, 3]


def test_keras_fit(experiment, data):
    import keras

    X, y = data
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    tw.keras.autolog()
    model.fit(X, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    run = tw.last_active_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["epochs"] == "3" and run.data.params["optimizer_name"] == "Adam"
    assert float(run.data.params["learning_rate"]) == pytest.approx(0.01)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert history(run.info.run_id, key) == [0, 1, 2]


def test_a_failing_fit_ends_its_own_run_failed(experiment, data):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    tw.keras.autolog()
    with pytest.raises(ValueError):
        model.fit(np.zeros((4, 3)), np.zeros(4), epochs=1, verbose=0)  # wrong input shape
    assert tw.active_run() is None
    assert tw.last_active_run().info.status == "FAILED"
