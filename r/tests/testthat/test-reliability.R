# Idempotency keys on metric writes, and retries while the server is away
# (which calls are sent again is the schema's policy, rpc_retry).

test_that("metric writes carry fresh idempotency keys without touching R's RNG", {
  ids <- replicate(3, new_request_id())
  expect_match(ids, "^[0-9a-f]{32}$")
  expect_length(unique(ids), 3)

  local_experiment()
  run <- tw_start_run()
  set.seed(42)
  expected <- runif(1)
  set.seed(42)
  tw_log_metric("m", 1, step = 1)
  tw_log_batch(data.frame(key = "m", value = 2, step = 2))
  expect_identical(runif(1), expected)
  expect_equal(tw_get_metric_history("m")$value, c(1, 2))
})

test_that("a write retried with the same key is stored once", {
  local_experiment()
  run <- tw_start_run()
  point <- list(key = "m", value = json_double(1), timestamp = json_int(1), step = json_int(1))
  for (attempt in 1:2) {
    rpc_log_batch(tw_client(), run_id = run$run_id, metrics = list(point), request_id = "retry-1")
  }
  expect_equal(nrow(tw_get_metric_history("m")), 1)
})

test_that("reads and metric writes ride through a server restart", {
  srv <- new_server(server_bin())$start()
  client <- tw_client(srv$uri, token = "")
  run_id <- tw_create_run(tw_create_experiment("restarts", client = client), client = client)$run_id
  # Generous waits: the client keeps trying until the relaunched server is up.
  withr::local_options(trackwire.retry_delays = rep(0.25, 240))

  srv$stop()$launch()
  tw_log_metric("m", 1, step = 1, run_id = run_id, client = client)
  srv$stop()$launch()
  tw_log_batch(data.frame(key = "m", value = 2, step = 2), run_id = run_id, client = client)
  srv$stop()$launch()
  history <- tw_get_metric_history("m", run_id = run_id, client = client)
  expect_equal(history$value, c(1, 2))
})

test_that("writes the schema calls safe to repeat ride through a server restart", {
  srv <- new_server(server_bin())$start()
  client <- tw_client(srv$uri, token = "")
  run_id <- tw_create_run(tw_create_experiment("safe", client = client), client = client)$run_id
  withr::local_options(trackwire.retry_delays = rep(0.25, 240))

  srv$stop()$launch()
  tw_log_param("alpha", 0.5, run_id = run_id, client = client)
  srv$stop()$launch()
  tw_set_tag("model", "ridge", run_id = run_id, client = client)
  srv$stop()$launch()
  tw_update_run(run_id, status = "FINISHED", client = client)
  run <- tw_get_run(run_id, client = client)
  expect_equal(run$params, c(alpha = "0.5"))
  expect_equal(run$tags[["model"]], "ridge")
  expect_equal(run$status, "FINISHED")
})

test_that("every binding takes its own RPC's retry policy from the schema's table", {
  expect_setequal(unique(rpc_retry), c("never", "safe", "request_id"))
  bindings <- setdiff(ls(asNamespace("trackwire"), pattern = "^rpc_"), "rpc_retry")
  expect_gt(length(bindings), 20)
  for (name in bindings) {
    code <- paste(deparse(get(name)), collapse = "\n")
    rpc <- regmatches(code, regexpr('(?<=rpc_retry\\[\\[")[A-Za-z]+', code, perl = TRUE))
    expect_equal(paste0("rpc_", tolower(gsub("([a-z])([A-Z])", "\\1_\\2", rpc))), name)
  }
})

test_that("the first call after an outage succeeds at once", {
  srv <- new_server(server_bin())$start()
  client <- tw_client(srv$uri, token = "")
  expect_equal(tw_get_experiment("0", client = client)$experiment_id, "0")
  srv$stop() # SIGKILL
  withr::with_options(list(trackwire.retry_delays = numeric()), {
    for (attempt in 1:20) { # one failed call every 0.25 s: about 5 s of outage
      expect_error(tw_get_experiment("0", client = client), class = "trackwire_error_unavailable")
      Sys.sleep(0.25)
    }
  })
  srv$start() # returns once the server says it is listening

  started <- Sys.time()
  expect_equal(tw_get_experiment("0", client = client)$experiment_id, "0")
  seconds <- as.double(Sys.time() - started, units = "secs")
  message(sprintf("r http: first call after recovery: %.3f s", seconds))
  # A generous guard against a multi-second backoff, not a timing of the client.
  expect_lt(seconds, 2)
})
