# The rbd backend (librbd; configure --without-rbd leaves it out, and so
# does a machine without librbd-dev) and its tests. RBD_LIBS is empty then;
# the link lines of ublkd and the unit tests name it either way.
if WITH_RBD
backends_libbackends_a_CFLAGS += $(RBD_CFLAGS)
backends_libbackends_a_SOURCES += \
	backends/rbd.c backends/rbd.h \
	backends/rbd_connect.c \
	backends/rbd_close.c \
	backends/rbd_cluster.c backends/rbd_cluster.h \
	backends/rbd_size.c \
	backends/rbd_text.c

check_PROGRAMS += test/unit/check_rbd test/unit/check_rbd_cluster
TESTS += test/unit/check_rbd test/unit/check_rbd_cluster
test_unit_check_rbd_SOURCES = test/unit/check_rbd.c \
	test/unit/backend_test.c test/unit/backend_test.h
test_unit_check_rbd_CFLAGS = $(UNIT_CFLAGS) $(RBD_CFLAGS)
test_unit_check_rbd_LDADD = $(UNIT_LDADD)
test_unit_check_rbd_cluster_SOURCES = test/unit/check_rbd_cluster.c
test_unit_check_rbd_cluster_CFLAGS = $(UNIT_CFLAGS) $(RBD_CFLAGS)
test_unit_check_rbd_cluster_LDADD = $(UNIT_LDADD)
endif

EXTRA_DIST += \
	backends/rbd.c backends/rbd.h backends/rbd_connect.c backends/rbd_close.c \
	backends/rbd_cluster.c backends/rbd_cluster.h backends/rbd_size.c backends/rbd_text.c \
	test/unit/check_rbd.c test/unit/check_rbd_cluster.c \
	test/ceph-cluster \
	test/e2e/85-rbd.sh
