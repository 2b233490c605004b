# Session state: the tracking URI, the current experiment and the stack of
# active runs (the innermost run is the default target of the log functions).
state <- new.env(parent = emptyenv())
state$runs <- character()

default_tracking_uri <- "http://127.0.0.1:5000"

#' Set the tracking server
#'
#' `tw_set_tracking_uri()` points every later call in this session at a
#' server. Without it, the `TRACKWIRE_TRACKING_URI` environment variable is
#' used, then `MLFLOW_TRACKING_URI`, and then `http://127.0.0.1:5000` (where
#' `trackwire server` and `make run` serve HTTP), as in every trackwire
#' client.
#'
#' The R client speaks the server's HTTP/JSON API: a `grpc://` or `grpcs://`
#' URI, which other clients accept, signals `trackwire_error_tracking_uri`
#' naming the HTTP address to use instead (see [trackwire_error]).
#'
#' @param uri The server's HTTP(S) address, e.g. `"http://127.0.0.1:5000"`.
#' @return `tw_set_tracking_uri()` returns the previous URI invisibly;
#'   `tw_get_tracking_uri()` the current one.
#' @examples
#' old <- tw_set_tracking_uri("http://127.0.0.1:5000")
#' tw_get_tracking_uri()
#' tw_set_tracking_uri(old)
#' @export
tw_set_tracking_uri <- function(uri) {
  old <- tw_get_tracking_uri()
  state$tracking_uri <- check_tracking_uri(uri)
  invisible(old)
}

#' @rdname tw_set_tracking_uri
#' @export
tw_get_tracking_uri <- function() {
  if (!is.null(state$tracking_uri)) {
    return(state$tracking_uri)
  }
  from_env <- env_first("TRACKWIRE_TRACKING_URI", "MLFLOW_TRACKING_URI")
  if (nzchar(from_env)) from_env else default_tracking_uri
}

#' Choose the experiment new runs go to
#'
#' By name, creating the experiment when it does not exist yet, or by id.
#'
#' @param name Experiment name.
#' @param experiment_id Experiment id; give `name` or `experiment_id`.
#' @param client A [tw_client()].
#' @return The experiment id, invisibly.
#' @examples
#' \dontrun{
#' tw_set_experiment("churn-model")
#' }
#' @export
tw_set_experiment <- function(name = NULL, experiment_id = NULL, client = tw_client()) {
  if (is.null(name) == is.null(experiment_id)) {
    stop("give exactly one of `name` and `experiment_id`", call. = FALSE)
  }
  if (is.null(experiment_id)) {
    experiment_id <- tryCatch(
      tw_get_experiment_by_name(name, client = client)$experiment_id,
      trackwire_error_not_found = function(e) tw_create_experiment(name, client = client)
    )
  } else {
    tw_get_experiment(experiment_id, client = client)
  }
  state$experiment_id <- experiment_id
  invisible(experiment_id)
}

# The experiment of new runs and searches: tw_set_experiment()'s, else the
# server's default experiment.
current_experiment_id <- function() or_default(state$experiment_id, "0")

#' Create, read and change experiments
#'
#' @param name Experiment name (unique among experiments).
#' @param artifact_location Where the experiment's artifacts go; the server
#'   chooses when `NULL`.
#' @param tags Named list or character vector of tags.
#' @param experiment_id Experiment id.
#' @param new_name New experiment name.
#' @param key,value Tag key and value.
#' @param client A [tw_client()].
#' @return `tw_create_experiment()` returns the new experiment's id;
#'   `tw_get_experiment()` and `tw_get_experiment_by_name()` an experiment, a
#'   list of class `trackwire_experiment` with
#'   `experiment_id`, `name`, `artifact_location`, `lifecycle_stage`
#'   (`"active"` or `"deleted"`), `creation_time`, `last_update_time` (POSIXct)
#'   and `tags` (a named character vector); the others return `NULL`
#'   invisibly.
#' @examples
#' \dontrun{
#' id <- tw_create_experiment("churn-model", tags = list(team = "ml"))
#' tw_get_experiment(id)$name
#' tw_delete_experiment(id)
#' tw_restore_experiment(id)
#' }
#' @name experiments
NULL

#' @rdname experiments
#' @export
tw_create_experiment <- function(name, artifact_location = NULL, tags = NULL,
                                 client = tw_client()) {
  rpc_create_experiment(
    client,
    name = name, artifact_location = artifact_location, tags = key_values(tags)
  )$experiment_id
}

#' @rdname experiments
#' @export
tw_get_experiment <- function(experiment_id, client = tw_client()) {
  experiment_from_json(rpc_get_experiment(client, experiment_id = experiment_id)$experiment)
}

#' @rdname experiments
#' @export
tw_get_experiment_by_name <- function(name, client = tw_client()) {
  experiment_from_json(rpc_get_experiment_by_name(client, experiment_name = name)$experiment)
}

#' @rdname experiments
#' @export
tw_rename_experiment <- function(experiment_id, new_name, client = tw_client()) {
  rpc_update_experiment(client, experiment_id = experiment_id, new_name = new_name)
  invisible()
}

#' @rdname experiments
#' @export
tw_delete_experiment <- function(experiment_id, client = tw_client()) {
  rpc_delete_experiment(client, experiment_id = experiment_id)
  invisible()
}

#' @rdname experiments
#' @export
tw_restore_experiment <- function(experiment_id, client = tw_client()) {
  rpc_restore_experiment(client, experiment_id = experiment_id)
  invisible()
}

#' @rdname experiments
#' @export
tw_set_experiment_tag <- function(experiment_id, key, value, client = tw_client()) {
  rpc_set_experiment_tag(client, experiment_id = experiment_id, key = key, value = value)
  invisible()
}

#' @rdname experiments
#' @export
tw_delete_experiment_tag <- function(experiment_id, key, client = tw_client()) {
  rpc_delete_experiment_tag(client, experiment_id = experiment_id, key = key)
  invisible()
}

#' Search experiments
#'
#' @param filter MLflow's filter grammar, e.g. `"name LIKE 'churn%'"`.
#' @param order_by Character vector, e.g. `"creation_time DESC"`.
#' @param view_type `"ACTIVE_ONLY"`, `"DELETED_ONLY"` or `"ALL"`.
#' @param max_results At most this many experiments; every matching one when
#'   `Inf` (or `NULL`). The server's pages are fetched as needed.
#' @param page_token Continue a previous search (its `next_page_token`).
#' @param client A [tw_client()].
#' @return A data frame of class `trackwire_experiments` with one row per
#'   experiment: `experiment_id`, `name`, `artifact_location`,
#'   `lifecycle_stage`, `creation_time`, `last_update_time` and a
#'   `tags.<key>` column per tag key. When more experiments match than
#'   `max_results`, attribute `next_page_token` is set: pass it back as
#'   `page_token` for the next ones.
#' @examples
#' \dontrun{
#' tw_search_experiments(filter = "name LIKE 'churn%'")
#' }
#' @export
tw_search_experiments <- function(filter = NULL, order_by = NULL, view_type = NULL,
                                  max_results = Inf, page_token = NULL,
                                  client = tw_client()) {
  pages <- fetch_pages(
    function(page_size, token) {
      page <- rpc_search_experiments(
        client,
        max_results = page_size, page_token = token, filter = filter,
        order_by = as_json_array(order_by), view_type = view_type
      )
      list(items = page$experiments, next_page_token = page$next_page_token)
    },
    max_results, page_token, limits$MAX_SEARCH_EXPERIMENTS_MAX_RESULTS
  )
  experiments <- lapply(pages$items, experiment_from_json)
  frame <- data.frame(
    experiment_id = chr_field(experiments, "experiment_id"),
    name = chr_field(experiments, "name"),
    artifact_location = chr_field(experiments, "artifact_location"),
    lifecycle_stage = chr_field(experiments, "lifecycle_stage"),
    creation_time = time_field(experiments, "creation_time"),
    last_update_time = time_field(experiments, "last_update_time"),
    stringsAsFactors = FALSE
  )
  frame <- add_key_columns(frame, "tags.", lapply(experiments, `[[`, "tags"), NA_character_)
  attr(frame, "next_page_token") <- pages$next_page_token
  class(frame) <- c("trackwire_experiments", class(frame))
  frame
}

experiment_from_json <- function(e) {
  structure(class = "trackwire_experiment", list(
    experiment_id = or_default(e$experiment_id, ""),
    name = or_default(e$name, ""),
    artifact_location = or_default(e$artifact_location, ""),
    lifecycle_stage = or_default(e$lifecycle_stage, ""),
    creation_time = ms_to_time(e$creation_time),
    last_update_time = ms_to_time(e$last_update_time),
    tags = named_values(e$tags)
  ))
}
