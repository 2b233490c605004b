"""LightGBM: `trackwire_callback()` logs each iteration's evaluation results as metrics
(`<data>-<metric>`, e.g. `valid_0-binary_logloss`, at step = iteration); `autolog()` adds it
to every `lightgbm.train` call and logs the params."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightgbm
import lightgbm.engine
import lightgbm.sklearn

from trackwire import fluent
from trackwire._autolog import Patches, string_params, training_run, with_callback

_patches = Patches()


def trackwire_callback() -> Callable[[Any], None]:
    def log_iteration(env: Any) -> None:
        latest = {
            f"{data}-{metric}": float(value)
            for data, metric, value, *_ in env.evaluation_result_list or ()
        }
        if latest:
            fluent.log_metrics(latest, step=env.iteration)

    log_iteration.order = 25  # type: ignore[attr-defined]  # LightGBM runs callbacks by order
    return log_iteration


def autolog(disable: bool = False, silent: bool = False) -> None:
    _patches.undo()
    if not disable:
        # The module's own name and the names its modules imported it under.
        for owner in (lightgbm, lightgbm.engine, lightgbm.sklearn):
            _patches.patch(owner, "train", _logging_train)


def _logging_train(train):
    def logged_train(params, train_set, *args, **kwargs):
        with training_run() as logging_this:
            if not logging_this:
                return train(params, train_set, *args, **kwargs)
            rounds = args[0] if args else kwargs.get("num_boost_round", 100)
            fluent.log_params(string_params({**params, "num_boost_round": rounds}))
            return train(params, train_set, *args, **with_callback(kwargs, trackwire_callback()))

    return logged_train
