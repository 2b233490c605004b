"""Hugging Face transformers: `TrackwireCallback` logs a `Trainer`'s arguments and its model's
config as params when training begins, and the numbers of every log (`loss`, `grad_norm`,
`learning_rate`, `eval_loss`, ...) as metrics at step = `state.global_step`; `autolog()` adds
it to every `Trainer`. Only the main process (world process zero) logs."""

from __future__ import annotations

import logging
from numbers import Real
from typing import Any

try:
    import transformers
except ImportError as e:
    raise ImportError(
        "trackwire.transformers needs transformers: pip install 'trackwire[transformers]'"
    ) from e

from trackwire import fluent
from trackwire._autolog import Patches, string_params, training_run, valid_key

log = logging.getLogger("trackwire")

_patches = Patches()


class TrackwireCallback(transformers.TrainerCallback):
    """Logs to the run active when training begins, or else to a run of its own (named after
    `TrainingArguments.run_name`), ended when training ends. A run of its own is left RUNNING
    if training raises (callbacks are not told); `autolog()` ends it FAILED."""

    def __init__(self) -> None:
        self._run_id: str | None = None
        self._own_run = False

    def on_train_begin(self, args, state, control, model=None, **kwargs) -> None:
        if state.is_world_process_zero:
            self._start(args, model)

    def on_log(self, args, state, control, logs=None, model=None, **kwargs) -> None:
        if not state.is_world_process_zero:
            return
        if self._run_id is None:  # a log outside training, e.g. a first `evaluate()`
            self._start(args, model)
        numbers = {valid_key(k): _number(v) for k, v in (logs or {}).items()}
        metrics = {k: v for k, v in numbers.items() if v is not None}
        if metrics:
            fluent.log_metrics(metrics, step=state.global_step, run_id=self._run_id)

    def on_train_end(self, args, state, control, **kwargs) -> None:
        if self._own_run and state.is_world_process_zero:
            self._own_run = False
            active = fluent.active_run()
            if active is not None and active.info.run_id == self._run_id:
                fluent.end_run()

    def _start(self, args, model) -> None:
        """Takes the active run or starts one, and logs the config and arguments, the
        arguments winning where both have a name (as in MLflow's own callback)."""
        run = fluent.active_run()
        if run is None:
            run = fluent.start_run(run_name=args.run_name)
            self._own_run = True
        elif run.info.run_id != self._run_id:  # else its own, started by an earlier log
            self._own_run = False
        self._run_id = run.info.run_id
        config = getattr(model, "config", None)
        params = {**(config.to_dict() if config is not None else {}), **args.to_dict()}
        fluent.log_params(
            string_params({valid_key(k): v for k, v in params.items()}), run_id=self._run_id
        )


def _number(value: Any) -> float | None:
    """A log value as a metric: numbers and one-element tensors; None for the rest (text)."""
    if hasattr(value, "numel") and value.numel() == 1:
        return float(value.item())
    return float(value) if isinstance(value, Real) else None


def autolog(disable: bool = False, silent: bool = False) -> None:
    """Every `Trainer` made from now on gets a `TrackwireCallback`, and its `train()` logs to
    the active run or to a run of its own (FAILED if training raises)."""
    _patches.undo()
    if disable:
        return
    _patches.patch(transformers.Trainer, "__init__", _init_with_callback)
    _patches.patch(transformers.Trainer, "train", _logging_train)
    if not silent:
        log.info("trackwire: transformers autologging is on")


def _add_callback(trainer: Any) -> None:
    if not any(isinstance(c, TrackwireCallback) for c in trainer.callback_handler.callbacks):
        trainer.add_callback(TrackwireCallback())


def _init_with_callback(init):
    def init_with_callback(trainer: Any, *args: Any, **kwargs: Any) -> None:
        init(trainer, *args, **kwargs)
        _add_callback(trainer)

    return init_with_callback


def _logging_train(train):
    def logged_train(trainer: Any, *args: Any, **kwargs: Any):
        _add_callback(trainer)  # a Trainer made before autolog() too
        if not trainer.is_world_process_zero():  # other processes start no runs
            return train(trainer, *args, **kwargs)
        with training_run(run_name=trainer.args.run_name):
            return train(trainer, *args, **kwargs)

    return logged_train
