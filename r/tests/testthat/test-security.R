# https:// with a private CA (TRACKWIRE_CA_CERT), against a server started
# with --tls-cert/--tls-key; certificates made with the openssl command.

openssl <- function(...) {
  out <- processx::run("openssl", c(...), error_on_status = FALSE, stderr_to_stdout = TRUE)
  if (out$status != 0) stop("openssl ", paste(c(...), collapse = " "), " failed:\n", out$stdout)
}

# A CA, and a certificate for 127.0.0.1 and localhost signed by it.
make_certificates <- function(dir) {
  path <- function(name) file.path(dir, name)
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
          "-subj", "/CN=trackwire test CA", "-keyout", path("ca.key"), "-out", path("ca.pem"))
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
          "-keyout", path("server.key"), "-out", path("server.csr"))
  writeLines("subjectAltName=DNS:localhost,IP:127.0.0.1", path("san.ext"))
  openssl("x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"),
          "-CAkey", path("ca.key"), "-CAcreateserial", "-days", "1",
          "-extfile", path("san.ext"), "-out", path("server.pem"))
  list(ca = path("ca.pem"), cert = path("server.pem"), key = path("server.key"))
}

test_that("https:// trusts the CA named by TRACKWIRE_CA_CERT", {
  bin <- server_bin()
  dir <- withr::local_tempdir()
  certs <- make_certificates(dir)
  srv <- new_server(bin, c("--tls-cert", certs$cert, "--tls-key", certs$key), scheme = "https")
  srv$start()
  withr::local_options(trackwire.retry_delays = numeric())

  withr::with_envvar(c(TRACKWIRE_CA_CERT = ""), {
    expect_error(tw_get_experiment("0", client = tw_client(srv$uri, token = "")),
                 class = "trackwire_error_unavailable")
  })
  withr::with_envvar(c(TRACKWIRE_CA_CERT = certs$ca), {
    client <- tw_client(srv$uri, token = "")
    id <- tw_create_experiment("over-tls", client = client)
    expect_equal(tw_get_experiment(id, client = client)$name, "over-tls")
  })
})
