# A throwaway `trackwire server` for the package's tests and its vignette,
# which run against a real server (its executable from TRACKWIRE_SERVER_BIN).
# Needs processx, a suggested package; nothing else in the package uses this.

# Below Linux's ephemeral range (32768-60999), so that no client connection
# takes the port between this check and the server's bind.
free_port <- function() {
  for (attempt in 1:50) {
    port <- sample(20000:32000, 1)
    socket <- tryCatch(serverSocket(port), error = function(e) NULL)
    if (!is.null(socket)) {
      close(socket)
      return(port)
    }
  }
  stop("no free port found")
}

# The server's environment: ours without the LD_LIBRARY_PATH that R sets for
# itself (it can make a Python built elsewhere load the system libpython), and
# with unbuffered output so the ready line shows up at once.
server_env <- function() {
  env <- Sys.getenv()
  env <- env[names(env) != "LD_LIBRARY_PATH"]
  c(env, PYTHONUNBUFFERED = "1")
}

# A `trackwire server` process with its own store and ports (`extra_args` go to
# `trackwire server`). The environment returned has its `uri`, `stop()` and
# `launch()` (again on the same ports and store, without waiting: for tests of
# the client's retries), `start()` (launch and wait until ready), `cli(...)` (a
# `trackwire` command on its store; its output) and `destroy()` (kill it and
# remove its store).
local_server_process <- function(bin, extra_args = character(), scheme = "http") {
  srv <- new.env()
  dir <- tempfile("trackwire-server-")
  dir.create(dir)
  store <- paste0("sqlite:///", file.path(dir, "tracking.db"))
  http_port <- free_port()
  args <- c(
    "server",
    "--backend-store-uri", store,
    "--artifacts-destination", file.path(dir, "artifacts"),
    "--host", "127.0.0.1",
    "--grpc-port", free_port(),
    "--http-port", http_port,
    extra_args
  )
  ready_log <- file.path(dir, "stdout.log")
  srv$uri <- paste0(scheme, "://127.0.0.1:", http_port)
  srv$launch <- function() {
    unlink(ready_log)
    srv$process <- processx::process$new(
      bin, args,
      stdout = ready_log, stderr = file.path(dir, "server.log"), env = server_env()
    )
    invisible(srv)
  }
  srv$stop <- function() {
    srv$process$kill()
    srv$process$wait()
    invisible(srv)
  }
  # Ready once it says so (output goes to files so it can never block the
  # server); give up if it exits or stays silent for a minute.
  srv$start <- function() {
    srv$launch()
    deadline <- Sys.time() + 60
    repeat {
      output <- if (file.exists(ready_log)) readLines(ready_log, warn = FALSE) else character()
      if (any(grepl("trackwire server listening", output, fixed = TRUE))) break
      if (!srv$process$is_alive() || Sys.time() > deadline) {
        stop("trackwire server did not start:\n",
             paste(readLines(file.path(dir, "server.log")), collapse = "\n"))
      }
      Sys.sleep(0.1)
    }
    invisible(srv)
  }
  srv$cli <- function(...) {
    processx::run(bin, c(..., "--backend-store-uri", store), env = server_env())$stdout
  }
  srv$destroy <- function() {
    if (!is.null(srv$process)) srv$process$kill()
    unlink(dir, recursive = TRUE)
  }
  srv
}

