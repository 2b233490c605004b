test_that("params, metrics and tags land on the active run", {
  local_experiment()
  run <- tw_start_run()
  tw_log_param("alpha", 0.5)
  tw_log_param("solver", "qr")
  tw_log_metric("rmse", 0.9)
  tw_log_metric("rmse", 0.7, step = 1)
  tw_set_tag("note", "first")
  tw_set_tag("gone", "soon")
  tw_delete_tag("gone")
  got <- tw_get_run(run$run_id)
  expect_equal(got$params[c("alpha", "solver")], c(alpha = "0.5", solver = "qr"))
  expect_equal(got$metrics, c(rmse = 0.7))
  expect_equal(got$tags[["note"]], "first")
  expect_false("gone" %in% names(got$tags))
})

test_that("NaN and infinite metric values round-trip", {
  local_experiment()
  run <- tw_start_run()
  values <- c(NaN, Inf, -Inf, 1 / 3, -0.1, 1e300)
  for (i in seq_along(values)) tw_log_metric("odd", values[[i]], step = i)
  history <- tw_get_metric_history("odd")
  expect_equal(history$value, values)
  expect_true(is.nan(history$value[[1]]))
})

test_that("metric history is a data frame in step order", {
  local_experiment()
  tw_start_run()
  t0 <- as.POSIXct("2024-05-01 12:00:00", tz = "UTC")
  for (step in c(2, 0, 1)) tw_log_metric("loss", 1 / (step + 1), step = step, timestamp = t0 + step)
  history <- tw_get_metric_history("loss")
  expect_equal(names(history), c("key", "value", "step", "timestamp"))
  expect_equal(history$step, c(0, 1, 2))
  expect_equal(history$value, 1 / (1:3))
  expect_equal(history$timestamp, t0 + 0:2)
  expect_equal(unique(history$key), "loss")
})

test_that("metric buckets keep a spike, zoom in, and come back as a data frame", {
  local_experiment()
  run_id <- tw_start_run()$run_id
  steps <- 0:999
  values <- -steps
  values[738] <- 1e6 # step 737: one spike among a thousand points
  t0 <- as.POSIXct("2024-05-01 12:00:00", tz = "UTC")
  tw_log_batch(data.frame(key = "loss", value = values, step = steps, timestamp = t0 + steps),
               run_id = run_id)
  other_run_id <- tw_create_run()$run_id

  whole <- tw_get_metric_buckets(c(run_id, other_run_id), "loss", buckets = 10)
  expect_equal(c(attr(whole, "start_step"), attr(whole, "end_step"), attr(whole, "bucket_width")),
               c(0, 999, 100))
  expect_equal(nrow(whole), 10) # the run without the metric has no buckets
  expect_equal(unique(whole$run_id), run_id)
  spiked <- whole[8, ]
  expect_equal(c(spiked$first_step, spiked$last_step, spiked$count), c(700, 799, 100))
  expect_equal(c(spiked$last_value, spiked$min_value, spiked$max_value), c(-799, -799, 1e6))
  expect_equal(spiked$last_timestamp, t0 + 799)

  zoomed <- tw_get_metric_buckets(run_id, "loss", start_step = 730, end_step = 739, buckets = 100)
  expect_equal(attr(zoomed, "bucket_width"), 1)
  expect_equal(zoomed$last_value[[8]], 1e6)
  expect_error(tw_get_metric_buckets("no-such-run", "loss"), class = "trackwire_error_not_found")
})

test_that("tw_log_batch splits large batches to the server's limits", {
  local_experiment()
  run <- tw_start_run()
  n <- limits$MAX_METRICS_PER_BATCH * 2 + 17
  params <- stats::setNames(as.list(seq_len(250)), paste0("p", seq_len(250)))
  tags <- stats::setNames(as.list(letters), paste0("t_", letters))
  tw_log_batch(
    metrics = data.frame(key = "curve", value = seq_len(n) / 10, step = seq_len(n)),
    params = params, tags = tags
  )
  got <- tw_get_run(run$run_id)
  expect_equal(length(got$params), 250)
  expect_equal(got$params[["p250"]], "250")
  expect_equal(got$tags[["t_z"]], "z")
  history <- tw_get_metric_history("curve")
  expect_equal(nrow(history), n)
  expect_equal(history$value, seq_len(n) / 10)
})

test_that("datasets can be logged as run inputs", {
  local_experiment()
  run <- tw_start_run()
  tw_log_inputs(list(list(
    name = "iris", digest = "abc123", source_type = "local", source = "iris.csv",
    tags = list(context = "training")
  )))
  inputs <- tw_get_run(run$run_id)$inputs
  expect_length(inputs, 1)
  expect_equal(inputs[[1]]$name, "iris")
  expect_equal(inputs[[1]]$tags, c(context = "training"))
})

test_that("tw_log_params, tw_log_metrics and tw_set_tags log named lists in batches", {
  local_experiment()
  run <- tw_start_run()
  # More params than one request may carry.
  tw_log_params(stats::setNames(as.list(seq_len(250)), paste0("p", seq_len(250))))
  tw_log_metrics(list(loss = 0.5, acc = NaN), step = 3)
  at <- as.POSIXct("2026-01-01", tz = "UTC")
  tw_log_metrics(c(loss = 0.25), step = 4, timestamp = at)
  tw_set_tags(c(team = "ml", stage = "dev"))

  got <- tw_get_run(run$run_id)
  expect_length(got$params, 250)
  expect_equal(got$params[["p250"]], "250")
  expect_equal(got$metrics[["loss"]], 0.25)
  expect_true(is.nan(got$metrics[["acc"]]))
  expect_equal(got$tags[c("team", "stage")], c(team = "ml", stage = "dev"))
  history <- tw_get_metric_history("loss")
  expect_equal(history$step, c(3, 4))
  expect_equal(history$timestamp[[2]], at)

  expect_error(tw_log_metrics(list(1, 2)), "named list")
  expect_error(tw_log_metrics(list(a = "x")), "single number")
  expect_error(tw_log_params(list("no name")), "named list")
})
