test_that("server errors are classed conditions carrying the server's message", {
  local_server()
  err <- expect_error(tw_get_run("no-such-run"), class = "trackwire_error_not_found")
  expect_s3_class(err, "trackwire_error")
  expect_match(conditionMessage(err), "no-such-run")
  expect_equal(err$error_code, "RESOURCE_DOES_NOT_EXIST")
  expect_equal(err$status, 404)

  name <- paste0("dup-", basename(tempfile("")))
  tw_create_experiment(name)
  expect_error(tw_create_experiment(name), class = "trackwire_error_already_exists")

  expect_error(tw_create_experiment(strrep("x", limits$MAX_EXPERIMENT_NAME_LENGTH + 1)),
               class = "trackwire_error_invalid_argument")
})

test_that("a param cannot change value", {
  local_experiment()
  tw_start_run()
  tw_log_param("alpha", 0.5)
  tw_log_param("alpha", 0.5)
  expect_error(tw_log_param("alpha", 0.6), "Changing param values is not allowed",
               class = "trackwire_error_invalid_argument")
})
