# Tests run against a real `trackwire server` started here when
# TRACKWIRE_SERVER_BIN names its executable (`make test-r` sets it); without
# it, tests that need a server are skipped (as on CRAN).

server <- new.env()

# A local_server_process() (R/local_server.R), destroyed when the tests end.
new_server <- function(bin, extra_args = character(), scheme = "http") {
  srv <- local_server_process(bin, extra_args, scheme)
  withr::defer(srv$destroy(), envir = testthat::teardown_env())
  srv
}

# The server executable, or a skip when there is none.
server_bin <- function() {
  bin <- Sys.getenv("TRACKWIRE_SERVER_BIN")
  testthat::skip_if(!nzchar(bin), "TRACKWIRE_SERVER_BIN is not set: no trackwire server to test against")
  bin
}

# Points the package at the test server (started on first use) for the
# calling test, and leaves no run active afterwards.
local_server <- function(envir = parent.frame()) {
  bin <- server_bin()
  if (is.null(server$uri)) server$uri <- new_server(bin)$start()$uri
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
