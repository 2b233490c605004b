# The R testee: NDJSON requests on stdin, one call of the package's tw_*
# functions each, NDJSON responses on stdout. The protocol and the action
# vocabulary are in ../README.md. Run from the repository root.

pkgload::load_all("r", export_all = FALSE, quiet = TRUE)

error_codes <- c(
  trackwire_error_invalid_argument = "ERROR_CODE_INVALID_ARGUMENT",
  trackwire_error_not_found = "ERROR_CODE_NOT_FOUND",
  trackwire_error_already_exists = "ERROR_CODE_ALREADY_EXISTS",
  trackwire_error_resource_exhausted = "ERROR_CODE_RESOURCE_EXHAUSTED",
  trackwire_error_unauthenticated = "ERROR_CODE_UNAUTHENTICATED",
  trackwire_error_permission_denied = "ERROR_CODE_PERMISSION_DENIED"
)

# A double for the protocol: non-finite as strings, finite ones written exactly.
number <- function(x) {
  if (is.nan(x)) return("NaN")
  if (is.infinite(x)) return(if (x > 0) "Infinity" else "-Infinity")
  text <- formatC(x, digits = 15, format = "g")
  if (as.double(text) != x) text <- formatC(x, digits = 17, format = "g")
  structure(trimws(text), class = "json")
}

# An int64 (steps, milliseconds) written exactly.
int <- function(x) structure(formatC(round(as.double(x)), format = "f", digits = 0), class = "json")

ms <- function(time) int(as.double(time) * 1000)

# An empty named list, so that an empty map is written {} rather than [].
as_map <- function(x) if (length(x) == 0) structure(list(), names = character()) else as.list(x)

metric_bucket <- function(i, frame) {
  list(first_step = int(frame$first_step[[i]]), last_step = int(frame$last_step[[i]]),
       first_timestamp = ms(frame$first_timestamp[[i]]), last_timestamp = ms(frame$last_timestamp[[i]]),
       last_value = number(frame$last_value[[i]]), min_value = number(frame$min_value[[i]]),
       max_value = number(frame$max_value[[i]]), count = int(frame$count[[i]]))
}

experiment <- function(e) {
  list(
    experiment_id = e$experiment_id, name = e$name, artifact_location = e$artifact_location,
    lifecycle_stage = e$lifecycle_stage, creation_time = ms(e$creation_time),
    last_update_time = ms(e$last_update_time), tags = as_map(e$tags)
  )
}

model_version <- function(v) {
  list(
    name = v$name, version = v$version, current_stage = v$current_stage, source = v$source,
    run_id = v$run_id, status = v$status
  )
}

registered_model <- function(m) {
  list(
    name = m$name, description = m$description, tags = as_map(m$tags),
    aliases = as_map(m$aliases), latest_versions = lapply(m$versions, model_version)
  )
}

# The rows of a search's data frame as objects of the given columns.
frame_rows <- function(frame, columns) {
  lapply(seq_len(nrow(frame)), function(i) lapply(frame[i, columns, drop = FALSE], `[[`, 1))
}

run <- function(r) {
  shape <- list(
    run_id = r$run_id, experiment_id = r$experiment_id, run_name = r$run_name,
    user_id = r$user_id, status = r$status, start_time = ms(r$start_time),
    artifact_uri = r$artifact_uri, lifecycle_stage = r$lifecycle_stage,
    metrics = as_map(lapply(r$metrics, number)), params = as_map(r$params),
    tags = as_map(r$tags),
    inputs = lapply(r$inputs, function(d) {
      list(name = d$name, digest = d$digest, source_type = d$source_type, source = d$source,
           tags = as_map(d$tags))
    })
  )
  if (!is.na(r$end_time)) shape$end_time <- ms(r$end_time)
  shape
}

# The non-missing values of the `prefix.*` columns of one data frame row.
row_map <- function(row, prefix, missing = is.na) {
  columns <- grep(paste0("^", prefix, "\\."), names(row), value = TRUE)
  values <- lapply(columns, function(column) row[[column]])
  names(values) <- substring(columns, nchar(prefix) + 2)
  as_map(values[!vapply(values, missing, logical(1))])
}

run_row <- function(frame, i) {
  row <- frame[i, , drop = FALSE]
  shape <- list(
    run_id = row$run_id, experiment_id = row$experiment_id, run_name = row$run_name,
    user_id = row$user_id, status = row$status, start_time = ms(row$start_time),
    artifact_uri = row$artifact_uri, lifecycle_stage = row$lifecycle_stage,
    # NA marks a metric the run lacks; NaN is a logged value.
    metrics = lapply(row_map(row, "metrics", function(v) is.na(v) && !is.nan(v)), number),
    params = row_map(row, "params"), tags = row_map(row, "tags")
  )
  if (!is.na(row$end_time)) shape$end_time <- ms(row$end_time)
  shape
}

experiment_row <- function(frame, i) {
  row <- frame[i, , drop = FALSE]
  list(
    experiment_id = row$experiment_id, name = row$name,
    artifact_location = row$artifact_location, lifecycle_stage = row$lifecycle_stage,
    creation_time = ms(row$creation_time), last_update_time = ms(row$last_update_time),
    tags = row_map(row, "tags")
  )
}

page_token <- function(frame) {
  token <- attr(frame, "next_page_token")
  if (is.null(token)) "" else token
}

as_double <- function(x) as.double(unlist(x))

metric_frame <- function(points) {
  if (length(points) == 0) return(NULL)
  now <- round(as.double(Sys.time()) * 1000)
  data.frame(
    key = vapply(points, function(p) p$key, character(1)),
    value = vapply(points, function(p) as_double(p$value), numeric(1)),
    step = vapply(points, function(p) as_double(if (is.null(p$step)) 0 else p$step), numeric(1)),
    timestamp = vapply(points, function(p) {
      as_double(if (is.null(p$timestamp)) now else p$timestamp)
    }, numeric(1)),
    stringsAsFactors = FALSE
  )
}

log_artifact <- function(a, client) {
  dir <- tempfile("r-testee-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  local <- file.path(dir, basename(a$path))
  writeBin(charToRaw(enc2utf8(a$content)), local)
  parent <- dirname(a$path)
  tw_log_artifact(local, if (parent == ".") NULL else parent, run_id = a$run_id, client = client)
  list()
}

download_artifact <- function(a, client) {
  dir <- tempfile("r-testee-")
  on.exit(unlink(dir, recursive = TRUE))
  local <- tw_download_artifacts(a$path, dir, run_id = a$run_id, client = client)
  bytes <- readBin(local, "raw", file.size(local))
  list(content = rawToChar(bytes))
}

logged_model <- function(m) {
  list(model_id = m$model_id, experiment_id = m$experiment_id, name = m$name,
       source_run_id = m$source_run_id, status = m$status, artifact_uri = m$artifact_uri,
       params = as_map(m$params), tags = as_map(m$tags))
}

file_rows <- function(files) {
  lapply(seq_len(nrow(files)), function(i) {
    file <- list(path = files$path[[i]], is_dir = files$is_dir[[i]])
    if (!is.na(files$file_size[[i]])) file$file_size <- files$file_size[[i]]
    file
  })
}

log_logged_model_artifact <- function(a, client) {
  dir <- tempfile("r-testee-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  local <- file.path(dir, basename(a$path))
  writeBin(charToRaw(enc2utf8(a$content)), local)
  parent <- dirname(a$path)
  tw_log_logged_model_artifact(a$model_id, local, if (parent == ".") NULL else parent,
                               client = client)
  list()
}

download_logged_model_artifact <- function(a, client) {
  dir <- tempfile("r-testee-")
  on.exit(unlink(dir, recursive = TRUE))
  local <- tw_download_logged_model_artifacts(a$model_id, a$path, dir, client = client)
  bytes <- readBin(local, "raw", file.size(local))
  list(content = rawToChar(bytes))
}

perform <- function(action, a, client) {
  switch(action,
    create_experiment = list(experiment_id = tw_create_experiment(
      a$name, a$artifact_location, a$tags, client = client
    )),
    get_experiment = experiment(tw_get_experiment(a$experiment_id, client = client)),
    get_experiment_by_name = experiment(tw_get_experiment_by_name(a$name, client = client)),
    search_experiments = {
      found <- tw_search_experiments(
        a$filter, unlist(a$order_by), a$view_type, a$max_results, a$page_token,
        client = client
      )
      list(experiments = lapply(seq_len(nrow(found)), experiment_row, frame = found),
           next_page_token = page_token(found))
    },
    rename_experiment = tw_rename_experiment(a$experiment_id, a$new_name, client = client),
    delete_experiment = tw_delete_experiment(a$experiment_id, client = client),
    restore_experiment = tw_restore_experiment(a$experiment_id, client = client),
    set_experiment_tag = tw_set_experiment_tag(a$experiment_id, a$key, a$value, client = client),
    delete_experiment_tag = tw_delete_experiment_tag(a$experiment_id, a$key, client = client),
    create_run = run(tw_create_run(
      a$experiment_id, a$run_name, a$tags, a$start_time, client = client
    )),
    get_run = run(tw_get_run(a$run_id, client = client)),
    update_run = tw_update_run(a$run_id, a$status, a$end_time, a$run_name, client = client),
    delete_run = tw_delete_run(a$run_id, client = client),
    restore_run = tw_restore_run(a$run_id, client = client),
    delete_runs = list(runs_deleted = tw_delete_runs(
      a$experiment_id, a$max_timestamp_millis, a$max_runs, client = client
    )),
    log_param = tw_log_param(a$key, a$value, run_id = a$run_id, client = client),
    log_metric = tw_log_metric(
      a$key, as_double(a$value), if (is.null(a$step)) 0 else a$step, a$timestamp,
      run_id = a$run_id, client = client
    ),
    set_tag = tw_set_tag(a$key, a$value, run_id = a$run_id, client = client),
    delete_tag = tw_delete_tag(a$key, run_id = a$run_id, client = client),
    log_batch = tw_log_batch(
      metric_frame(a$metrics), a$params, a$tags, run_id = a$run_id, client = client
    ),
    log_inputs = tw_log_inputs(a$datasets, run_id = a$run_id, client = client),
    get_metric_history = {
      history <- tw_get_metric_history(a$key, run_id = a$run_id, client = client)
      list(metrics = lapply(seq_len(nrow(history)), function(i) {
        list(key = history$key[[i]], value = number(history$value[[i]]),
             step = int(history$step[[i]]), timestamp = ms(history$timestamp[[i]]))
      }))
    },
    get_metric_buckets = {
      run_ids <- unlist(a$run_ids)
      found <- tw_get_metric_buckets(
        run_ids, a$key, a$start_step, a$end_step, a$buckets, client = client
      )
      # The server answers every run asked for, in that order; the frame has rows for buckets.
      runs <- lapply(run_ids, function(run_id) {
        rows <- which(found$run_id == run_id)
        list(run_id = run_id, buckets = lapply(rows, metric_bucket, frame = found))
      })
      list(start_step = int(attr(found, "start_step")), end_step = int(attr(found, "end_step")),
           bucket_width = int(attr(found, "bucket_width")), runs = runs)
    },
    search_runs = {
      found <- tw_search_runs(
        unlist(a$experiment_ids), a$filter, unlist(a$order_by), a$view_type, a$max_results,
        a$page_token, client = client
      )
      list(runs = lapply(seq_len(nrow(found)), run_row, frame = found),
           next_page_token = page_token(found))
    },
    log_artifact = log_artifact(a, client),
    list_artifacts = {
      files <- tw_list_artifacts(a$path, run_id = a$run_id, client = client)
      list(files = lapply(seq_len(nrow(files)), function(i) {
        file <- list(path = files$path[[i]], is_dir = files$is_dir[[i]])
        if (!is.na(files$file_size[[i]])) file$file_size <- files$file_size[[i]]
        file
      }))
    },
    download_artifact = download_artifact(a, client),
    delete_artifact = tw_delete_artifacts(a$path, run_id = a$run_id, client = client),
    create_registered_model = registered_model(tw_create_registered_model(a$name, client = client)),
    get_registered_model = registered_model(tw_get_registered_model(a$name, client = client)),
    search_registered_models = list(registered_models = frame_rows(
      tw_search_registered_models(filter = a$filter, client = client), c("name", "description")
    )),
    create_model_version = model_version(
      tw_create_model_version(a$name, a$source, run_id = a$run_id, client = client)
    ),
    get_model_version = model_version(tw_get_model_version(a$name, a$version, client = client)),
    search_model_versions = list(model_versions = frame_rows(
      tw_search_model_versions(filter = a$filter, client = client),
      c("name", "version", "current_stage", "source", "run_id")
    )),
    create_logged_model = logged_model(tw_create_logged_model(
      a$experiment_id, a$name, a$source_run_id, a$params, client = client
    )),
    finalize_logged_model = logged_model(tw_finalize_logged_model(a$model_id, client = client)),
    get_logged_model = logged_model(tw_get_logged_model(a$model_id, client = client)),
    search_logged_models = {
      found <- tw_search_logged_models(
        unlist(a$experiment_ids), a$filter, a$max_results, a$page_token, client = client
      )
      list(models = lapply(found, logged_model),
           next_page_token = attr(found, "next_page_token"))
    },
    log_logged_model_artifact = log_logged_model_artifact(a, client),
    list_logged_model_artifacts = list(files = file_rows(
      tw_list_logged_model_artifacts(a$model_id, a$path, client = client)
    )),
    download_logged_model_artifact = download_logged_model_artifact(a, client),
    # The policy table the generated bindings hand to the transport.
    retryable_rpcs = {
      retry <- trackwire:::rpc_retry
      list(rpcs = as.list(sort(names(retry)[retry != "never"], method = "radix")))
    },
    stop("the R testee does not know the action ", encodeString(action, quote = "'"))
  )
}

answer <- function(request) {
  tryCatch(
    {
      client <- tw_client(request$tracking_uri)
      result <- perform(request$action, request$args, client)
      list(id = request$id, result = if (length(result) == 0) as_map(NULL) else result)
    },
    error = function(e) {
      kind <- intersect(class(e), names(error_codes))
      code <- if (length(kind) > 0) error_codes[[kind[[1]]]] else "ERROR_CODE_INTERNAL"
      list(id = request$id, error = list(code = code, message = conditionMessage(e)))
    }
  )
}

input <- file("stdin", open = "r")
repeat {
  line <- readLines(input, n = 1, encoding = "UTF-8")
  if (length(line) == 0) break
  if (!nzchar(trimws(line))) next
  request <- jsonlite::fromJSON(line, simplifyVector = FALSE)
  response <- jsonlite::toJSON(
    answer(request), auto_unbox = TRUE, null = "null", digits = NA, json_verbatim = TRUE
  )
  cat(response, "\n", sep = "")
  flush(stdout())
}
