#' MLflow 3 logged models
#'
#' A logged model has its own id, params, tags, metrics and artifacts, and is
#' usually produced by a run (its `source_run_id`). `tw_create_logged_model()`
#' creates one in status `"PENDING"`; upload its files with
#' `tw_log_logged_model_artifact()`, then `tw_finalize_logged_model()` marks it
#' `"READY"`. `tw_search_logged_models()` takes MLflow's filter grammar
#' (`name = 'clf' AND params.alpha = '0.1' AND metrics.rmse < 1`).
#'
#' @param experiment_id,experiment_ids The experiment(s).
#' @param name The model's name; generated when `NULL`.
#' @param source_run_id The run that produced the model, or `NULL`.
#' @param params,tags Named lists of strings.
#' @param model_id The logged model.
#' @param filter A search filter, or `NULL` for every model.
#' @param max_results At most this many models (`NULL`: all of them).
#' @param page_token Continue a search from the `next_page_token` attribute of
#'   an earlier result.
#' @param path For `tw_log_logged_model_artifact()`, a local file. Otherwise a
#'   path relative to the model's artifact root (`NULL` or `""` for the root).
#' @param artifact_path Directory within the model's artifacts to upload into;
#'   the root when `NULL`.
#' @param dest_dir Local directory to download into; a new temporary directory
#'   when `NULL`.
#' @param client A [tw_client()].
#' @return A model is a list: `model_id`, `experiment_id`, `name`,
#'   `source_run_id`, `status` (`"PENDING"`, `"READY"` or `"UPLOAD_FAILED"`),
#'   `artifact_uri`, `params` and `tags` (named lists) and `metrics` (a list of
#'   `key`, `value`, `step`, `timestamp`, `dataset_name`, `run_id`).
#'   `tw_search_logged_models()`: a list of models with the attribute
#'   `next_page_token`. `tw_list_logged_model_artifacts()`: a data frame as
#'   [tw_list_artifacts()]. `tw_download_logged_model_artifacts()`: the local
#'   path of what was downloaded.
#' @examples
#' \dontrun{
#' models <- tw_search_logged_models("1", filter = "name = 'clf'")
#' tw_download_logged_model_artifacts(models[[1]]$model_id)
#' }
#' @name logged_models
NULL

#' @rdname logged_models
#' @export
tw_create_logged_model <- function(experiment_id, name = NULL, source_run_id = NULL,
                                   params = NULL, tags = NULL, client = tw_client()) {
  response <- rpc_create_logged_model(
    client,
    experiment_id = experiment_id, name = name, source_run_id = source_run_id,
    params = key_values(params), tags = key_values(tags)
  )
  logged_model(response$model)
}

#' @rdname logged_models
#' @export
tw_finalize_logged_model <- function(model_id, client = tw_client()) {
  response <- rpc_finalize_logged_model(client, model_id = model_id, status = "LOGGED_MODEL_READY")
  logged_model(response$model)
}

#' @rdname logged_models
#' @export
tw_get_logged_model <- function(model_id, client = tw_client()) {
  logged_model(rpc_get_logged_model(client, model_id = model_id)$model)
}

#' @rdname logged_models
#' @export
tw_search_logged_models <- function(experiment_ids, filter = NULL, max_results = NULL,
                                    page_token = NULL, client = tw_client()) {
  found <- fetch_pages(
    function(page_size, token) {
      page <- rpc_search_logged_models(
        client,
        experiment_ids = as.list(as.character(experiment_ids)), filter = filter,
        max_results = if (is.finite(page_size)) page_size else NULL, page_token = token
      )
      list(items = page$models, next_page_token = page$next_page_token)
    },
    max_results, page_token, Inf
  )
  structure(lapply(found$items, logged_model), next_page_token = or_default(found$next_page_token, ""))
}

#' @rdname logged_models
#' @export
tw_log_logged_model_artifact <- function(model_id, path, artifact_path = NULL,
                                         client = tw_client()) {
  if (!file.exists(path) || dir.exists(path)) {
    stop("no such file: ", path, call. = FALSE)
  }
  destination <- join_artifact_path(artifact_path, basename(path))
  rpc_upload_artifact(client, model_id = model_id, path = destination, data = path)
  invisible()
}

#' @rdname logged_models
#' @export
tw_list_logged_model_artifacts <- function(model_id, path = NULL, client = tw_client()) {
  files <- fetch_pages(
    function(page_size, token) {
      page <- rpc_list_artifacts(client, model_id = model_id, path = path, page_token = token)
      list(items = page$files, next_page_token = page$next_page_token)
    },
    Inf, NULL, NULL
  )$items
  data.frame(
    path = vapply(files, function(f) f$path, character(1)),
    is_dir = vapply(files, function(f) isTRUE(f$is_dir), logical(1)),
    file_size = vapply(files, function(f) as.double(or_default(f$file_size, NA)), numeric(1)),
    stringsAsFactors = FALSE
  )
}

#' @rdname logged_models
#' @export
tw_download_logged_model_artifacts <- function(model_id, path = NULL, dest_dir = NULL,
                                               client = tw_client()) {
  dest_dir <- or_default(dest_dir, tempfile("trackwire-model-"))
  path <- sub("/+$", "", or_default(path, ""))
  children <- tw_list_logged_model_artifacts(model_id, path, client = client)
  if (nzchar(path) && nrow(children) == 0) {
    local <- file.path(dest_dir, path)
    dir.create(dirname(local), recursive = TRUE, showWarnings = FALSE)
    rpc_download_artifact(client, model_id = model_id, path = path, dest = local)
    return(local)
  }
  for (i in seq_len(nrow(children))) {
    tw_download_logged_model_artifacts(model_id, children$path[[i]], dest_dir, client = client)
  }
  local <- if (nzchar(path)) file.path(dest_dir, path) else dest_dir
  dir.create(local, recursive = TRUE, showWarnings = FALSE)
  local
}

key_values <- function(values) {
  if (is.null(values)) {
    return(NULL)
  }
  unname(Map(function(k, v) list(key = k, value = as.character(v)), names(values), values))
}

pairs_to_list <- function(entries) {
  stats::setNames(
    lapply(entries, function(e) or_default(e$value, "")),
    vapply(entries, function(e) e$key, character(1))
  )
}

logged_model <- function(m) {
  info <- m$info
  list(
    model_id = info$model_id,
    experiment_id = info$experiment_id,
    name = or_default(info$name, ""),
    source_run_id = or_default(info$source_run_id, ""),
    status = sub("^LOGGED_MODEL_", "", or_default(info$status, "")),
    artifact_uri = info$artifact_uri,
    params = pairs_to_list(m$data$params),
    tags = pairs_to_list(info$tags),
    metrics = m$data$metrics
  )
}
