# The benchmark suite (issue 6): ublkd's devices against the kernel's own in
# one boot of the test guest. `make bench` runs it in full (30 to 60 minutes on
# a loaded 2-core machine; BENCH_FLAGS passes options, e.g.
# BENCH_FLAGS='--pairs null,mem --rounds 5'); bench/check-quick runs
# bench/run --quick. See bench/run --help.

# make check runs bench/check-quick (one guest boot, about 5 minutes; its
# kublk pair, knull, takes about one of them on a loaded host) after
# the e2e suite, so the benchmark code cannot rot; it never judges speed.
# Its kublk pair makes bench/run download and build kublk (bench/fetch-kublk)
# the first time, so that code is run too.
if VM_TESTS
TESTS += bench/check-quick
endif
# bench/check-targets feeds bench/report made-up guest output on the host
# and checks the targets it judges met, missed or not measured.
TESTS += bench/check-targets

bench: all
	UBLKD_BUILDDIR='$(abs_top_builddir)' $(srcdir)/bench/run $(BENCH_FLAGS)
.PHONY: bench

EXTRA_DIST += \
	bench/run \
	bench/fetch-kublk \
	bench/guest \
	bench/pairs \
	bench/report \
	bench/check-quick \
	bench/check-targets \
	bench/summarize.jq \
	bench/plot-pair.gp \
	bench/plot-ratios.gp

# Results of make bench and of the quick run in make check.
clean-local: clean-bench-results
clean-bench-results:
	-rm -rf bench/results bench/results-quick
.PHONY: clean-bench-results

# kublk, which bench/fetch-kublk builds from the cached Debian packages
# (kept by make clean: rebuilding it takes about 30 s).
distclean-local: distclean-kublk
distclean-kublk:
	-rm -rf bench/kublk bench/kublk.tmp bench/kublk-src bench/.kublk.*
.PHONY: distclean-kublk
