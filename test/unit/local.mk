# Unit tests of the daemon's core and the backends (Check).
UNIT_LDADD = daemon/libublkd.a backends/libbackends.a common/libcommon.a \
	$(CHECK_LIBS) $(URING_LIBS) $(JSONC_LIBS) $(EV_LIBS) $(LIBZIP_LIBS) $(ZLIB_LIBS)
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(URING_CFLAGS) $(JSONC_CFLAGS)

check_PROGRAMS += test/unit/check_backends test/unit/check_io \
	test/unit/check_params test/unit/check_ctrl
TESTS += test/unit/check_backends test/unit/check_io \
	test/unit/check_params test/unit/check_ctrl

test_unit_check_backends_SOURCES = test/unit/check_backends.c
test_unit_check_backends_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_backends_LDADD = $(UNIT_LDADD)
test_unit_check_io_SOURCES = test/unit/check_io.c
test_unit_check_io_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_io_LDADD = $(UNIT_LDADD)
test_unit_check_params_SOURCES = test/unit/check_params.c
test_unit_check_params_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_params_LDADD = $(UNIT_LDADD)
test_unit_check_ctrl_SOURCES = test/unit/check_ctrl.c
test_unit_check_ctrl_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_ctrl_LDADD = $(UNIT_LDADD)

# The device pipelines against a fake driver and backend.
check_PROGRAMS += test/unit/check_device
TESTS += test/unit/check_device
test_unit_check_device_SOURCES = test/unit/check_device.c \
	test/unit/fake_driver.c test/unit/fake_driver.h
test_unit_check_device_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_device_LDADD = $(UNIT_LDADD)
