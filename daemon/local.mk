sbin_PROGRAMS += daemon/ublkd
noinst_LIBRARIES += daemon/libublkd.a
daemon_libublkd_a_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(JSONC_CFLAGS)
daemon_libublkd_a_SOURCES = \
	daemon/rpc.h
include $(srcdir)/daemon/control.mk

daemon_ublkd_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(JSONC_CFLAGS)
daemon_ublkd_SOURCES = daemon/main.c
daemon_ublkd_LDADD = daemon/libublkd.a backends/libbackends.a common/libcommon.a \
	$(URING_LIBS) $(JSONC_LIBS) $(EV_LIBS)
