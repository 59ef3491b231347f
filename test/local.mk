include $(srcdir)/test/unit/local.mk
include $(srcdir)/test/vm/local.mk
include $(srcdir)/test/e2e/local.mk

# Calls flow one way between layers; backends see only backend.h.
TESTS += test/layering
EXTRA_DIST += test/layering

# The control socket under malformed and mutated requests: a real ublkd,
# no ublk driver needed. Also run in the sanitizer build (build-san).
check_PROGRAMS += test/control-fuzz
TESTS += test/control-fuzz
test_control_fuzz_SOURCES = test/control-fuzz.c
test_control_fuzz_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
test_control_fuzz_LDADD = $(JSONC_LIBS)
# The control socket under abuse (issue 15): a real ublkd, no driver needed.
# It builds a sanitizer daemon of its own in control-abuse-san/.
TESTS += test/control-abuse
EXTRA_DIST += test/control-abuse
# make -j check: control-abuse times the daemon's answers, so it runs alone,
# after every other host test (the guests' runs wait for it in turn). (A
# variable names the log: automake owns the rule of each test's log.)
abuse_log = test/control-abuse.log
$(abuse_log): $(filter-out test/control-abuse.log test/vm-e2e.log \
	bench/check-quick.log,$(TEST_LOGS))
clean-local: clean-control-abuse
clean-control-abuse:
	-rm -rf control-abuse-san control-abuse-*.log
.PHONY: clean-control-abuse
