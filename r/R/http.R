# The HTTP/JSON transport under the generated rpc_* bindings: request
# building, MLflow's JSON conventions and the mapping of errors to conditions.

#' A connection to a trackwire server
#'
#' Most users never call this: every `tw_*` function defaults to the client
#' for the current tracking URI. Make one explicitly to talk to several
#' servers from one session.
#'
#' @section Retries:
#' Calls that the schema marks safe to repeat are sent again when the server
#' cannot be reached or answers 503: reads, writes whose repetition leaves the
#' same state (a param, a tag, a run's status), and the metric writes
#' `tw_log_metric()` and `tw_log_batch()`, whose requests carry an idempotency
#' key so that the server stores a repeated one once. The waits are 0.05, 0.1,
#' 0.2 and 0.4 seconds, then 0.5 seconds 19 times, about 10 s in all: enough
#' to ride through a server restart, and once the server is back the next
#' attempt comes within half a second. The option `trackwire.retry_delays` (a
#' numeric vector of seconds; `numeric(0)` for none) changes them. Creates,
#' deletes and restores are not repeated.
#'
#' @param tracking_uri The server's HTTP address, e.g. `"http://127.0.0.1:5000"`
#'   (see [tw_set_tracking_uri()]).
#' @param token A bearer token sent in the `Authorization` header; none when
#'   empty. Defaults to the `TRACKWIRE_TOKEN` environment variable, then
#'   `MLFLOW_TRACKING_TOKEN`.
#' @param ca_cert Path of a PEM file of CA certificates to trust for
#'   `https://` (e.g. a private CA); the system's when empty. Defaults to the
#'   `TRACKWIRE_CA_CERT` environment variable.
#' @return An object of class `trackwire_client`.
#' @examples
#' client <- tw_client("http://127.0.0.1:5000")
#' @export
tw_client <- function(tracking_uri = tw_get_tracking_uri(),
                      token = env_first("TRACKWIRE_TOKEN", "MLFLOW_TRACKING_TOKEN"),
                      ca_cert = Sys.getenv("TRACKWIRE_CA_CERT")) {
  structure(
    list(uri = check_tracking_uri(tracking_uri), token = token, ca_cert = ca_cert),
    class = "trackwire_client"
  )
}

#' @export
print.trackwire_client <- function(x, ...) {
  cat("<trackwire_client> ", x$uri, if (nzchar(x$token)) " (with token)", "\n", sep = "")
  invisible(x)
}

# The first of these environment variables that is set and not empty, else "".
env_first <- function(...) {
  values <- Sys.getenv(c(...))
  values <- values[nzchar(values)]
  if (length(values) == 0) "" else values[[1]]
}

# The URI without trailing slashes, or a trackwire_error_tracking_uri saying
# which URI to use instead: R speaks only the server's HTTP/JSON API.
check_tracking_uri <- function(uri) {
  if (!is.character(uri) || length(uri) != 1 || is.na(uri)) {
    abort_tracking_uri("the tracking URI must be a single string")
  }
  if (grepl("^grpcs?://", uri)) {
    http_uri <- sub("^grpc(s?)://(\\[[^]]*\\]|[^/:]*).*$", "http\\1://\\2:5000", uri)
    abort_tracking_uri(paste0(
      "the R client speaks HTTP/JSON, not gRPC: instead of ", uri, " use the server's HTTP ",
      "address, e.g. ", http_uri, " (`trackwire server` serves HTTP on port 5000 unless ",
      "--http-port says otherwise)"
    ), http_uri)
  }
  if (grepl("^sqlite:", uri)) {
    abort_tracking_uri(paste0(
      "the R client needs a server: serve ", uri, " with `trackwire server ",
      "--backend-store-uri ", uri, "` and use http://127.0.0.1:5000"
    ), "http://127.0.0.1:5000")
  }
  if (!grepl("^https?://", uri)) {
    abort_tracking_uri(paste0(
      "the R client speaks HTTP: the tracking URI must start with http:// or https://, got ",
      encodeString(uri, quote = '"')
    ))
  }
  sub("/+$", "", uri)
}

abort_tracking_uri <- function(message, http_uri = NULL) {
  tw_abort("INVALID_PARAMETER_VALUE", message, class = "trackwire_error_tracking_uri",
           http_uri = http_uri)
}

# Performs one call. `query` goes to the URL, `body` is sent as JSON,
# `body_file` is streamed as the raw body, `dest` receives a raw response
# body, and `stream = TRUE` reads newline-delimited JSON messages. `retry` is
# the RPC's policy from the schema (see rpc_retry in bindings.R): unless it is
# "never", the same request is sent again while the server is unreachable or
# answers 503.
# A path template (`/logged-models/{model_id}`) filled with the request's fields.
fill_path <- function(path, fields) {
  names <- regmatches(path, gregexpr("(?<=\\{)[a-z_]+(?=\\})", path, perl = TRUE))[[1]]
  for (name in names) {
    value <- utils::URLencode(as.character(or_default(fields[[name]], "")), reserved = TRUE)
    path <- sub(paste0("{", name, "}"), value, path, fixed = TRUE)
  }
  path
}

tw_request <- function(client, method, path, query = NULL, body = NULL,
                       body_file = NULL, dest = NULL, stream = FALSE, retry) {
  req <- build_request(client, method, path, query, body, body_file)
  delays <- if (retry == "never") numeric() else retry_delays()
  for (delay in c(delays, NA)) {
    resp <- tryCatch(httr2::req_perform(req, path = dest), error = identity)
    unavailable <- inherits(resp, "error") || httr2::resp_status(resp) == 503
    if (!unavailable || is.na(delay)) break
    Sys.sleep(delay)
  }
  if (inherits(resp, "error")) {
    tw_abort("UNAVAILABLE", paste0(
      "cannot reach the trackwire server at ", client$uri, ": ", conditionMessage(resp)
    ))
  }
  status <- httr2::resp_status(resp)
  if (status >= 400) {
    text <- if (is.null(dest)) httr2::resp_body_string(resp) else read_and_remove(dest)
    abort_from_response(status, text)
  }
  if (!is.null(dest)) {
    return(invisible(dest))
  }
  text <- if (length(resp$body) > 0) httr2::resp_body_string(resp, encoding = "UTF-8") else ""
  if (stream) {
    lines <- strsplit(text, "\n", fixed = TRUE)[[1]]
    return(lapply(lines[nzchar(lines)], from_json))
  }
  if (!nzchar(text)) list() else from_json(text)
}

build_request <- function(client, method, path, query = NULL, body = NULL, body_file = NULL) {
  req <- httr2::request(paste0(client$uri, fill_path(path, c(query, body))))
  req <- httr2::req_method(req, method)
  req <- httr2::req_user_agent(req, paste0("trackwire-r/", utils::packageVersion("trackwire")))
  # Error statuses are turned into classed conditions by tw_request().
  req <- httr2::req_error(req, is_error = function(resp) FALSE)
  if (nzchar(client$token)) {
    req <- httr2::req_auth_bearer_token(req, client$token)
  }
  if (nzchar(or_default(client$ca_cert, ""))) {
    req <- httr2::req_options(req, cainfo = client$ca_cert)
  }
  query <- compact(query)
  if (length(query) > 0) {
    # A repeated field repeats its name (run_ids=a&run_ids=b), as the gateway reads it.
    values <- unlist(lapply(query, function(x) lapply(x, query_value)), recursive = FALSE)
    names(values) <- rep(names(query), lengths(query))
    req <- do.call(httr2::req_url_query, c(list(req), values))
  }
  if (!is.null(body_file)) {
    req <- httr2::req_body_file(req, body_file, type = "application/octet-stream")
  } else if (method != "GET") {
    req <- httr2::req_body_raw(req, to_json(body), type = "application/json")
  }
  req
}

# Seconds to wait before each retry (see ?tw_client): about 10 s in all, never
# more than half a second, so a call recovers soon after the server does.
retry_delays <- function() {
  getOption("trackwire.retry_delays", c(0.05, 0.1, 0.2, 0.4, rep(0.5, 19)))
}

# An idempotency key for a write that may be retried: 128 random bits from
# openssl, which leaves R's random number generator (and set.seed()) alone.
new_request_id <- function() paste(as.character(openssl::rand_bytes(16)), collapse = "")

compact <- function(x) x[!vapply(x, is.null, logical(1))]

or_default <- function(x, default) if (is.null(x)) default else x

query_value <- function(x) {
  if (is.numeric(x)) format(x, scientific = FALSE, trim = TRUE) else as.character(x)
}

from_json <- function(text) jsonlite::fromJSON(text, simplifyVector = FALSE)

to_json <- function(body) {
  body <- compact(body)
  if (length(body) == 0) {
    return("{}")
  }
  as.character(jsonlite::toJSON(body, auto_unbox = TRUE, null = "null", json_verbatim = TRUE))
}

# A double as JSON, as MLflow's clients send it: the shortest exact decimal,
# and non-finite values as the strings "NaN", "Infinity" and "-Infinity".
json_double <- function(x) {
  x <- as.double(x)
  if (is.nan(x)) {
    return("NaN")
  }
  if (is.infinite(x)) {
    return(if (x > 0) "Infinity" else "-Infinity")
  }
  text <- formatC(x, digits = 15, format = "g")
  if (as.double(text) != x) text <- formatC(x, digits = 17, format = "g")
  structure(trimws(text), class = "json")
}

# An int64 (milliseconds, steps) as a JSON number without exponent.
json_int <- function(x) {
  structure(formatC(round(as.double(x)), format = "f", digits = 0), class = "json")
}

# Reads a double back: JSON numbers arrive as numbers, non-finite ones as strings.
parse_double <- function(x) {
  if (is.null(x)) 0 else as.double(x)
}

read_and_remove <- function(path) {
  on.exit(unlink(path))
  if (!file.exists(path)) {
    return("")
  }
  paste(readLines(path, warn = FALSE, encoding = "UTF-8"), collapse = "\n")
}

# MLflow error codes (and HTTP statuses, for bodies without one) to the
# condition classes of ?trackwire_error.
error_kinds <- c(
  INVALID_PARAMETER_VALUE = "invalid_argument",
  BAD_REQUEST = "invalid_argument",
  MALFORMED_REQUEST = "invalid_argument",
  INVALID_STATE = "invalid_argument",
  RESOURCE_DOES_NOT_EXIST = "not_found",
  ENDPOINT_NOT_FOUND = "not_found",
  RESOURCE_ALREADY_EXISTS = "already_exists",
  RESOURCE_EXHAUSTED = "resource_exhausted",
  REQUEST_LIMIT_EXCEEDED = "resource_exhausted",
  UNAUTHENTICATED = "unauthenticated",
  PERMISSION_DENIED = "permission_denied",
  UNAVAILABLE = "unavailable",
  TEMPORARILY_UNAVAILABLE = "unavailable"
)

status_kinds <- c(
  "400" = "invalid_argument", "401" = "unauthenticated", "403" = "permission_denied",
  "404" = "not_found", "409" = "already_exists", "429" = "resource_exhausted",
  "503" = "unavailable"
)

abort_from_response <- function(status, text) {
  parsed <- tryCatch(from_json(text), error = function(e) NULL)
  if (is.list(parsed) && !is.null(parsed$message)) {
    code <- or_default(parsed$error_code, "")
    message <- parsed$message
  } else {
    code <- ""
    message <- paste0("HTTP ", status, if (nzchar(text)) ": ", substr(text, 1, 500))
  }
  tw_abort(code, message, status)
}

#' Errors raised by trackwire
#'
#' Every failure reported by the server is signalled as a condition of class
#' `trackwire_error` plus one class naming its kind, so callers can handle
#' kinds separately with [tryCatch()]:
#'
#' * `trackwire_error_invalid_argument`: bad input (HTTP 400), e.g. a param
#'   value that differs from the one already logged, or a batch over a limit;
#' * `trackwire_error_not_found`: no such experiment, run or artifact (404);
#' * `trackwire_error_already_exists`: e.g. an experiment name in use;
#' * `trackwire_error_resource_exhausted`: a quota or rate limit (429);
#' * `trackwire_error_unauthenticated`: missing or bad token (401);
#' * `trackwire_error_permission_denied`: the token may not do this (403);
#' * `trackwire_error_unavailable`: the server cannot be reached;
#' * `trackwire_error_internal`: anything else.
#'
#' The condition message is the server's message. The fields `error_code`
#' (MLflow's code, e.g. `"RESOURCE_DOES_NOT_EXIST"`) and `status` (the HTTP
#' status) carry the rest.
#'
#' A tracking URI the R client cannot use (it speaks HTTP/JSON only) signals
#' `trackwire_error_tracking_uri`, an invalid argument whose field `http_uri`
#' is the address to use instead when there is one: given
#' `grpc://host:50051`, `http://host:5000` (the server's HTTP port, 5000
#' unless `--http-port` says otherwise).
#'
#' @name trackwire_error
#' @examples
#' \dontrun{
#' tryCatch(
#'   tw_get_experiment("no-such-id"),
#'   trackwire_error_not_found = function(e) NULL
#' )
#' }
NULL

# `class` is a more specific class put first; `...` are more fields.
tw_abort <- function(code, message, status = NA_integer_, class = NULL, ...) {
  kind <- unname(error_kinds[code])
  if (is.na(kind)) kind <- unname(status_kinds[as.character(status)])
  if (is.na(kind)) kind <- "internal"
  stop(structure(
    class = c(class, paste0("trackwire_error_", kind), "trackwire_error", "error", "condition"),
    list(message = message, call = NULL, error_code = code, status = status, ...)
  ))
}
