# ublkctl, the client. Everything but main() sits in a convenience library
# so the unit tests can link it.
bin_PROGRAMS += client/ublkctl
noinst_LIBRARIES += client/libublkctl.a
client_libublkctl_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
client_libublkctl_a_SOURCES = \
	client/add_file.c client/add_file.h \
	client/args.c client/args.h \
	client/backend_find.c client/backend_options.h \
	client/cmd.c client/cmd.h \
	client/cmd_add.c \
	client/cmd_del.c \
	client/cmd_list.c \
	client/cmd_show.c \
	client/cmd_shutdown.c \
	client/failure.c client/failure.h \
	client/help.c client/help.h \
	client/option.c client/option.h \
	client/output.c client/output.h \
	client/session.c client/session.h

# The backends' parameters as options, generated from their declarations.
nodist_client_libublkctl_a_SOURCES = client/backend_options.c
BUILT_SOURCES += client/backend_options.c
CLEANFILES += client/backend_options.c client/ublkctl.1
client/backend_options.c: backends/backend-doc$(EXEEXT)
	$(AM_V_GEN)backends/backend-doc c > $@.tmp && mv $@.tmp $@

client_ublkctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
client_ublkctl_SOURCES = client/main.c
client_ublkctl_LDADD = client/libublkctl.a common/libcommon.a $(JSONC_LIBS)

# ublkctl(1): the hand-written page with the BACKENDS section generated.
man_MANS += client/ublkctl.1
EXTRA_DIST += client/ublkctl.1.in
client/ublkctl.1: $(srcdir)/client/ublkctl.1.in backends/backend-doc$(EXEEXT)
	$(AM_V_GEN)backends/backend-doc man > $@.backends && \
	sed -e '/^\.\\" @BACKENDS@$$/{r $@.backends' -e 'd}' $(srcdir)/client/ublkctl.1.in > $@.tmp && \
	rm -f $@.backends && mv $@.tmp $@

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
