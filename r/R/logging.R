#' Log params, metrics and tags
#'
#' Each function writes to the run `run_id`, by default the active run (see
#' [tw_start_run()]). Params are write-once: logging a different value for a
#' key signals `trackwire_error_invalid_argument`. Metrics are append-only
#' histories; `NaN` and `Inf` are valid values.
#'
#' `tw_log_params()`, `tw_log_metrics()` and `tw_set_tags()` take a named
#' list (or named vector) and log it in as few requests as possible.
#' `tw_log_batch()` logs many values at once, metric points of several steps
#' included. All four split what they send into as many requests as the
#' server's batch limits require (1000 entries, of which at most 100 params
#' and 100 tags, per request).
#'
#' @param key Name of the param, metric or tag.
#' @param value Its value; params and tags are converted to character.
#' @param step Integer step of a metric point.
#' @param timestamp POSIXct, or milliseconds since the epoch; default now.
#' @param metrics For `tw_log_metrics()`, a named list or named numeric vector
#'   of values, all logged at `step` and `timestamp`. For `tw_log_batch()`, a
#'   data frame with columns `key`, `value` and optionally `step` (default 0)
#'   and `timestamp` (default now).
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
#'   tw_log_params(list(lambda = 0.1, solver = "qr"))
#'   tw_log_metrics(list(rmse = 0.8, mae = 0.6), step = 3)
#'   tw_set_tags(c(team = "ml", stage = "dev"))
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
tw_log_params <- function(params, run_id = NULL, client = tw_client()) {
  tw_log_batch(params = params, run_id = run_id, client = client)
}

#' @rdname logging
#' @export
tw_log_metrics <- function(metrics, step = 0, timestamp = NULL, run_id = NULL,
                           client = tw_client()) {
  if (length(metrics) > 0 && (is.null(names(metrics)) || any(!nzchar(names(metrics))))) {
    stop("metrics must be a named list or vector", call. = FALSE)
  }
  values <- vapply(metrics, function(v) {
    if (length(v) != 1 || !is.numeric(v)) {
      stop("a metric value must be a single number", call. = FALSE)
    }
    as.double(v)
  }, numeric(1))
  points <- data.frame(
    key = as.character(names(values)), value = unname(values), step = rep(step, length(values))
  )
  if (!is.null(timestamp)) points$timestamp <- rep(to_ms(timestamp), length(values))
  tw_log_batch(metrics = points, run_id = run_id, client = client)
}

#' @rdname logging
#' @export
tw_set_tags <- function(tags, run_id = NULL, client = tw_client()) {
  tw_log_batch(tags = tags, run_id = run_id, client = client)
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
