#' Start, end and manage runs
#'
#' `tw_start_run()` creates a run (or resumes one by id) and makes it the
#' active run: log functions called without `run_id` write to it.
#' `tw_end_run()` sets its final status and end time and deactivates it.
#' `tw_create_run()` creates a run without activating it.
#' `tw_delete_runs()` deletes, in bulk, an experiment's oldest active runs
#' that started at or before a time (restorable until `trackwire gc` purges
#' them).
#'
#' @param run_id A run id. For `tw_start_run()`, resume this run instead of
#'   creating one; elsewhere, the run to act on (default: the active run).
#' @param experiment_id Experiment of the new run; default: the one chosen with
#'   [tw_set_experiment()], else the server's default experiment `"0"`.
#' @param run_name Run name; the server picks one when `NULL`.
#' @param tags Named list or character vector of tags.
#' @param start_time POSIXct, or milliseconds since the epoch; default: the
#'   server's clock.
#' @param nested Allow starting a run while another is active (the new one
#'   records it in the `mlflow.parentRunId` tag).
#' @param status Final status: `"FINISHED"`, `"FAILED"` or `"KILLED"`
#'   (`tw_update_run()` also accepts `"RUNNING"` and `"SCHEDULED"`).
#' @param end_time POSIXct, or milliseconds since the epoch; default now.
#' @param max_timestamp_millis `tw_delete_runs()` deletes runs started at or
#'   before this time: POSIXct, or milliseconds since the epoch.
#' @param max_runs At most this many runs, the oldest first; default (and
#'   largest): 10000.
#' @param client A [tw_client()].
#' @return `tw_start_run()`, `tw_create_run()` and `tw_get_run()` return a run:
#'   a list of class `trackwire_run` (printed as a summary) with `run_id`, `experiment_id`, `run_name`, `user_id`, `status`,
#'   `start_time`, `end_time` (POSIXct, `NA` while running), `artifact_uri`,
#'   `lifecycle_stage`, `metrics` (named numeric vector of latest values),
#'   `params` and `tags` (named character vectors) and `inputs` (a list of
#'   datasets). `tw_active_run_id()` returns the active run's id or `NULL`.
#'   `tw_delete_runs()` returns the number of runs deleted. The others return
#'   `NULL` invisibly.
#' @examples
#' \dontrun{
#' run <- tw_start_run(run_name = "baseline")
#' tw_log_metric("rmse", 0.71)
#' tw_end_run()
#' }
#' @name runs
NULL

#' @rdname runs
#' @export
tw_start_run <- function(run_id = NULL, experiment_id = NULL, run_name = NULL,
                         tags = NULL, start_time = NULL, nested = FALSE,
                         client = tw_client()) {
  parent <- tw_active_run_id()
  if (!is.null(parent) && !nested) {
    stop("run ", parent, " is already active: end it with tw_end_run() or ",
         "pass nested = TRUE", call. = FALSE)
  }
  if (is.null(run_id)) {
    if (!is.null(parent)) tags <- c(as.list(tags), mlflow.parentRunId = parent)
    run <- tw_create_run(experiment_id, run_name, tags, start_time, client = client)
  } else {
    run <- tw_get_run(run_id, client = client)
    if (run$status != "RUNNING") {
      rpc_update_run(client, run_id = run_id, status = "RUNNING")
      run$status <- "RUNNING"
    }
  }
  state$runs <- c(state$runs, run$run_id)
  run
}

#' @rdname runs
#' @export
tw_end_run <- function(status = "FINISHED", end_time = NULL, client = tw_client()) {
  run_id <- tw_active_run_id()
  if (is.null(run_id)) {
    stop("no active run to end", call. = FALSE)
  }
  state$runs <- utils::head(state$runs, -1)
  tw_update_run(run_id, status = status, end_time = or_default(end_time, Sys.time()),
                client = client)
}

#' @rdname runs
#' @export
tw_active_run_id <- function() {
  if (length(state$runs) == 0) NULL else state$runs[[length(state$runs)]]
}

#' Run code inside a run
#'
#' Starts a run, evaluates `code`, and ends the run `FINISHED`, or `FAILED`
#' when an error (or an interrupt) escapes `code`; the error still propagates.
#'
#' @param code An expression, evaluated in the caller's environment, or a
#'   function, called with the run (see [tw_start_run()]).
#' @param ... Passed to [tw_start_run()].
#' @param client A [tw_client()].
#' @return The value of `code`.
#' @examples
#' \dontrun{
#' tw_with_run({
#'   tw_log_param("alpha", 0.5)
#'   tw_log_metric("rmse", 0.71)
#' }, run_name = "ridge")
#' tw_with_run(function(run) run$run_id)
#' }
#' @export
tw_with_run <- function(code, ..., client = tw_client()) {
  run <- tw_start_run(..., client = client)
  succeeded <- FALSE
  on.exit(tw_end_run(if (succeeded) "FINISHED" else "FAILED", client = client))
  # Forcing `code` evaluates an expression; a function is called with the run.
  result <- code
  if (is.function(result)) result <- result(run)
  succeeded <- TRUE
  result
}

#' @rdname runs
#' @export
tw_create_run <- function(experiment_id = NULL, run_name = NULL, tags = NULL,
                          start_time = NULL, client = tw_client()) {
  run_from_json(rpc_create_run(
    client,
    experiment_id = or_default(experiment_id, current_experiment_id()),
    user_id = Sys.info()[["user"]],
    run_name = run_name,
    start_time = if (!is.null(start_time)) json_int(to_ms(start_time)),
    tags = key_values(tags)
  )$run)
}

#' @rdname runs
#' @export
tw_get_run <- function(run_id, client = tw_client()) {
  run_from_json(rpc_get_run(client, run_id = run_id)$run)
}

#' @rdname runs
#' @export
tw_update_run <- function(run_id = NULL, status = NULL, end_time = NULL, run_name = NULL,
                          client = tw_client()) {
  rpc_update_run(
    client,
    run_id = resolve_run_id(run_id), status = status,
    end_time = if (!is.null(end_time)) json_int(to_ms(end_time)), run_name = run_name
  )
  invisible()
}

#' @rdname runs
#' @export
tw_delete_run <- function(run_id, client = tw_client()) {
  rpc_delete_run(client, run_id = run_id)
  invisible()
}

#' @rdname runs
#' @export
tw_delete_runs <- function(experiment_id, max_timestamp_millis, max_runs = NULL,
                           client = tw_client()) {
  deleted <- rpc_delete_runs(
    client,
    experiment_id = experiment_id,
    max_timestamp_millis = json_int(to_ms(max_timestamp_millis)),
    max_runs = if (!is.null(max_runs)) json_int(max_runs)
  )
  as.integer(or_default(deleted$runs_deleted, 0))
}

#' @rdname runs
#' @export
tw_restore_run <- function(run_id, client = tw_client()) {
  rpc_restore_run(client, run_id = run_id)
  invisible()
}

resolve_run_id <- function(run_id) {
  run_id <- or_default(run_id, tw_active_run_id())
  if (is.null(run_id)) {
    stop("no active run: start one with tw_start_run() or pass `run_id`", call. = FALSE)
  }
  run_id
}

run_from_json <- function(run) {
  info <- or_default(run$info, list())
  data <- or_default(run$data, list())
  metrics <- or_default(data$metrics, list())
  structure(class = "trackwire_run", list(
    run_id = or_default(info$run_id, ""),
    experiment_id = or_default(info$experiment_id, ""),
    run_name = or_default(info$run_name, ""),
    user_id = or_default(info$user_id, ""),
    status = or_default(info$status, ""),
    start_time = ms_to_time(info$start_time),
    end_time = ms_to_time(info$end_time),
    artifact_uri = or_default(info$artifact_uri, ""),
    lifecycle_stage = or_default(info$lifecycle_stage, ""),
    metrics = stats::setNames(
      vapply(metrics, function(m) parse_double(m$value), numeric(1)),
      vapply(metrics, function(m) or_default(m$key, ""), character(1))
    ),
    params = named_values(data$params),
    tags = named_values(data$tags),
    inputs = lapply(or_default(run$inputs$dataset_inputs, list()), function(input) {
      c(input$dataset, list(tags = named_values(input$tags)))
    })
  ))
}
