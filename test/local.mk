include $(srcdir)/test/unit/local.mk
include $(srcdir)/test/vm/local.mk
include $(srcdir)/test/e2e/local.mk
