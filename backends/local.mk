noinst_LIBRARIES += backends/libbackends.a
backends_libbackends_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
backends_libbackends_a_SOURCES = \
	backends/backend.h \
	backends/backends.c \
	backends/null.c \
	backends/mem.c \
	backends/mem_guard.c backends/mem_guard.h \
	backends/file.c backends/file.h \
	backends/file_open.c \
	backends/file_probe.c
include $(srcdir)/backends/zip.mk
include $(srcdir)/backends/file.mk
