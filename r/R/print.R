# How runs, experiments and search results read in the console. The objects
# stay plain lists and data frames; only their printing changes.

#' Print runs, experiments and search results
#'
#' A run ([tw_get_run()]) or an experiment ([tw_get_experiment()]) prints as a
#' short summary: name, status, times and its params, metrics and tags on one
#' line each. Search results ([tw_search_runs()], [tw_search_experiments()])
#' print as their first `n` rows with the columns that tell rows apart:
#' `artifact_uri`, `user_id`, `lifecycle_stage` while all rows are active,
#' `end_time` (shown as a duration) and the `mlflow.*` system tags are left
#' out of the print, never out of the data frame. `format()` returns the
#' printed lines.
#'
#' @param x A run, an experiment, or search results.
#' @param n Rows to print.
#' @param ... Unused.
#' @return `format()`: a character vector of lines; `print()`: `x`, invisibly.
#' @examples
#' \dontrun{
#' tw_get_run(run_id)
#' runs <- tw_search_runs()
#' print(runs, n = 20)
#' as.data.frame(runs)   # every column, printed as a plain data frame
#' }
#' @name print.trackwire
NULL

#' @rdname print.trackwire
#' @export
format.trackwire_run <- function(x, ...) {
  ended <- !is.na(x$end_time)
  c(
    sprintf("<trackwire run %s> %s in experiment %s", x$run_id, quote_name(x$run_name),
            x$experiment_id),
    sprintf("  status:    %s, started %s%s", x$status, format_time(x$start_time),
            if (ended) paste0(", took ", format_duration(x$end_time - x$start_time)) else ""),
    summary_line("params", x$params),
    summary_line("metrics", format_numbers(x$metrics)),
    summary_line("tags", user_tags(x$tags)),
    if (length(x$inputs) > 0) {
      summary_line("inputs", vapply(x$inputs, function(d) or_default(d$name, ""), character(1)))
    },
    if (x$lifecycle_stage == "deleted") "  (deleted)"
  )
}

#' @rdname print.trackwire
#' @export
print.trackwire_run <- function(x, ...) {
  writeLines(format(x, ...))
  invisible(x)
}

#' @rdname print.trackwire
#' @export
format.trackwire_experiment <- function(x, ...) {
  c(
    sprintf("<trackwire experiment %s> %s (%s)", x$experiment_id, quote_name(x$name),
            x$lifecycle_stage),
    sprintf("  created:   %s, last updated %s", format_time(x$creation_time),
            format_time(x$last_update_time)),
    summary_line("artifacts", x$artifact_location),
    summary_line("tags", user_tags(x$tags))
  )
}

#' @rdname print.trackwire
#' @export
print.trackwire_experiment <- function(x, ...) {
  writeLines(format(x, ...))
  invisible(x)
}

#' @rdname print.trackwire
#' @export
format.trackwire_runs <- function(x, n = 10, ...) {
  shown <- as.data.frame(x)
  if ("end_time" %in% names(shown) && "start_time" %in% names(shown)) {
    shown$duration <- format_duration(shown$end_time - shown$start_time)
  }
  format_results(x, shown, "run", n,
                 hidden = c("artifact_uri", "user_id", "end_time", "experiment_id"))
}

#' @rdname print.trackwire
#' @export
print.trackwire_runs <- function(x, n = 10, ...) {
  writeLines(format(x, n = n, ...))
  invisible(x)
}

#' @rdname print.trackwire
#' @export
format.trackwire_experiments <- function(x, n = 10, ...) {
  format_results(x, as.data.frame(x), "experiment", n, hidden = "artifact_location")
}

#' @rdname print.trackwire
#' @export
print.trackwire_experiments <- function(x, n = 10, ...) {
  writeLines(format(x, n = n, ...))
  invisible(x)
}

# A header, the first `n` rows of `shown` without the `hidden` columns, and
# what was left out.
format_results <- function(x, shown, noun, n, hidden) {
  total <- nrow(shown)
  header <- sprintf("# %d trackwire %s%s", total, noun, if (total == 1) "" else "s")
  if ("experiment_id" %in% names(shown) && total > 0 && noun == "run") {
    ids <- unique(shown$experiment_id)
    header <- paste0(header, " in experiment", if (length(ids) > 1) "s", " ",
                     paste(ids, collapse = ", "))
  }
  if (!is.null(attr(x, "next_page_token"))) {
    header <- paste0(header, "; more match: pass attr(x, \"next_page_token\") as page_token")
  }
  if (all(shown$lifecycle_stage %in% "active")) hidden <- c(hidden, "lifecycle_stage")
  hidden <- c(hidden, grep("^tags\\.mlflow\\.", names(shown), value = TRUE))
  shown <- shown[setdiff(names(shown), hidden)]
  for (column in grep("^metrics\\.", names(shown), value = TRUE)) {
    shown[[column]] <- format_numbers(shown[[column]])
  }
  for (column in names(shown)[vapply(shown, inherits, logical(1), what = "POSIXct")]) {
    shown[[column]] <- format_time(shown[[column]])
  }
  if (total == 0) {
    return(header)
  }
  body <- utils::capture.output(print(utils::head(shown, n), right = FALSE))
  c(header, body, if (total > n) sprintf("# ... %d more %ss: print(x, n = %d)", total - n,
                                         noun, total))
}

# One "  label: k = v, ..." line, cut to the console width.
summary_line <- function(label, values) {
  if (length(values) == 0) {
    return(NULL)
  }
  text <- if (is.null(names(values))) values else paste(names(values), "=", values)
  prefix <- sprintf("  %-10s ", paste0(label, ":"))
  paste0(prefix, toString(text, width = max(20, getOption("width") - nchar(prefix))))
}

# Tags without the `mlflow.*` ones the clients and the server set themselves.
user_tags <- function(tags) tags[!startsWith(names(tags), "mlflow.")]

quote_name <- function(name) if (nzchar(name)) encodeString(name, quote = '"') else "(unnamed)"

format_numbers <- function(x) {
  text <- format(x, digits = 4, trim = TRUE)
  names(text) <- names(x)
  text[is.na(x) & !is.nan(x)] <- ""
  text
}

format_time <- function(time) {
  text <- format(time, "%Y-%m-%d %H:%M:%S", tz = "UTC")
  text[is.na(time)] <- ""
  text
}

# Seconds under a minute, else minutes, else hours; empty while running.
format_duration <- function(difference) {
  seconds <- as.double(difference, units = "secs")
  text <- ifelse(seconds < 60, sprintf("%.1f s", seconds),
                 ifelse(seconds < 3600, sprintf("%.1f min", seconds / 60),
                        sprintf("%.1f h", seconds / 3600)))
  text[is.na(seconds)] <- ""
  text
}
