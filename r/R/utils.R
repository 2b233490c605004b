# Conversions between R values and the JSON shapes of the API.

# A named list or vector as the API's [{key, value}] list.
key_values <- function(x) {
  if (length(x) == 0) {
    return(list())
  }
  if (is.null(names(x)) || any(!nzchar(names(x)))) {
    stop("tags and params must be a named list or vector", call. = FALSE)
  }
  unname(Map(function(k, v) list(key = k, value = as_text(v)), names(x), x))
}

# The API's [{key, value}] list as a named character vector.
named_values <- function(x) {
  if (length(x) == 0) {
    return(stats::setNames(character(), character()))
  }
  stats::setNames(
    vapply(x, function(kv) or_default(kv$value, ""), character(1)),
    vapply(x, function(kv) kv$key, character(1))
  )
}

as_text <- function(value) {
  if (length(value) != 1) {
    stop("a param or tag value must be a single value", call. = FALSE)
  }
  if (is.numeric(value)) format(value, digits = 15) else as.character(value)
}

as_json_array <- function(x) if (is.null(x)) NULL else as.list(x)

to_ms <- function(time) {
  if (inherits(time, "POSIXt")) round(as.double(as.POSIXct(time)) * 1000) else as.double(time)
}

ms_to_time <- function(ms) {
  .POSIXct(if (is.null(ms)) NA_real_ else as.double(ms) / 1000, tz = "UTC")
}

chr_field <- function(items, name) {
  vapply(items, function(item) item[[name]], character(1))
}

time_field <- function(items, name) {
  .POSIXct(vapply(items, function(item) as.double(item[[name]]), numeric(1)), tz = "UTC")
}

# Appends one column per key (prefix + key), `missing` where an item lacks it.
add_key_columns <- function(frame, prefix, values, missing) {
  keys <- sort(unique(unlist(lapply(values, names))))
  for (key in keys) {
    frame[[paste0(prefix, key)]] <- vapply(
      values, function(v) if (key %in% names(v)) v[[key]] else missing, missing
    )
  }
  frame
}

# Up to `max_results` items (all when Inf or NULL), fetched in pages as large
# as the server allows (`largest_page`; NULL: the server's default), and the
# token to continue from when more remain. A last page asks for no more than is
# missing, so that its token points just past the items returned.
fetch_pages <- function(fetch, max_results, page_token, largest_page) {
  max_results <- or_default(max_results, Inf)
  if (!is.numeric(max_results) || length(max_results) != 1 || !(max_results >= 1)) {
    tw_abort("INVALID_PARAMETER_VALUE", "max_results must be a number >= 1, or Inf for all")
  }
  items <- list()
  token <- page_token
  repeat {
    wanted <- max_results - length(items)
    page <- fetch(if (is.finite(wanted)) min(wanted, largest_page) else largest_page, token)
    items <- c(items, page$items)
    token <- non_empty(page$next_page_token)
    if (is.null(token) || length(items) >= max_results) break
  }
  list(items = items, next_page_token = token)
}

non_empty <- function(token) if (is.null(token) || !nzchar(token)) NULL else token
