# Unit tests of the file backend (Check). UNIT_LDADD and UNIT_CFLAGS come
# from test/unit/local.mk, which Makefile.am includes later: make expands
# them when it runs, so the order does not matter.
check_PROGRAMS += test/unit/check_file
TESTS += test/unit/check_file
test_unit_check_file_SOURCES = test/unit/check_file.c
test_unit_check_file_CFLAGS = $(UNIT_CFLAGS)
test_unit_check_file_LDADD = $(UNIT_LDADD)
