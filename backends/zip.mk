# The zip backend and its unit tests.
backends_libbackends_a_CFLAGS += $(LIBZIP_CFLAGS) $(ZLIB_CFLAGS)
backends_libbackends_a_SOURCES += \
	backends/zip.c \
	backends/zip_archive.c backends/zip_archive.h \
	backends/zip_build.c backends/zip_build.h \
	backends/zip_cache.c backends/zip_cache.h \
	backends/zip_crc.c backends/zip_crc.h \
	backends/zip_index.c backends/zip_index.h \
	backends/zip_tune.c backends/zip_tune.h

check_PROGRAMS += test/unit/check_zip
TESTS += test/unit/check_zip
test_unit_check_zip_SOURCES = test/unit/check_zip.c \
	test/unit/backend_test.c test/unit/backend_test.h \
	test/unit/log_capture.c test/unit/log_capture.h
test_unit_check_zip_CFLAGS = $(UNIT_CFLAGS) $(LIBZIP_CFLAGS) $(ZLIB_CFLAGS)
test_unit_check_zip_LDADD = $(UNIT_LDADD)

EXTRA_DIST += \
	test/e2e/30-zip-ext4.sh \
	test/e2e/31-zip-fio.sh \
	test/e2e/32-zip-errors.sh \
	test/e2e/33-zip-async.sh
