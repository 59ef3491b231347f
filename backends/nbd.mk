# The nbd backend (libnbd), built unless configure found no libnbd or was
# given --without-nbd; its URL and back-off logic is unit tested alone.
backends_libbackends_a_SOURCES += backends/nbd_url.c backends/nbd_url.h
if HAVE_NBD
backends_libbackends_a_CFLAGS += $(LIBNBD_CFLAGS)
backends_libbackends_a_SOURCES += \
	backends/nbd.c backends/nbd.h \
	backends/nbd_caps.c backends/nbd_conn.c
endif

check_PROGRAMS += test/unit/check_nbd_url
TESTS += test/unit/check_nbd_url
test_unit_check_nbd_url_SOURCES = test/unit/check_nbd_url.c
test_unit_check_nbd_url_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_nbd_url_LDADD = $(UNIT_LDADD)

if HAVE_NBD
# The backend against a real nbdkit (skipped without it).
check_PROGRAMS += test/unit/check_nbd
TESTS += test/unit/check_nbd
test_unit_check_nbd_SOURCES = test/unit/check_nbd.c \
	test/unit/backend_test.c test/unit/backend_test.h
test_unit_check_nbd_CFLAGS = $(UNIT_CFLAGS) $(LIBNBD_CFLAGS)
test_unit_check_nbd_LDADD = $(UNIT_LDADD)
endif

# Its end-to-end tests, run in the test guest by test/e2e/run-suite, and
# the servers they start.
EXTRA_DIST += \
	test/e2e/nbd-lib.sh \
	test/e2e/72-creds-nbd-tls.sh \
	test/e2e/80-nbd-data.sh \
	test/e2e/81-nbd-failures.sh \
	test/e2e/82-nbd-recovery.sh \
	test/e2e/83-nbd-busy-poll.sh
