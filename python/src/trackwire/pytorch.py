"""PyTorch Lightning: `TrackwireLogger`, a Lightning logger (hyperparameters as params, metrics
at the trainer's step, the run ended FINISHED or FAILED with training), and `autolog()`, which
gives it to every `Trainer` made without a logger of its own choosing. The module has MLflow's
flavour name, so `mlflow.pytorch.autolog()` keeps working as `trackwire.pytorch.autolog()`.

Works with the `lightning` package, or else with the older `pytorch_lightning`."""

from __future__ import annotations

import logging
from argparse import Namespace
from collections.abc import Iterator, Mapping
from typing import Any

try:
    import lightning.pytorch as pl
except ImportError:
    try:  # the older package
        import pytorch_lightning as pl  # type: ignore[no-redef]
    except ImportError as e:
        raise ImportError(
            "trackwire.pytorch needs PyTorch Lightning: pip install 'trackwire[lightning]'"
        ) from e

from trackwire import fluent
from trackwire._autolog import Patches, string_params, valid_key
from trackwire.client.mlflow_client import MlflowClient

log = logging.getLogger("trackwire")

_patches = Patches()
rank_zero_only = pl.utilities.rank_zero_only


class TrackwireLogger(pl.loggers.Logger):
    """Logs to the run active when it first logs, or else to a run of its own (`run_name`,
    `tags`), which `finalize` ends FINISHED, or FAILED when training raised. Only rank zero
    logs; nested hyperparameters are flattened to `outer/inner`."""

    def __init__(self, run_name: str | None = None, tags: Mapping[str, Any] | None = None):
        super().__init__()
        self._run_name = run_name
        self._tags = tags
        self._run_id: str | None = None
        self._experiment_id: str | None = None
        self._own_run = False
        self._client: MlflowClient | None = None

    @property
    @pl.loggers.logger.rank_zero_experiment
    def experiment(self) -> MlflowClient:
        """A client of the tracking server, for what the logger does not log (`log_artifact`,
        `set_tag`, ... with `run_id=logger.run_id`)."""
        self._start()
        if self._client is None:
            self._client = MlflowClient(fluent.get_tracking_uri())
        return self._client

    @property
    def run_id(self) -> str | None:
        self._start()
        return self._run_id

    @property
    def name(self) -> str | None:
        """The experiment's id (Lightning keeps checkpoints under `<name>/<version>/`)."""
        self._start()
        return self._experiment_id

    @property
    def version(self) -> str | None:
        """The run's id."""
        return self.run_id

    @rank_zero_only
    def log_hyperparams(
        self, params: Mapping[str, Any] | Namespace | None, *args: Any, **kwargs: Any
    ) -> None:
        self._start()
        flat = dict(_flatten(vars(params) if isinstance(params, Namespace) else params or {}))
        fluent.log_params(string_params(flat), run_id=self._run_id)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._start()
        values = {valid_key(k): float(v) for k, v in metrics.items()}
        fluent.log_metrics(values, step=step, run_id=self._run_id)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Ends a run of its own after each stage (fit, then maybe test): FAILED on "failed",
        else FINISHED."""
        if not self._own_run:
            return
        ended = "FAILED" if status == "failed" else "FINISHED"
        active = fluent.active_run()
        if active is not None and active.info.run_id == self._run_id:
            fluent.end_run(ended)
        else:  # ended by an earlier stage
            self.experiment.set_terminated(self._run_id, ended)

    @rank_zero_only
    def _start(self) -> None:
        """Takes the active run, or starts one, on first use."""
        if self._run_id is not None:
            return
        run = fluent.active_run()
        self._own_run = run is None
        if run is None:
            run = fluent.start_run(run_name=self._run_name, tags=self._tags)
        self._run_id, self._experiment_id = run.info.run_id, run.info.experiment_id


def _flatten(params: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in params.items():
        name = valid_key(f"{prefix}{key}")
        if isinstance(value, Namespace):
            value = vars(value)
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{name}/")
        else:
            yield name, value


def autolog(disable: bool = False, silent: bool = False) -> None:
    """Every `Trainer` made from now on without a `logger` argument (or with `logger=True`)
    logs through a `TrackwireLogger` instead of Lightning's default logger."""
    _patches.undo()
    if disable:
        return
    _patches.patch(pl.Trainer, "__init__", _init_with_logger)
    if not silent:
        log.info("trackwire: PyTorch Lightning autologging is on")


def _init_with_logger(init):
    def init_with_logger(trainer: Any, *args: Any, **kwargs: Any) -> None:
        chosen = kwargs.get("logger")
        if (chosen is None and not kwargs.get("barebones")) or chosen is True:
            kwargs = {**kwargs, "logger": TrackwireLogger()}
        init(trainer, *args, **kwargs)

    return init_with_logger
