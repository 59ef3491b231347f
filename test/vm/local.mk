# End-to-end tests in the QEMU test guest (see test/vm/README.md).
# `make check` boots Debian's 6.12 kernel once and runs test/e2e/run-suite
# there through test/vm-e2e; configure --disable-vm-tests leaves it out
# (make distcheck does that). test/check-all also runs the 7.x kernel.

# The e2e tests find the build tree through UBLKD_BUILDDIR. automake allows
# one '=' for this variable: a local.mk that also sets it must use '+=' and
# be included after this one (or move this line into its own '=').
AM_TESTS_ENVIRONMENT += UBLKD_BUILDDIR='$(abs_top_builddir)'; export UBLKD_BUILDDIR;

# Host-side checks of the e2e helpers and of test/vm/run's boot retries (no
# guest), then the guest suite.
TESTS += test/vm/selftest test/vm/test-boot-retry
if VM_TESTS
TESTS += test/vm-e2e
# make -j check: the guest runs after every host test and alone (the e2e
# tests' timings and the guests' timeouts assume it has the CPUs), then
# bench/check-quick's guest. Only among the tests being run.
# (Variables name the logs: automake owns the rule of each test's log.)
e2e_log = test/vm-e2e.log
quick_log = bench/check-quick.log
$(e2e_log): $(filter-out test/vm-e2e.log bench/check-quick.log,$(TEST_LOGS))
$(quick_log): $(filter test/vm-e2e.log,$(TEST_LOGS))
endif

EXTRA_DIST += \
	.ci/run \
	test/install-deps \
	test/check-all \
	test/build \
	test/demo \
	test/demo-guest \
	test/memcheck \
	test/vm-e2e \
	test/vm/README.md \
	test/vm/common.sh \
	test/vm/fetch-kernel \
	test/vm/build-initramfs \
	test/vm/init \
	test/vm/run \
	test/vm/classify-boot \
	test/vm/selftest \
	test/vm/test-boot-retry \
	test/vm/fixtures/README \
	test/vm/fixtures/fake-qemu \
	test/vm/fixtures/early-int3-oops.log \
	test/vm/fixtures/early-panic.log \
	test/vm/fixtures/command-failed.log \
	test/vm/fixtures/started-then-panic.log \
	test/vm/fixtures/no-start.log \
	test/e2e/lib.sh \
	test/e2e/run-suite \
	test/e2e/00-harness.sh

# Results of test/vm-e2e (one directory per kernel).
clean-local: clean-vm-test-results
clean-vm-test-results:
	-rm -rf test-results
.PHONY: clean-vm-test-results
