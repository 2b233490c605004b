"""Autologging for scikit-learn: `trackwire.sklearn.autolog()`, then every `fit` of an
estimator logs its params (`get_params(deep=True)`), its class as tags, and training scores
under MLflow's metric names (`training_score`, `training_accuracy_score`, ...).

A fit with no active run gets a run of its own; fits nested in another fit (a pipeline's
steps, a search's candidates) are not logged on their own. Models are not logged (trackwire
has no logged models yet).
"""

from __future__ import annotations

import logging
from typing import Any

from trackwire import fluent
from trackwire._autolog import Patches, string_params, training_run

log = logging.getLogger("trackwire")

_patches = Patches()


def autolog(disable: bool = False, silent: bool = False) -> None:
    """Turns scikit-learn autologging on (or off with `disable=True`)."""
    from sklearn.utils import all_estimators

    _patches.undo()
    if disable:
        return
    for _, cls in all_estimators():
        if "fit" in vars(cls):
            _patches.patch(cls, "fit", _logging_fit)
    if not silent:
        log.info("trackwire: scikit-learn autologging is on")


def _logging_fit(fit):
    def logged_fit(estimator, *args, **kwargs):
        with training_run() as logging_this:
            result = fit(estimator, *args, **kwargs)
            if logging_this:
                X = args[0] if args else kwargs.get("X")
                y = args[1] if len(args) > 1 else kwargs.get("y")
                _log_fit(estimator, X, y)
        return result

    return logged_fit


def _log_fit(estimator, X, y) -> None:
    fluent.log_params(string_params(estimator.get_params(deep=True)))
    fluent.set_tags(
        {
            "estimator_name": type(estimator).__name__,
            "estimator_class": f"{type(estimator).__module__}.{type(estimator).__name__}",
        }
    )
    if y is not None:
        fluent.log_metrics(_training_scores(estimator, X, y))


def _training_scores(estimator, X, y) -> dict[str, float]:
    from sklearn import base, metrics

    scores: dict[str, Any] = {}
    if hasattr(estimator, "score"):
        try:
            scores["training_score"] = estimator.score(X, y)
        except Exception as e:  # a score that cannot be computed is left out, not fatal
            log.debug("trackwire: training_score not computed: %s", e)
    if not hasattr(estimator, "predict"):
        return {k: float(v) for k, v in scores.items()}
    predicted = estimator.predict(X)
    if base.is_classifier(estimator):
        scores["training_accuracy_score"] = metrics.accuracy_score(y, predicted)
        averaged: dict[str, Any] = {"average": "weighted", "zero_division": 0}
        scores["training_precision_score"] = metrics.precision_score(y, predicted, **averaged)
        scores["training_recall_score"] = metrics.recall_score(y, predicted, **averaged)
        scores["training_f1_score"] = metrics.f1_score(y, predicted, **averaged)
        if hasattr(estimator, "predict_proba"):
            try:
                probabilities = estimator.predict_proba(X)
                scores["training_log_loss"] = metrics.log_loss(y, probabilities)
                scores["training_roc_auc"] = (
                    metrics.roc_auc_score(y, probabilities[:, 1])
                    if probabilities.shape[1] == 2
                    else metrics.roc_auc_score(y, probabilities, multi_class="ovr")
                )
            except Exception as e:  # e.g. a class missing from y
                log.debug("trackwire: probability scores not computed: %s", e)
    elif base.is_regressor(estimator):
        mse = metrics.mean_squared_error(y, predicted)
        scores["training_mean_squared_error"] = mse
        scores["training_root_mean_squared_error"] = mse**0.5
        scores["training_mean_absolute_error"] = metrics.mean_absolute_error(y, predicted)
        scores["training_r2_score"] = metrics.r2_score(y, predicted)
    return {k: float(v) for k, v in scores.items()}
