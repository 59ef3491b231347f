# The control socket and JSON-RPC layer, and their unit tests.
daemon_libublkd_a_SOURCES += \
	daemon/activation.c daemon/activation.h \
	daemon/control.c daemon/control.h \
	daemon/control_socket.c daemon/control_socket.h \
	daemon/rpc.c \
	daemon/json_strict.c daemon/json_strict.h \
	daemon/rpc_log.c daemon/rpc_log.h

CONTROL_TEST_LDADD = daemon/libublkd.a common/libcommon.a \
	$(CHECK_LIBS) $(JSONC_LIBS) $(EV_LIBS) -lpthread
CONTROL_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS)

check_PROGRAMS += test/unit/check_rpc test/unit/check_control
TESTS += test/unit/check_rpc test/unit/check_control
test_unit_check_rpc_SOURCES = test/unit/check_rpc.c \
	test/unit/control_harness.c test/unit/control_harness.h
test_unit_check_rpc_CFLAGS = $(CONTROL_TEST_CFLAGS)
test_unit_check_rpc_LDADD = $(CONTROL_TEST_LDADD)
test_unit_check_control_SOURCES = test/unit/check_control.c \
	test/unit/control_harness.c test/unit/control_harness.h
test_unit_check_control_CFLAGS = $(CONTROL_TEST_CFLAGS)
test_unit_check_control_LDADD = $(CONTROL_TEST_LDADD)
