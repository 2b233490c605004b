#' Log params, metrics and tags
#'
#' Each function writes to the run `run_id`, by default the active run (see
#' [tw_start_run()]). Params are write-once: logging a different value for a
#' key signals `trackwire_error_invalid_argument`. Metrics are append-only
#' histories; `NaN` and `Inf` are valid values.
#'
#' `tw_log_batch()` logs many values at once, split into as many requests as
#' the server's batch limits require (1000 entries, of which at most 100
#' params and 100 tags, per request).
#'
#' @param key Name of the param, metric or tag.
#' @param value Its value; params and tags are converted to character.
#' @param step Integer step of a metric point.
#' @param timestamp POSIXct, or milliseconds since the epoch; default now.
#' @param metrics A data frame with columns `key`, `value` and optionally
#'   `step` (default 0) and `timestamp` (default now).
#' @param params,tags Named list or named vector of values.
#' @param datasets A list of datasets, each a list with `name`, `digest`,
#'   `source_type`, `source` and optionally `schema`, `profile` and `tags` (a
#'   named list).
#' @param run_id The run; default the active run.
#' @param client A [tw_client()].
#' @return `NULL`, invisibly.
#' @examples
#' \dontrun{
#' tw_with_run({
#'   tw_log_param("alpha", 0.5)
#'   for (epoch in 1:3) tw_log_metric("loss", 1 / epoch, step = epoch)
#'   tw_set_tag("model", "ridge")
#'   tw_log_batch(
#'     metrics = data.frame(key = "rmse", value = c(0.9, 0.8), step = 1:2),
#'     params = list(lambda = 0.1, solver = "qr")
#'   )
#' })
#' }
#' @name logging
NULL

#' @rdname logging
#' @export
tw_log_param <- function(key, value, run_id = NULL, client = tw_client()) {
  rpc_log_param(client, run_id = resolve_run_id(run_id), key = key, value = as_text(value))
  invisible()
}

#' @rdname logging
#' @export
tw_log_metric <- function(key, value, step = 0, timestamp = NULL, run_id = NULL,
                          client = tw_client()) {
  rpc_log_metric(
    client,
    run_id = resolve_run_id(run_id), key = key, value = json_double(value),
    timestamp = json_int(to_ms(or_default(timestamp, Sys.time()))), step = json_int(step)
  )
  invisible()
}

#' @rdname logging
#' @export
tw_set_tag <- function(key, value, run_id = NULL, client = tw_client()) {
  rpc_set_tag(client, run_id = resolve_run_id(run_id), key = key, value = as_text(value))
  invisible()
}

#' @rdname logging
#' @export
tw_delete_tag <- function(key, run_id = NULL, client = tw_client()) {
  rpc_delete_tag(client, run_id = resolve_run_id(run_id), key = key)
  invisible()
}

#' @rdname logging
#' @export
tw_log_batch <- function(metrics = NULL, params = NULL, tags = NULL, run_id = NULL,
                         client = tw_client()) {
  run_id <- resolve_run_id(run_id)
  metrics <- metric_points(metrics)
  params <- key_values(params)
  tags <- key_values(tags)
  # Params and tags go first, so a chunk never holds more than their limits
  # and metrics fill what is left of the entry limit.
  repeat {
    n_params <- min(length(params), limits$MAX_PARAMS_PER_BATCH)
    n_tags <- min(length(tags), limits$MAX_TAGS_PER_BATCH)
    n_metrics <- min(
      length(metrics), limits$MAX_METRICS_PER_BATCH,
      limits$MAX_ENTRIES_PER_BATCH - n_params - n_tags
    )
    rpc_log_batch(
      client,
      run_id = run_id, metrics = metrics[seq_len(n_metrics)],
      params = params[seq_len(n_params)], tags = tags[seq_len(n_tags)]
    )
    metrics <- metrics[-seq_len(n_metrics)]
    params <- params[-seq_len(n_params)]
    tags <- tags[-seq_len(n_tags)]
    if (length(metrics) + length(params) + length(tags) == 0) break
  }
  invisible()
}

#' @rdname logging
#' @export
tw_log_inputs <- function(datasets, run_id = NULL, client = tw_client()) {
  inputs <- lapply(datasets, function(d) {
    list(
      tags = key_values(d$tags),
      dataset = compact(d[c("name", "digest", "source_type", "source", "schema", "profile")])
    )
  })
  rpc_log_inputs(client, run_id = resolve_run_id(run_id), datasets = inputs)
  invisible()
}

# Metric points as LogBatch wants them, from a data frame (key, value[, step][, timestamp]).
metric_points <- function(metrics) {
  if (is.null(metrics) || nrow(metrics) == 0) {
    return(list())
  }
  n <- nrow(metrics)
  step <- if (is.null(metrics$step)) rep(0, n) else metrics$step
  timestamp <- if (is.null(metrics$timestamp)) rep(Sys.time(), n) else metrics$timestamp
  lapply(seq_len(n), function(i) {
    list(
      key = as.character(metrics$key[[i]]), value = json_double(metrics$value[[i]]),
      timestamp = json_int(to_ms(timestamp[i])), step = json_int(step[[i]])
    )
  })
}
