include $(srcdir)/test/unit/local.mk
include $(srcdir)/test/vm/local.mk
include $(srcdir)/test/e2e/local.mk

# Calls flow one way between layers; backends see only backend.h.
TESTS += test/layering
EXTRA_DIST += test/layering
# The control socket under abuse (issue 15): a real ublkd, no driver needed.
# It builds a sanitizer daemon of its own in control-abuse-san/.
TESTS += test/control-abuse
EXTRA_DIST += test/control-abuse
clean-local: clean-control-abuse
clean-control-abuse:
	-rm -rf control-abuse-san control-abuse-*.log
.PHONY: clean-control-abuse
