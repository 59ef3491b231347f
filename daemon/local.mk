sbin_PROGRAMS += daemon/ublkd
noinst_LIBRARIES += daemon/libublkd.a
daemon_libublkd_a_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(JSONC_CFLAGS)
daemon_libublkd_a_SOURCES = \
	daemon/rpc.h \
	daemon/ctrl.c daemon/ctrl.h \
	daemon/device.c daemon/device.h \
	daemon/device_recovery.c \
	daemon/device_recover.c \
	daemon/evwatch.c daemon/evwatch.h \
	daemon/idle.c daemon/idle.h \
	daemon/io.c daemon/io.h \
	daemon/io_threads.c daemon/io_threads.h \
	daemon/loop_wait.c daemon/loop_wait.h \
	daemon/memlock.c daemon/memlock.h \
	daemon/methods.c daemon/methods.h \
	daemon/add_spec.c daemon/add_spec.h \
	daemon/access.c daemon/access.h \
	daemon/add_creds.c daemon/add_creds.h \
	daemon/device_node.c daemon/device_node.h \
	daemon/records.c daemon/records.h \
	daemon/params.c daemon/params.h \
	daemon/queue.c daemon/queue.h \
	daemon/queue_batch.c daemon/queue_batch.h \
	daemon/ringwatch.c daemon/ringwatch.h \
	daemon/state.c daemon/state.h
# The device pipelines, their kernel driver, the JSON view, the ublk_params.
daemon_libublkd_a_SOURCES += \
	daemon/device_pipeline.h daemon/device_add.c daemon/device_del.c \
	daemon/device_affinity.c \
	daemon/device_driver.h daemon/device_kernel.c \
	daemon/device_json.c daemon/device_json.h \
	daemon/io_params.c
include $(srcdir)/daemon/control.mk

daemon_ublkd_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(JSONC_CFLAGS)
daemon_ublkd_SOURCES = daemon/main.c
daemon_ublkd_LDADD = daemon/libublkd.a backends/libbackends.a common/libcommon.a \
	$(URING_LIBS) $(JSONC_LIBS) $(EV_LIBS) $(LIBZIP_LIBS) $(ZLIB_LIBS) $(LIBNBD_LIBS) $(RBD_LIBS)
dist_man_MANS += daemon/ublkd.8
