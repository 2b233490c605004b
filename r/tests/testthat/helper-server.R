# Tests run against a real `trackwire server` started here when
# TRACKWIRE_SERVER_BIN names its executable (`make test-r` sets it); without
# it, tests that need a server are skipped (as on CRAN).

server <- new.env()

free_port <- function() {
  for (attempt in 1:50) {
    port <- sample(20000:60000, 1)
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

start_server <- function(bin) {
  dir <- tempfile("trackwire-server-")
  dir.create(dir)
  http_port <- free_port()
  process <- processx::process$new(
    bin,
    c(
      "server",
      "--backend-store-uri", paste0("sqlite:///", file.path(dir, "tracking.db")),
      "--artifacts-destination", file.path(dir, "artifacts"),
      "--host", "127.0.0.1",
      "--grpc-port", free_port(),
      "--http-port", http_port
    ),
    stdout = file.path(dir, "stdout.log"), stderr = file.path(dir, "server.log"),
    env = server_env()
  )
  withr::defer(
    {
      process$kill()
      unlink(dir, recursive = TRUE)
    },
    envir = testthat::teardown_env()
  )
  # Ready once it says so (output goes to files so it can never block the
  # server); give up if it exits or stays silent for a minute.
  deadline <- Sys.time() + 60
  repeat {
    output <- readLines(file.path(dir, "stdout.log"), warn = FALSE)
    if (any(grepl("trackwire server listening", output, fixed = TRUE))) break
    if (!process$is_alive() || Sys.time() > deadline) {
      stop("trackwire server did not start:\n",
           paste(readLines(file.path(dir, "server.log")), collapse = "\n"))
    }
    Sys.sleep(0.1)
  }
  paste0("http://127.0.0.1:", http_port)
}

# Points the package at the test server (started on first use) for the
# calling test, and leaves no run active afterwards.
local_server <- function(envir = parent.frame()) {
  bin <- Sys.getenv("TRACKWIRE_SERVER_BIN")
  testthat::skip_if(!nzchar(bin), "TRACKWIRE_SERVER_BIN is not set: no trackwire server to test against")
  if (is.null(server$uri)) server$uri <- start_server(bin)
  old <- tw_set_tracking_uri(server$uri)
  withr::defer(
    {
      while (!is.null(tw_active_run_id())) tw_end_run()
      tw_set_tracking_uri(old)
    },
    envir = envir
  )
  server$uri
}

# A new experiment, made current for the calling test.
local_experiment <- function(envir = parent.frame()) {
  local_server(envir)
  id <- tw_set_experiment(paste0("test-", basename(tempfile(""))))
  id
}
