test_that("tw_search_runs returns runs as a data frame with metric, param and tag columns", {
  experiment_id <- local_experiment()
  for (alpha in c(0.1, 0.5, 1)) {
    tw_with_run({
      tw_log_param("alpha", alpha)
      tw_log_metric("rmse", alpha * 2)
      tw_set_tag("family", if (alpha < 1) "small" else "large")
    })
  }
  tw_with_run(tw_log_metric("other", NaN))

  runs <- tw_search_runs(filter = "metrics.rmse < 1.5", order_by = "metrics.rmse DESC")
  expect_s3_class(runs, "data.frame")
  expect_equal(runs$metrics.rmse, c(1, 0.2))
  expect_equal(runs$params.alpha, c("0.5", "0.1"))
  expect_equal(runs$tags.family, c("small", "small"))
  expect_true(all(c("run_id", "status", "start_time", "end_time") %in% names(runs)))
  expect_equal(runs$status, c("FINISHED", "FINISHED"))
  expect_equal(runs$experiment_id, rep(experiment_id, 2))
  expect_s3_class(runs$start_time, "POSIXct")

  all_runs <- tw_search_runs(experiment_ids = experiment_id)
  expect_equal(nrow(all_runs), 4)
  other <- all_runs$metrics.other[!is.na(all_runs$metrics.other) | is.nan(all_runs$metrics.other)]
  expect_true(is.nan(other))
  expect_equal(sum(is.na(all_runs$params.alpha)), 1)

  page <- tw_search_runs(max_results = 3, order_by = "metrics.rmse ASC")
  expect_equal(nrow(page), 3)
  rest <- tw_search_runs(page_token = attr(page, "next_page_token"), order_by = "metrics.rmse ASC")
  expect_equal(nrow(rest), 1)
  expect_length(intersect(page$run_id, rest$run_id), 0)
})

test_that("a search with no match is an empty data frame", {
  local_experiment()
  runs <- tw_search_runs(filter = "metrics.nothing > 0")
  expect_equal(nrow(runs), 0)
  expect_true(all(c("run_id", "status", "start_time") %in% names(runs)))
})
