library(testthat)
library(trackwire)

test_check("trackwire")
