"""The client's environment variables: trackwire's own first, then MLflow's equivalents, so a
setup made for MLflow (MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN) works unchanged."""

from __future__ import annotations

import os


def env_first(*names: str) -> str | None:
    """The value of the first of these variables that is set and not empty."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def tracking_token() -> str | None:
    return env_first("TRACKWIRE_TOKEN", "MLFLOW_TRACKING_TOKEN")
