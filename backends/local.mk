noinst_LIBRARIES += backends/libbackends.a
backends_libbackends_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
backends_libbackends_a_SOURCES = \
	backends/backend.h \
	backends/backends.c \
	backends/null.c \
	backends/mem.c
include $(srcdir)/backends/zip.mk
