test_that("experiments can be created, read, renamed, tagged, deleted and restored", {
  local_server()
  name <- paste0("exp-", basename(tempfile("")))
  id <- tw_create_experiment(name, tags = list(team = "ml"))
  experiment <- tw_get_experiment(id)
  expect_equal(experiment$name, name)
  expect_equal(experiment$lifecycle_stage, "active")
  expect_equal(experiment$tags[["team"]], "ml")
  expect_s3_class(experiment$creation_time, "POSIXct")
  expect_equal(tw_get_experiment_by_name(name)$experiment_id, id)

  tw_rename_experiment(id, paste0(name, "-renamed"))
  tw_set_experiment_tag(id, "stage", "dev")
  tw_delete_experiment_tag(id, "team")
  experiment <- tw_get_experiment(id)
  expect_equal(experiment$name, paste0(name, "-renamed"))
  expect_equal(experiment$tags, c(stage = "dev"))

  tw_delete_experiment(id)
  expect_equal(tw_get_experiment(id)$lifecycle_stage, "deleted")
  tw_restore_experiment(id)
  expect_equal(tw_get_experiment(id)$lifecycle_stage, "active")
})

test_that("tw_set_experiment creates by name once and reuses it", {
  local_server()
  name <- paste0("set-", basename(tempfile("")))
  id <- tw_set_experiment(name)
  expect_equal(tw_set_experiment(name), id)
  expect_equal(tw_set_experiment(experiment_id = id), id)
  expect_error(tw_set_experiment(), "exactly one")
})

test_that("tw_search_experiments returns a data frame and pages", {
  local_server()
  prefix <- paste0("search-", basename(tempfile("")))
  for (i in 1:3) tw_create_experiment(paste0(prefix, "-", i), tags = list(n = as.character(i)))
  found <- tw_search_experiments(filter = paste0("name LIKE '", prefix, "%'"), order_by = "name ASC")
  expect_s3_class(found, "data.frame")
  expect_equal(found$name, paste0(prefix, "-", 1:3))
  expect_equal(found$tags.n, c("1", "2", "3"))
  expect_null(attr(found, "next_page_token"))

  first <- tw_search_experiments(filter = paste0("name LIKE '", prefix, "%'"),
                                 order_by = "name ASC", max_results = 2)
  expect_equal(nrow(first), 2)
  rest <- tw_search_experiments(filter = paste0("name LIKE '", prefix, "%'"), order_by = "name ASC",
                                page_token = attr(first, "next_page_token"))
  expect_equal(rest$name, paste0(prefix, "-3"))
})
