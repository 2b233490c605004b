# Parts that need no server.

test_that("the tracking URI comes from the setter, the environment, then the default", {
  withr::defer(state$tracking_uri <- NULL)
  state$tracking_uri <- NULL
  withr::with_envvar(c(TRACKWIRE_TRACKING_URI = "http://example.org:1234/",
                       MLFLOW_TRACKING_URI = "http://mlflow.example.org"), {
    expect_equal(tw_get_tracking_uri(), "http://example.org:1234/")
    expect_equal(tw_client()$uri, "http://example.org:1234")
  })
  withr::with_envvar(c(TRACKWIRE_TRACKING_URI = "", MLFLOW_TRACKING_URI = "http://mlflow:80"), {
    expect_equal(tw_get_tracking_uri(), "http://mlflow:80")
  })
  withr::with_envvar(c(TRACKWIRE_TRACKING_URI = "", MLFLOW_TRACKING_URI = ""), {
    expect_equal(tw_get_tracking_uri(), "http://127.0.0.1:5000")
    tw_set_tracking_uri("https://tracking.example.org")
    expect_equal(tw_get_tracking_uri(), "https://tracking.example.org")
  })
})

test_that("a gRPC URI is refused with the HTTP URI to use instead", {
  err <- expect_error(tw_client("grpc://10.1.2.3:50051"), class = "trackwire_error_tracking_uri")
  expect_s3_class(err, "trackwire_error_invalid_argument")
  expect_equal(err$http_uri, "http://10.1.2.3:5000")
  expect_match(conditionMessage(err), "use the server's HTTP address, e.g. http://10.1.2.3:5000")
  expect_match(conditionMessage(err), "port 5000")
  err <- expect_error(tw_set_tracking_uri("grpcs://tracking.example.org"),
                      class = "trackwire_error_tracking_uri")
  expect_equal(err$http_uri, "https://tracking.example.org:5000")
  err <- expect_error(tw_client("grpc://[::1]:50051/"), class = "trackwire_error_tracking_uri")
  expect_equal(err$http_uri, "http://[::1]:5000")
})

test_that("other non-HTTP tracking URIs are refused with a clear message", {
  err <- expect_error(tw_client("sqlite:///trackwire.db"), class = "trackwire_error_tracking_uri")
  expect_match(conditionMessage(err), "trackwire server --backend-store-uri sqlite:///trackwire.db")
  expect_error(tw_client("ftp://x"), "must start with http:// or https://",
               class = "trackwire_error_tracking_uri")
  expect_error(tw_client(c("http://a", "http://b")), "a single string")
})

test_that("TRACKWIRE_TOKEN, then MLFLOW_TRACKING_TOKEN, is sent as a bearer token", {
  bearer <- function(...) {
    withr::with_envvar(c(...), build_request(tw_client("http://127.0.0.1:1"), "GET", "/x"))
  }
  req <- bearer(TRACKWIRE_TOKEN = "s3cret", MLFLOW_TRACKING_TOKEN = "other")
  expect_equal(req$headers$Authorization, "Bearer s3cret")
  req <- bearer(TRACKWIRE_TOKEN = "", MLFLOW_TRACKING_TOKEN = "mlflow-token")
  expect_equal(req$headers$Authorization, "Bearer mlflow-token")
  req <- bearer(TRACKWIRE_TOKEN = "", MLFLOW_TRACKING_TOKEN = "")
  expect_null(req$headers$Authorization)
})

test_that("doubles are written exactly, non-finite ones as MLflow's strings", {
  expect_equal(to_json(list(v = json_double(1 / 3))), '{"v":0.33333333333333331}')
  expect_equal(to_json(list(v = json_double(0.1))), '{"v":0.1}')
  expect_equal(to_json(list(v = json_double(NaN))), '{"v":"NaN"}')
  expect_equal(to_json(list(v = json_double(-Inf))), '{"v":"-Infinity"}')
  expect_equal(to_json(list(t = json_int(1795975108519))), '{"t":1795975108519}')
  expect_equal(parse_double("Infinity"), Inf)
})

test_that("an unreachable server is a trackwire_error_unavailable", {
  port <- free_port()
  expect_error(
    tw_get_experiment("0", client = tw_client(paste0("http://127.0.0.1:", port))),
    class = "trackwire_error_unavailable"
  )
})

test_that("log functions need an active run or a run_id", {
  expect_error(tw_log_param("a", "b"), "no active run")
})
