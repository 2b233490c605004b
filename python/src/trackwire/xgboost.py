"""XGBoost: `TrackwireCallback` logs each boosting round's evaluation results as metrics
(`<data>-<metric>`, e.g. `validation-logloss`, at step = round); `autolog()` adds it to every
`xgboost.train` call (and so to the scikit-learn wrappers) and logs the booster's params."""

from __future__ import annotations

from typing import Any

import xgboost
import xgboost.sklearn
import xgboost.training

from trackwire import fluent
from trackwire._autolog import Patches, string_params, training_run, with_callback

_patches = Patches()


class TrackwireCallback(xgboost.callback.TrainingCallback):
    def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
        latest = {
            f"{data}-{metric}": _last(values)
            for data, metrics in evals_log.items()
            for metric, values in metrics.items()
        }
        if latest:
            fluent.log_metrics(latest, step=epoch)
        return False  # never asks training to stop


def _last(values: list) -> float:
    value = values[-1]
    return float(value[0] if isinstance(value, tuple) else value)  # (mean, std) in cv


def autolog(disable: bool = False, silent: bool = False) -> None:
    _patches.undo()
    if not disable:
        # The module's own name and the names its modules imported it under.
        for owner in (xgboost, xgboost.training, xgboost.sklearn):
            _patches.patch(owner, "train", _logging_train)


def _logging_train(train):
    def logged_train(params, dtrain, *args, **kwargs):
        with training_run() as logging_this:
            if not logging_this:
                return train(params, dtrain, *args, **kwargs)
            rounds = args[0] if args else kwargs.get("num_boost_round", 10)
            fluent.log_params(string_params({**params, "num_boost_round": rounds}))
            return train(params, dtrain, *args, **with_callback(kwargs, TrackwireCallback()))

    return logged_train
