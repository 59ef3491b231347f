# ublkctl, the client. Everything but main() sits in a convenience library
# so the unit tests can link it.
bin_PROGRAMS += client/ublkctl
noinst_LIBRARIES += client/libublkctl.a
client_libublkctl_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
client_libublkctl_a_SOURCES = \
	client/args.c client/args.h \
	client/cmd.c client/cmd.h \
	client/cmd_add.c \
	client/cmd_del.c \
	client/cmd_list.c \
	client/cmd_show.c \
	client/failure.c client/failure.h \
	client/help.c client/help.h \
	client/option.c client/option.h \
	client/output.c client/output.h \
	client/session.c client/session.h

client_ublkctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
client_ublkctl_SOURCES = client/main.c
client_ublkctl_LDADD = client/libublkctl.a common/libcommon.a $(JSONC_LIBS)

dist_man_MANS += client/ublkctl.1

# Unit tests (Check).
UBLKCTL_TEST_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CHECK_CFLAGS)
UBLKCTL_TEST_LDADD = client/libublkctl.a common/libcommon.a $(JSONC_LIBS) $(CHECK_LIBS)

check_PROGRAMS += test/unit/check_size
test_unit_check_size_CFLAGS = $(UBLKCTL_TEST_CFLAGS)
test_unit_check_size_SOURCES = test/unit/check_size.c
test_unit_check_size_LDADD = $(UBLKCTL_TEST_LDADD)

check_PROGRAMS += test/unit/check_client_args
test_unit_check_client_args_CFLAGS = $(UBLKCTL_TEST_CFLAGS)
test_unit_check_client_args_SOURCES = test/unit/check_client_args.c
test_unit_check_client_args_LDADD = $(UBLKCTL_TEST_LDADD)

check_PROGRAMS += test/unit/check_client_output
test_unit_check_client_output_CFLAGS = $(UBLKCTL_TEST_CFLAGS)
test_unit_check_client_output_SOURCES = test/unit/check_client_output.c
test_unit_check_client_output_LDADD = $(UBLKCTL_TEST_LDADD)

check_PROGRAMS += test/unit/check_client_wire
test_unit_check_client_wire_CFLAGS = $(UBLKCTL_TEST_CFLAGS)
test_unit_check_client_wire_SOURCES = test/unit/check_client_wire.c
test_unit_check_client_wire_LDADD = $(UBLKCTL_TEST_LDADD)

check_PROGRAMS += test/unit/check_client_cmd
test_unit_check_client_cmd_CFLAGS = $(UBLKCTL_TEST_CFLAGS)
test_unit_check_client_cmd_SOURCES = test/unit/check_client_cmd.c
test_unit_check_client_cmd_LDADD = $(UBLKCTL_TEST_LDADD)

TESTS += \
	test/unit/check_size \
	test/unit/check_client_args \
	test/unit/check_client_cmd \
	test/unit/check_client_output \
	test/unit/check_client_wire

# ublkctl against a fake ublkd (needs socat and jq).
TESTS += test/client/ublkctl.test
EXTRA_DIST += \
	test/client/ublkctl.test \
	test/client/fake-ublkd.sh
