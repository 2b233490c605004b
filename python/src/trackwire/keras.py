"""Keras 3 (any backend): `TrackwireCallback` logs the training params when training starts
and every epoch's logs (`loss`, `val_loss`, `accuracy`, ...) as metrics at step = epoch;
`autolog()` adds it to every `Model.fit`."""

from __future__ import annotations

from typing import Any

import keras

from trackwire import fluent
from trackwire._autolog import Patches, string_params, training_run, with_callback

_patches = Patches()


class TrackwireCallback(keras.callbacks.Callback):
    def on_train_begin(self, logs: dict | None = None) -> None:
        params = {k: v for k, v in (self.params or {}).items() if v is not None}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            params["optimizer_name"] = type(optimizer).__name__
            params["learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        fluent.log_params(string_params(params))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs:
            fluent.log_metrics({k: float(v) for k, v in logs.items()}, step=epoch)


def autolog(disable: bool = False, silent: bool = False) -> None:
    _patches.undo()
    if not disable:
        _patches.patch(keras.Model, "fit", _logging_fit)


def _logging_fit(fit):
    def logged_fit(model: Any, *args: Any, **kwargs: Any):
        with training_run() as logging_this:
            if not logging_this:
                return fit(model, *args, **kwargs)
            return fit(model, *args, **with_callback(kwargs, TrackwireCallback()))

    return logged_fit
