#' Upload, list, download and delete artifacts
#'
#' Artifacts are files kept with a run. `tw_log_artifact()` uploads a file, or
#' everything below a directory (into `artifact_path`, keeping the layout
#' below the directory); each file is streamed from disk, so
#' large files need not fit in memory. `tw_download_artifacts()` fetches a file
#' or a whole directory. `tw_delete_artifacts()` removes a file or a directory
#' with everything below it.
#'
#' @param path For `tw_log_artifact()`, a local file or directory. Otherwise an
#'   artifact path relative to the run's artifact root (`NULL` or `""` for the
#'   root).
#' @param artifact_path Directory within the run's artifacts to upload into;
#'   the root when `NULL`.
#' @param dest_dir Local directory to download into; a new temporary directory
#'   when `NULL`.
#' @param run_id The run; default the active run.
#' @param client A [tw_client()].
#' @return `tw_log_artifact()` and `tw_delete_artifacts()`: `NULL`,
#'   invisibly. `tw_list_artifacts()`: a data frame with `path`, `is_dir` and
#'   `file_size` (`NA` for directories) of the direct children of `path`. `tw_download_artifacts()`: the local
#'   path of the downloaded file or directory.
#' @examples
#' \dontrun{
#' tw_with_run({
#'   png("residuals.png"); plot(1:10); dev.off()
#'   tw_log_artifact("residuals.png", artifact_path = "plots")
#'   tw_list_artifacts("plots")
#' })
#' }
#' @name artifacts
NULL

#' @rdname artifacts
#' @export
tw_log_artifact <- function(path, artifact_path = NULL, run_id = NULL, client = tw_client()) {
  run_id <- resolve_run_id(run_id)
  if (!file.exists(path)) {
    stop("no such file or directory: ", path, call. = FALSE)
  }
  if (dir.exists(path)) {
    files <- list.files(path, recursive = TRUE, all.files = TRUE, no.. = TRUE)
    sources <- file.path(path, files)
    destinations <- join_artifact_path(artifact_path, files)
  } else {
    sources <- path
    destinations <- join_artifact_path(artifact_path, basename(path))
  }
  for (i in seq_along(sources)) {
    rpc_upload_artifact(client, run_id = run_id, path = destinations[[i]], data = sources[[i]])
  }
  invisible()
}

#' @rdname artifacts
#' @export
tw_list_artifacts <- function(path = NULL, run_id = NULL, client = tw_client()) {
  run_id <- resolve_run_id(run_id)
  files <- fetch_pages(
    function(page_size, token) {
      page <- rpc_list_artifacts(client, run_id = run_id, path = path, page_token = token)
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

#' @rdname artifacts
#' @export
tw_download_artifacts <- function(path = NULL, dest_dir = NULL, run_id = NULL,
                                  client = tw_client()) {
  run_id <- resolve_run_id(run_id)
  dest_dir <- or_default(dest_dir, tempfile("trackwire-artifacts-"))
  path <- sub("/+$", "", or_default(path, ""))
  children <- tw_list_artifacts(path, run_id = run_id, client = client)
  if (nzchar(path) && nrow(children) == 0) {
    # Not a directory with content: a file (the server says if it is neither).
    local <- file.path(dest_dir, path)
    dir.create(dirname(local), recursive = TRUE, showWarnings = FALSE)
    rpc_download_artifact(client, run_id = run_id, path = path, dest = local)
    return(local)
  }
  for (i in seq_len(nrow(children))) {
    if (children$is_dir[[i]]) {
      tw_download_artifacts(children$path[[i]], dest_dir, run_id = run_id, client = client)
    } else {
      local <- file.path(dest_dir, children$path[[i]])
      dir.create(dirname(local), recursive = TRUE, showWarnings = FALSE)
      rpc_download_artifact(client, run_id = run_id, path = children$path[[i]], dest = local)
    }
  }
  local <- if (nzchar(path)) file.path(dest_dir, path) else dest_dir
  dir.create(local, recursive = TRUE, showWarnings = FALSE)
  local
}

#' @rdname artifacts
#' @export
tw_delete_artifacts <- function(path, run_id = NULL, client = tw_client()) {
  rpc_delete_artifact(client, run_id = resolve_run_id(run_id), path = path)
  invisible()
}

join_artifact_path <- function(...) {
  parts <- Filter(function(p) length(p) > 0 && any(nzchar(p)), list(...))
  do.call(paste, c(parts, sep = "/"))
}
