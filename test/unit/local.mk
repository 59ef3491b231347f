# Unit tests of the daemon's core and the backends (Check).
UNIT_LDADD = daemon/libublkd.a backends/libbackends.a common/libcommon.a \
	$(CHECK_LIBS) $(URING_LIBS) $(JSONC_LIBS) $(EV_LIBS) $(LIBZIP_LIBS) $(ZLIB_LIBS) $(LIBNBD_LIBS) $(RBD_LIBS)
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(URING_CFLAGS) $(JSONC_CFLAGS)

check_PROGRAMS += test/unit/check_backends test/unit/check_io \
	test/unit/check_params test/unit/check_ctrl test/unit/check_idle \
	test/unit/check_state
TESTS += test/unit/check_backends test/unit/check_io \
	test/unit/check_params test/unit/check_ctrl test/unit/check_idle \
	test/unit/check_state

test_unit_check_backends_SOURCES = test/unit/check_backends.c \
	test/unit/backend_test.c test/unit/backend_test.h
test_unit_check_backends_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_backends_LDADD = $(UNIT_LDADD)
test_unit_check_io_SOURCES = test/unit/check_io.c
test_unit_check_io_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_io_LDADD = $(UNIT_LDADD)
test_unit_check_params_SOURCES = test/unit/check_params.c
test_unit_check_params_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_params_LDADD = $(UNIT_LDADD)
test_unit_check_state_SOURCES = test/unit/check_state.c
test_unit_check_state_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_state_LDADD = $(UNIT_LDADD)
check_PROGRAMS += test/unit/check_io_threads test/unit/check_ringwatch test/unit/check_evwatch \
	test/unit/check_loop_wait test/unit/check_loop_poll test/unit/check_queue
TESTS += test/unit/check_io_threads test/unit/check_ringwatch test/unit/check_evwatch \
	test/unit/check_loop_wait test/unit/check_loop_poll test/unit/check_queue
test_unit_check_queue_SOURCES = test/unit/check_queue.c \
	test/unit/log_capture.c test/unit/log_capture.h \
	test/unit/ring_refusal.c test/unit/ring_refusal.h
test_unit_check_queue_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_queue_LDADD = $(UNIT_LDADD)
test_unit_check_loop_poll_SOURCES = test/unit/check_loop_poll.c
test_unit_check_loop_poll_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_loop_poll_LDADD = $(UNIT_LDADD)
test_unit_check_loop_wait_SOURCES = test/unit/check_loop_wait.c
test_unit_check_loop_wait_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_loop_wait_LDADD = $(UNIT_LDADD)
test_unit_check_evwatch_SOURCES = test/unit/check_evwatch.c
test_unit_check_evwatch_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_evwatch_LDADD = $(UNIT_LDADD)
test_unit_check_ringwatch_SOURCES = test/unit/check_ringwatch.c
test_unit_check_ringwatch_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_ringwatch_LDADD = $(UNIT_LDADD)
test_unit_check_io_threads_SOURCES = test/unit/check_io_threads.c \
	test/unit/backend_test.c test/unit/backend_test.h
test_unit_check_io_threads_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_io_threads_LDADD = $(UNIT_LDADD)
test_unit_check_ctrl_SOURCES = test/unit/check_ctrl.c \
	test/unit/ring_refusal.c test/unit/ring_refusal.h
test_unit_check_ctrl_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_ctrl_LDADD = $(UNIT_LDADD)

# The methods, through rpc.c with the real method table, over a fake
# connection and the fake device layer: built from their sources, without
# libublkd.a, so no device.c or control.c is in the program at all.
check_PROGRAMS += test/unit/check_methods
TESTS += test/unit/check_methods
test_unit_check_methods_SOURCES = test/unit/check_methods.c \
	test/unit/fake_device.c test/unit/fake_device.h \
	daemon/methods.c daemon/add_spec.c daemon/params.c daemon/rpc.c daemon/json_strict.c \
	daemon/access.c daemon/add_creds.c \
	daemon/rpc_log.c \
	daemon/device_recovery.c
test_unit_check_methods_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_methods_LDADD = backends/libbackends.a common/libcommon.a \
	$(CHECK_LIBS) $(URING_LIBS) $(JSONC_LIBS) $(EV_LIBS) $(LIBZIP_LIBS) $(ZLIB_LIBS) $(LIBNBD_LIBS) $(RBD_LIBS)

test_unit_check_idle_SOURCES = test/unit/check_idle.c
test_unit_check_idle_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_idle_LDADD = $(UNIT_LDADD)

# The device pipelines against a fake driver and backend.
check_PROGRAMS += test/unit/check_device
TESTS += test/unit/check_device
test_unit_check_device_SOURCES = test/unit/check_device.c \
	test/unit/fake_driver.c test/unit/fake_driver.h
test_unit_check_device_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_device_LDADD = $(UNIT_LDADD)

# The state records over the real registry and the fake driver.
check_PROGRAMS += test/unit/check_records
TESTS += test/unit/check_records
test_unit_check_records_SOURCES = test/unit/check_records.c \
	test/unit/fake_driver.c test/unit/fake_driver.h
test_unit_check_records_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_records_LDADD = $(UNIT_LDADD)

# Strict UTF-8, escaped log lines and the rate limiter (common/).
check_PROGRAMS += test/unit/check_text
TESTS += test/unit/check_text
test_unit_check_text_SOURCES = test/unit/check_text.c
test_unit_check_text_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
test_unit_check_text_LDADD = common/libcommon.a $(CHECK_LIBS)
