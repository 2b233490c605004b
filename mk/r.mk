# R client (r/): generated bindings, R CMD build + check against a real server.

R_APT_PACKAGES := r-base-core r-cran-testthat r-cran-httr2 r-cran-jsonlite r-cran-curl r-cran-openssl \
                  r-cran-roxygen2 r-cran-pkgload r-cran-processx r-cran-withr r-cran-knitr \
                  r-cran-markdown
R_PACKAGES     := testthat httr2 jsonlite curl openssl roxygen2 pkgload processx withr knitr markdown
R_HAS_PACKAGES := pkgs <- strsplit("$(R_PACKAGES)", " ")[[1]]; \
                  quit(status = !all(vapply(pkgs, requireNamespace, logical(1), quietly = TRUE)))
R_BUILD        := build/r
R_TARBALL      := trackwire_$(shell cat VERSION).tar.gz

.PHONY: r-deps gen-r test-r

GEN_TARGETS  += gen-r
TEST_TARGETS += test-r
CI_DEPS      += r-deps
GENERATED    += r/R/bindings.R r/R/limits.R r/DESCRIPTION r/NAMESPACE r/man

r-deps: ## install R and the R packages from Debian (CRAN is not needed)
	@if command -v Rscript >/dev/null && Rscript -e '$(R_HAS_PACKAGES)'; then \
	  echo "R and its packages are installed"; \
	else \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    $(R_APT_PACKAGES); \
	fi

# Bindings, limits and DESCRIPTION from the descriptors, then NAMESPACE and man/ with roxygen2.
gen-r: gen-python venv
	$(PY) tools/gen_r_bindings.py .
	cd r && Rscript -e 'roxygen2::roxygenise()'

# The build (which knits the vignette) and the check (which knits it again and runs the
# testthat suite) each start throwaway `trackwire server`s; the check must end
# "Status: OK" with no skipped test (R CMD check itself exits 0 on NOTEs and WARNINGs).
test-r: venv ## R CMD build + R CMD check --no-manual, testthat against a real server
	rm -rf $(R_BUILD) && mkdir -p $(R_BUILD)
	cd $(R_BUILD) && TRACKWIRE_SERVER_BIN=$(abspath $(VENV)/bin/trackwire) R CMD build ../../r
	cd $(R_BUILD) && TRACKWIRE_SERVER_BIN=$(abspath $(VENV)/bin/trackwire) \
	  R CMD check --no-manual $(R_TARBALL)
	@log=$(R_BUILD)/trackwire.Rcheck/00check.log; status=$$(grep '^Status:' $$log); \
	echo "R CMD check: $$status"; \
	if [ "$$status" != "Status: OK" ]; then echo "R CMD check is not clean: see $$log"; exit 1; fi
	@summary=$$(grep -E '^\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' \
	  $(R_BUILD)/trackwire.Rcheck/tests/testthat.Rout); echo "testthat: $$summary"; \
	case "$$summary" in *"SKIP 0 |"*) ;; *) echo "R tests were skipped"; exit 1;; esac
