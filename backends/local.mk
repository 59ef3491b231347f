noinst_LIBRARIES += backends/libbackends.a
backends_libbackends_a_CFLAGS = $(AM_CFLAGS)
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
include $(srcdir)/backends/nbd.mk
include $(srcdir)/backends/rbd.mk

# backend-doc prints the backends' parameter tables for the build: ublkctl's
# option rows (client/backend_options.c) and the BACKENDS section of
# ublkctl(1) are generated from them (client/local.mk).
noinst_PROGRAMS += backends/backend-doc
backends_backend_doc_SOURCES = backends/backend_doc.c
backends_backend_doc_LDADD = backends/libbackends.a common/libcommon.a \
	$(URING_LIBS) $(LIBZIP_LIBS) $(ZLIB_LIBS) $(LIBNBD_LIBS) $(RBD_LIBS)
