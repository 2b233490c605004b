test_that("registered models and versions are created, fetched and searched", {
  local_server()
  name <- paste0("model-", basename(tempfile("")))
  run_id <- tw_start_run(experiment_id = tw_create_experiment(paste0(name, "-exp")))$run_id
  tw_end_run()
  model <- tw_create_registered_model(name)
  expect_equal(model$name, name)
  first <- tw_create_model_version(name, paste0("runs:/", run_id, "/model"), run_id = run_id)
  tw_create_model_version(name, paste0("runs:/", run_id, "/model"), run_id = run_id)
  expect_equal(first$version, "1")
  expect_equal(first$status, "READY")
  expect_equal(tw_get_model_version(name, 2)$run_id, run_id)
  expect_equal(tw_get_registered_model(name)$versions[[1]]$version, "2")

  models <- tw_search_registered_models(filter = paste0("name = '", name, "'"))
  expect_s3_class(models, "data.frame")
  expect_equal(models$name, name)
  versions <- tw_search_model_versions(filter = paste0("name = '", name, "'"), max_results = 1)
  expect_equal(nrow(versions), 1)
  expect_equal(nrow(tw_search_model_versions(filter = paste0("name = '", name, "'"))), 2)
  # MLflow answers INVALID_PARAMETER_VALUE for an alias that names no version.
  expect_error(tw_get_model_version_by_alias(name, "champion"), class = "trackwire_error_invalid_argument")
})
