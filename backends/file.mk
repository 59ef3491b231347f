# Unit tests of the file backend (Check). UNIT_LDADD and UNIT_CFLAGS come
# from test/unit/local.mk, which Makefile.am includes later: make expands
# them when it runs, so the order does not matter.
check_PROGRAMS += test/unit/check_file
TESTS += test/unit/check_file
test_unit_check_file_SOURCES = test/unit/check_file.c \
	test/unit/backend_test.c test/unit/backend_test.h
test_unit_check_file_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_file_LDADD = $(UNIT_LDADD)

# Its end-to-end tests, run in the test guest by test/e2e/run-suite.
EXTRA_DIST += \
	test/e2e/20-file-data.sh \
	test/e2e/21-file-ext4.sh \
	test/e2e/22-file-flush.sh \
	test/e2e/23-file-bad-input.sh \
	test/e2e/24-file-4k.sh \
	test/e2e/25-file-errors.sh \
	test/e2e/26-file-zero-copy.sh
