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
