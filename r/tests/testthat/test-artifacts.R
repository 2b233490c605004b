test_that("a file is uploaded, listed and downloaded", {
  local_experiment()
  tw_start_run()
  file <- withr::local_tempfile(fileext = ".txt")
  writeLines(c("hello", "world"), file)
  tw_log_artifact(file, artifact_path = "notes")
  listing <- tw_list_artifacts("notes")
  expect_equal(listing$path, paste0("notes/", basename(file)))
  expect_false(listing$is_dir)
  expect_equal(listing$file_size, file.size(file))
  local <- tw_download_artifacts(listing$path)
  expect_equal(readLines(local), c("hello", "world"))
})

test_that("a directory is uploaded and downloaded with its layout, bytes intact", {
  local_experiment()
  tw_start_run()
  dir <- withr::local_tempfile()
  dir.create(file.path(dir, "deep", "er"), recursive = TRUE)
  set.seed(1)
  payload <- as.raw(sample(0:255, 3e6, replace = TRUE))
  writeBin(payload, file.path(dir, "deep", "er", "model.bin"))
  writeLines("{}", file.path(dir, "config.json"))
  tw_log_artifact(dir, artifact_path = "model")

  top <- tw_list_artifacts()
  expect_equal(top$path, "model")
  expect_true(top$is_dir)
  expect_true(is.na(top$file_size))

  local <- tw_download_artifacts("model", dest_dir = withr::local_tempfile())
  expect_setequal(list.files(local, recursive = TRUE), c("config.json", "deep/er/model.bin"))
  expect_identical(readBin(file.path(local, "deep", "er", "model.bin"), "raw", 4e6), payload)

  everything <- tw_download_artifacts()
  expect_true(file.exists(file.path(everything, "model", "config.json")))
})

test_that("a missing artifact is trackwire_error_not_found", {
  local_experiment()
  tw_start_run()
  expect_error(tw_download_artifacts("nope.txt"), class = "trackwire_error_not_found")
})

test_that("artifacts can be deleted", {
  local_experiment()
  tw_start_run()
  file <- withr::local_tempfile(fileext = ".txt")
  writeLines("x", file)
  tw_log_artifact(file, artifact_path = "a/b")
  tw_log_artifact(file, artifact_path = "keep")
  tw_delete_artifacts("a")
  expect_equal(tw_list_artifacts()$path, "keep")
})
