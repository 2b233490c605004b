"""trackwire: experiment tracking, MLflow-compatible.

`import trackwire as tw` gives the fluent API (`tw.start_run()`, `tw.log_metric(...)`) with
MLflow's names, signatures and return shapes (so `import trackwire as mlflow` keeps a training
script working), `tw.MlflowClient` (MLflow's client class) and the protobuf-level
`tw.TrackingClient`.
"""

import importlib

from trackwire import artifacts, data, entities
from trackwire._version import __version__
from trackwire.autologging import autolog
from trackwire.client import TrackingClient
from trackwire.client.mlflow_client import MlflowClient
from trackwire.fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_experiment_tag,
    delete_run,
    delete_runs,
    delete_tag,
    disable_system_metrics_logging,
    download_artifacts,
    enable_system_metrics_logging,
    end_run,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_metric_history,
    get_parent_run,
    get_run,
    get_tracking_uri,
    is_tracking_uri_set,
    last_active_run,
    list_artifacts,
    load_table,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    register_model,
    restore_experiment,
    restore_run,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)

__all__ = [
    "ActiveRun",
    "MlflowClient",
    "TrackingClient",
    "__version__",
    "active_run",
    "artifacts",
    "autolog",
    "create_experiment",
    "data",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_runs",
    "delete_tag",
    "disable_system_metrics_logging",
    "download_artifacts",
    "enable_system_metrics_logging",
    "end_run",
    "entities",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_metric_history",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "list_artifacts",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "register_model",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

# The framework integrations load on first use, as `mlflow.sklearn` or `mlflow.pytorch` do
# after `import mlflow`; loading them here would import every installed framework.
_FRAMEWORK_MODULES = frozenset(
    {"sklearn", "xgboost", "lightgbm", "keras", "transformers", "pytorch"}
)


def __getattr__(name: str):
    if name in _FRAMEWORK_MODULES:
        return importlib.import_module(f"trackwire.{name}")
    raise AttributeError(f"module 'trackwire' has no attribute {name!r}")
