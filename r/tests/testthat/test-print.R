# How runs, experiments and search results read in the console.

test_that("a run prints as a summary of its name, status, params, metrics and tags", {
  experiment_id <- local_experiment()
  run <- tw_with_run(function(run) {
    tw_log_params(list(alpha = 0.5, solver = "qr"))
    tw_log_metrics(list(rmse = 0.123456, loss = NaN))
    tw_set_tags(list(team = "ml"))
    run
  }, run_name = "ridge")
  text <- capture.output(print(tw_get_run(run$run_id)))
  expect_match(text[[1]], paste0("<trackwire run ", run$run_id, "> \"ridge\" in experiment ",
                                 experiment_id), fixed = TRUE)
  expect_match(text, "status: +FINISHED, started .*, took ", all = FALSE)
  expect_match(text, "params: +alpha = 0.5, solver = qr", all = FALSE)
  expect_match(text, "metrics: +loss = NaN, rmse = 0.1235", all = FALSE)
  expect_match(text, "tags: +team = ml$", all = FALSE)
  expect_identical(format(tw_get_run(run$run_id)), text)
})

test_that("an experiment prints its id, name, stage and tags", {
  experiment_id <- local_experiment()
  tw_set_experiment_tag(experiment_id, "team", "ml")
  text <- capture.output(tw_get_experiment(experiment_id))
  expect_match(text[[1]], paste0("<trackwire experiment ", experiment_id, "> \"test-.*\" \\(active\\)"))
  expect_match(text, "tags: +team = ml", all = FALSE)
})

test_that("search results print the columns that tell rows apart, and say when more match", {
  experiment_id <- local_experiment()
  for (alpha in c(1, 2, 3)) tw_with_run(tw_log_params(list(alpha = alpha)))
  runs <- tw_search_runs(max_results = 2)
  text <- capture.output(print(runs))
  expect_match(text[[1]], paste0("^# 2 trackwire runs in experiment ", experiment_id,
                                 "; more match"))
  expect_match(text, "params.alpha", all = FALSE)
  expect_false(any(grepl("artifact_uri|tags.mlflow|lifecycle_stage", text)))
  expect_true("artifact_uri" %in% names(runs))

  text <- capture.output(print(tw_search_runs(), n = 1))
  expect_match(text[[1]], "^# 3 trackwire runs")
  expect_match(text[[length(text)]], "# ... 2 more runs: print(x, n = 3)", fixed = TRUE)
  expect_equal(capture.output(tw_search_runs(filter = "params.alpha = '9'")), "# 0 trackwire runs")

  text <- capture.output(tw_search_experiments(filter = paste0("name = 'no-such'")))
  expect_equal(text, "# 0 trackwire experiments")
  text <- capture.output(tw_search_experiments())
  expect_match(text[[1]], "^# [0-9]+ trackwire experiments")
  expect_false(any(grepl("artifact_location", text)))
})
