#' Registered models and model versions
#'
#' The model registry: named models whose versions are registered from runs
#' (a source such as `"runs:/<run_id>/model"`). `tw_search_registered_models()`
#' and `tw_search_model_versions()` return data frames and take MLflow's
#' registry filters (`name`, `tags.<key>`; for versions also `run_id`,
#' `source_path` and `version_number`).
#'
#' @param name The registered model's name.
#' @param version A version number (as text or a number).
#' @param alias An alias of the model (e.g. `"champion"`).
#' @param source Where the version's files are, e.g. `"runs:/<run_id>/model"`.
#' @param run_id The run the version comes from, if any.
#' @param filter A search filter, or `NULL` for all.
#' @param max_results The most rows to return (`Inf` for all).
#' @param client The server to use (default: the session's).
#' @return A list for one model or version (`versions` of a model are its
#'   latest per stage); a data frame for searches.
#' @name registry
NULL

#' @rdname registry
#' @export
tw_create_registered_model <- function(name, client = tw_client()) {
  registered_model_from_json(rpc_create_registered_model(client, name = name)$registered_model)
}

#' @rdname registry
#' @export
tw_get_registered_model <- function(name, client = tw_client()) {
  registered_model_from_json(rpc_get_registered_model(client, name = name)$registered_model)
}

#' @rdname registry
#' @export
tw_create_model_version <- function(name, source, run_id = NULL, client = tw_client()) {
  model_version_from_json(
    rpc_create_model_version(client, name = name, source = source, run_id = run_id)$model_version
  )
}

#' @rdname registry
#' @export
tw_get_model_version <- function(name, version, client = tw_client()) {
  model_version_from_json(
    rpc_get_model_version(client, name = name, version = as.character(version))$model_version
  )
}

#' @rdname registry
#' @export
tw_get_model_version_by_alias <- function(name, alias, client = tw_client()) {
  model_version_from_json(
    rpc_get_model_version_by_alias(client, name = name, alias = alias)$model_version
  )
}

#' @rdname registry
#' @export
tw_search_registered_models <- function(filter = NULL, max_results = Inf, client = tw_client()) {
  pages <- fetch_pages(
    function(page_size, token) {
      page <- rpc_search_registered_models(
        client,
        filter = filter, max_results = page_size, page_token = token
      )
      list(items = page$registered_models, next_page_token = page$next_page_token)
    },
    max_results, NULL, registry_page_size
  )
  models <- lapply(pages$items, registered_model_from_json)
  data.frame(
    name = chr_field(models, "name"),
    description = chr_field(models, "description"),
    creation_timestamp = time_field(models, "creation_timestamp"),
    last_updated_timestamp = time_field(models, "last_updated_timestamp"),
    stringsAsFactors = FALSE
  )
}

#' @rdname registry
#' @export
tw_search_model_versions <- function(filter = NULL, max_results = Inf, client = tw_client()) {
  pages <- fetch_pages(
    function(page_size, token) {
      page <- rpc_search_model_versions(
        client,
        filter = filter, max_results = page_size, page_token = token
      )
      list(items = page$model_versions, next_page_token = page$next_page_token)
    },
    max_results, NULL, registry_page_size
  )
  versions <- lapply(pages$items, model_version_from_json)
  data.frame(
    name = chr_field(versions, "name"),
    version = chr_field(versions, "version"),
    current_stage = chr_field(versions, "current_stage"),
    source = chr_field(versions, "source"),
    run_id = chr_field(versions, "run_id"),
    creation_timestamp = time_field(versions, "creation_timestamp"),
    stringsAsFactors = FALSE
  )
}

# The largest page of the registry's searches that both of them accept.
registry_page_size <- 1000

registered_model_from_json <- function(m) {
  list(
    name = or_default(m$name, ""),
    description = or_default(m$description, ""),
    creation_timestamp = ms_to_time(m$creation_timestamp),
    last_updated_timestamp = ms_to_time(m$last_updated_timestamp),
    tags = named_values(m$tags),
    aliases = stats::setNames(
      vapply(m$aliases, function(a) a$version, character(1)),
      vapply(m$aliases, function(a) a$alias, character(1))
    ),
    versions = lapply(m$latest_versions, model_version_from_json)
  )
}

model_version_from_json <- function(v) {
  list(
    name = or_default(v$name, ""),
    version = or_default(v$version, ""),
    current_stage = or_default(v$current_stage, ""),
    description = or_default(v$description, ""),
    source = or_default(v$source, ""),
    run_id = or_default(v$run_id, ""),
    status = or_default(v$status, ""),
    creation_timestamp = ms_to_time(v$creation_timestamp),
    tags = named_values(v$tags),
    aliases = as.character(unlist(v$aliases))
  )
}
