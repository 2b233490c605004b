#' Search runs into a data frame
#'
#' @param experiment_ids Experiments to search; default the current one (see
#'   [tw_set_experiment()]).
#' @param filter MLflow's filter grammar, e.g.
#'   `"metrics.rmse < 0.8 and params.solver = 'qr'"`.
#' @param order_by Character vector, e.g. `"metrics.rmse ASC"`.
#' @param view_type `"ACTIVE_ONLY"`, `"DELETED_ONLY"` or `"ALL"`.
#' @param max_results At most this many runs; every matching run when `Inf`
#'   (or `NULL`). The server's pages (up to 50000 runs each) are fetched as
#'   needed.
#' @param page_token Continue a previous search (its `next_page_token`).
#' @param client A [tw_client()].
#' @return A data frame of class `trackwire_runs` with one row per run:
#'   `run_id`, `experiment_id`, `run_name`, `user_id`, `status`, `start_time`,
#'   `end_time` (POSIXct), `artifact_uri`, `lifecycle_stage`, then one column
#'   per metric (`metrics.<key>`, latest value), param (`params.<key>`) and tag
#'   (`tags.<key>`), `NA` where a run lacks it. When more runs match than
#'   `max_results`, attribute `next_page_token` is set: pass it back as
#'   `page_token` for the next ones. Printed, it shows the columns that tell
#'   runs apart (see [print.trackwire_runs()]); it is a data frame in every
#'   other respect.
#' @examples
#' \dontrun{
#' runs <- tw_search_runs(filter = "metrics.rmse < 0.8", order_by = "metrics.rmse")
#' plot(runs$params.alpha, runs$metrics.rmse)
#' best <- tw_search_runs(order_by = "metrics.rmse", max_results = 3)
#' }
#' @export
tw_search_runs <- function(experiment_ids = NULL, filter = NULL, order_by = NULL,
                           view_type = NULL, max_results = Inf, page_token = NULL,
                           client = tw_client()) {
  experiment_ids <- or_default(experiment_ids, current_experiment_id())
  pages <- fetch_pages(
    function(page_size, token) {
      page <- rpc_search_runs(
        client,
        experiment_ids = as.list(experiment_ids), filter = filter,
        run_view_type = view_type, max_results = page_size,
        order_by = as_json_array(order_by), page_token = token
      )
      list(items = page$runs, next_page_token = page$next_page_token)
    },
    max_results, page_token, limits$MAX_SEARCH_RUNS_MAX_RESULTS
  )
  runs <- lapply(pages$items, run_from_json)
  frame <- data.frame(
    run_id = chr_field(runs, "run_id"),
    experiment_id = chr_field(runs, "experiment_id"),
    run_name = chr_field(runs, "run_name"),
    user_id = chr_field(runs, "user_id"),
    status = chr_field(runs, "status"),
    start_time = time_field(runs, "start_time"),
    end_time = time_field(runs, "end_time"),
    artifact_uri = chr_field(runs, "artifact_uri"),
    lifecycle_stage = chr_field(runs, "lifecycle_stage"),
    stringsAsFactors = FALSE
  )
  frame <- add_key_columns(frame, "metrics.", lapply(runs, `[[`, "metrics"), NA_real_)
  frame <- add_key_columns(frame, "params.", lapply(runs, `[[`, "params"), NA_character_)
  frame <- add_key_columns(frame, "tags.", lapply(runs, `[[`, "tags"), NA_character_)
  attr(frame, "next_page_token") <- pages$next_page_token
  class(frame) <- c("trackwire_runs", class(frame))
  frame
}

#' A metric's history as a data frame
#'
#' @param key Metric name.
#' @param run_id The run; default the active run.
#' @param client A [tw_client()].
#' @return A data frame with columns `key`, `value`, `step` and `timestamp`
#'   (POSIXct), one row per logged point, ordered by step then timestamp.
#' @examples
#' \dontrun{
#' history <- tw_get_metric_history("loss", run_id = run$run_id)
#' plot(history$step, history$value, type = "l")
#' }
#' @export
tw_get_metric_history <- function(key, run_id = NULL, client = tw_client()) {
  run_id <- resolve_run_id(run_id)
  points <- fetch_pages(
    function(page_size, token) {
      page <- rpc_get_metric_history(
        client,
        run_id = run_id, metric_key = key, page_token = token, max_results = page_size
      )
      list(items = page$metrics, next_page_token = page$next_page_token)
    },
    Inf, NULL, limits$MAX_METRIC_HISTORY_PAGE_SIZE
  )$items
  data.frame(
    key = rep(key, length(points)),
    value = vapply(points, function(p) parse_double(p$value), numeric(1)),
    step = vapply(points, function(p) as.double(or_default(p$step, 0)), numeric(1)),
    timestamp = .POSIXct(
      vapply(points, function(p) as.double(or_default(p$timestamp, 0)), numeric(1)) / 1000,
      tz = "UTC"
    ),
    stringsAsFactors = FALSE
  )
}

#' A metric of several runs summarised per bucket of steps, for charts
#'
#' The step range is cut into equal buckets, the same for every run; each
#' bucket keeps its first and last step and timestamp, the value at its last
#' step, its minimum, its maximum and its number of points, so a one-point
#' spike survives however far the metric is thinned. Ask again with a
#' narrower `start_step`/`end_step` to zoom.
#'
#' @param run_ids The runs (at most 100).
#' @param key Metric name.
#' @param start_step,end_step The step range (inclusive); by default from the
#'   first to the last step of the runs.
#' @param buckets How many buckets to cut the range into (e.g. a chart's width
#'   in pixels); the server's default, 1000, when `NULL`; at most 5000.
#' @param client A [tw_client()].
#' @return A data frame with one row per non-empty bucket, runs in the order
#'   given and buckets in step order: `run_id`, `first_step`, `last_step`,
#'   `first_timestamp`, `last_timestamp` (POSIXct), `last_value`, `min_value`,
#'   `max_value` and `count`. Its attributes `start_step`, `end_step` and
#'   `bucket_width` say which steps the buckets cut.
#' @examples
#' \dontrun{
#' loss <- tw_get_metric_buckets(c(run_a, run_b), "loss", buckets = 500)
#' plot(loss$last_step, loss$max_value, type = "l")
#' }
#' @export
tw_get_metric_buckets <- function(run_ids, key, start_step = NULL, end_step = NULL,
                                  buckets = NULL, client = tw_client()) {
  response <- rpc_get_metric_buckets(
    client,
    run_ids = as.character(run_ids), metric_key = key,
    start_step = start_step, end_step = end_step, buckets = buckets
  )
  rows <- unlist(lapply(response$runs, function(run) {
    lapply(run$buckets, function(bucket) c(bucket, run_id = run$run_id))
  }), recursive = FALSE)
  # Absent fields are zeros (proto3 JSON leaves them out); int64s may come as strings.
  column <- function(name) vapply(rows, function(b) parse_double(b[[name]]), numeric(1))
  frame <- data.frame(
    run_id = vapply(rows, function(b) b$run_id, character(1)),
    first_step = column("first_step"),
    last_step = column("last_step"),
    first_timestamp = .POSIXct(column("first_timestamp") / 1000, tz = "UTC"),
    last_timestamp = .POSIXct(column("last_timestamp") / 1000, tz = "UTC"),
    last_value = column("last_value"),
    min_value = column("min_value"),
    max_value = column("max_value"),
    count = column("count"),
    stringsAsFactors = FALSE
  )
  attr(frame, "start_step") <- parse_double(response$start_step)
  attr(frame, "end_step") <- parse_double(response$end_step)
  attr(frame, "bucket_width") <- parse_double(response$bucket_width)
  frame
}
