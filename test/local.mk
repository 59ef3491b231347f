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
# It builds a sanitizer daemon of its own in control-abuse-san/. Makefile.am
# lists it first among the tests: it takes longest, and make -j2 check runs
# the other host tests beside it (its bounds, a median answer under 100 ms
# and the daemon's peak RSS, leave room: it measures medians of 0.4-5 ms);
# the guests' runs wait for it as for every host test.
EXTRA_DIST += test/control-abuse
clean-local: clean-control-abuse
clean-control-abuse:
	-rm -rf control-abuse-san control-abuse-*.log
.PHONY: clean-control-abuse
