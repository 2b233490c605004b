test_that("a run goes from RUNNING to FINISHED with its name, tags and times", {
  experiment_id <- local_experiment()
  run <- tw_start_run(run_name = "baseline", tags = list(model = "ridge"))
  expect_equal(tw_active_run_id(), run$run_id)
  expect_equal(run$status, "RUNNING")
  expect_equal(run$experiment_id, experiment_id)
  expect_equal(run$run_name, "baseline")
  expect_equal(run$tags[["model"]], "ridge")
  expect_true(is.na(run$end_time))
  expect_error(tw_start_run(), "already active")

  tw_end_run()
  expect_null(tw_active_run_id())
  run <- tw_get_run(run$run_id)
  expect_equal(run$status, "FINISHED")
  expect_false(is.na(run$end_time))
  expect_gte(as.numeric(run$end_time), as.numeric(run$start_time))
})

test_that("tw_with_run ends FINISHED, or FAILED when an error escapes", {
  local_experiment()
  run_id <- tw_with_run(tw_active_run_id(), run_name = "ok")
  expect_equal(tw_get_run(run_id)$status, "FINISHED")
  expect_null(tw_active_run_id())

  failed_id <- NULL
  expect_error(tw_with_run(function(run) {
    failed_id <<- run$run_id
    stop("training diverged")
  }), "training diverged")
  expect_equal(tw_get_run(failed_id)$status, "FAILED")
  expect_null(tw_active_run_id())
})

test_that("nested runs record their parent; resumed runs run again", {
  local_experiment()
  parent <- tw_start_run()
  child <- tw_start_run(nested = TRUE)
  expect_equal(child$tags[["mlflow.parentRunId"]], parent$run_id)
  tw_end_run()
  expect_equal(tw_active_run_id(), parent$run_id)
  tw_end_run("KILLED")
  expect_equal(tw_get_run(parent$run_id)$status, "KILLED")

  resumed <- tw_start_run(run_id = parent$run_id)
  expect_equal(resumed$status, "RUNNING")
  tw_end_run()
})

test_that("runs can be renamed, deleted and restored", {
  local_experiment()
  run <- tw_create_run(run_name = "before", start_time = as.POSIXct("2024-01-02", tz = "UTC"))
  expect_equal(run$start_time, as.POSIXct("2024-01-02", tz = "UTC"))
  tw_update_run(run$run_id, run_name = "after")
  expect_equal(tw_get_run(run$run_id)$run_name, "after")
  tw_delete_run(run$run_id)
  expect_equal(tw_get_run(run$run_id)$lifecycle_stage, "deleted")
  tw_restore_run(run$run_id)
  expect_equal(tw_get_run(run$run_id)$lifecycle_stage, "active")
})

test_that("tw_delete_runs deletes the oldest runs up to a time and a count", {
  experiment_id <- local_experiment()
  run_ids <- vapply(1:3, function(t) {
    tw_create_run(experiment_id, start_time = t)$run_id
  }, character(1))
  expect_identical(tw_delete_runs(experiment_id, 2, max_runs = 1), 1L)
  expect_equal(tw_get_run(run_ids[[1]])$lifecycle_stage, "deleted")
  expect_identical(tw_delete_runs(experiment_id, 2), 1L)
  expect_identical(tw_delete_runs(experiment_id, 2), 0L)
  expect_equal(tw_search_runs(experiment_id)$run_id, run_ids[[3]])
  expect_error(tw_delete_runs("987654321", 1), class = "trackwire_error_not_found")
  expect_error(tw_delete_runs(experiment_id, 0), "max_timestamp_millis",
               class = "trackwire_error_invalid_argument")
})
