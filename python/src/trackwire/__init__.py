"""trackwire: experiment tracking, MLflow-compatible.

`import trackwire as tw` gives the fluent API (`tw.start_run()`, `tw.log_metric(...)`) and the
low-level `tw.TrackingClient`.
"""

from trackwire._version import __version__
from trackwire.client import TrackingClient
from trackwire.fluent import (
    ActiveRun,
    active_run,
    delete_run,
    delete_runs,
    download_artifacts,
    end_run,
    get_metric_history,
    get_run,
    get_tracking_uri,
    list_artifacts,
    log_artifact,
    log_artifacts,
    log_dict,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_experiments,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)

__all__ = [
    "ActiveRun",
    "TrackingClient",
    "__version__",
    "active_run",
    "delete_run",
    "delete_runs",
    "download_artifacts",
    "end_run",
    "get_metric_history",
    "get_run",
    "get_tracking_uri",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
