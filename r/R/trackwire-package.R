#' trackwire: a client for the trackwire experiment tracking server
#'
#' Log the parameters, metrics, tags and artifacts of machine learning runs to
#' a trackwire server over its MLflow-compatible HTTP/JSON API, and read runs
#' and metric histories back as data frames.
#'
#' Start with [tw_set_tracking_uri()] (or the `TRACKWIRE_TRACKING_URI`
#' environment variable, then `MLFLOW_TRACKING_URI`), [tw_set_experiment()]
#' and [tw_with_run()]; see [logging], [artifacts], [tw_search_runs()] and
#' [tw_get_metric_history()], and `vignette("trackwire")` for a notebook
#' session. A bearer token in `TRACKWIRE_TOKEN` (then `MLFLOW_TRACKING_TOKEN`)
#' is sent with every request. Failures are classed conditions: see
#' [trackwire_error].
#'
#' @keywords internal
"_PACKAGE"
