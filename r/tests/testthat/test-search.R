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

test_that("a search fetches as many pages as max_results needs, and no more", {
  experiment_id <- local_experiment()
  for (i in 1:5) tw_with_run(tw_log_metric("i", i))

  expect_equal(nrow(tw_search_runs()), 5)
  expect_null(attr(tw_search_runs(), "next_page_token"))
  first <- tw_search_runs(order_by = "metrics.i ASC", max_results = 3)
  expect_equal(first$metrics.i, 1:3)
  rest <- tw_search_runs(order_by = "metrics.i ASC", page_token = attr(first, "next_page_token"))
  expect_equal(rest$metrics.i, 4:5)
  expect_error(tw_search_runs(max_results = 0), class = "trackwire_error_invalid_argument")

  # The same against pages smaller than the server's: one item each.
  requested <- c()
  fetch <- function(page_size, token) {
    requested <<- c(requested, page_size)
    start <- if (is.null(token)) 1 else as.integer(token)
    list(items = as.list(start), next_page_token = if (start < 7) as.character(start + 1))
  }
  pages <- fetch_pages(fetch, 5, NULL, 1)
  expect_equal(unlist(pages$items), 1:5)
  expect_equal(pages$next_page_token, "6")
  expect_equal(unlist(fetch_pages(fetch, Inf, pages$next_page_token, 1)$items), 6:7)
  requested <- c()
  fetch_pages(fetch, 2, NULL, 50)
  expect_equal(requested, c(2, 1))
})
