# The udev rule for users' ublk devices and the helper it asks for owners.
libexec_PROGRAMS += udev/ublkd-node-owner
udev_ublkd_node_owner_SOURCES = udev/ublkd_node_owner.c
udev_ublkd_node_owner_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(EV_CFLAGS)
udev_ublkd_node_owner_LDADD = $(URING_LIBS)
udevrules_DATA = udev/70-ublkd.rules
EXTRA_DIST += udev/70-ublkd.rules.in
CLEANFILES += udev/70-ublkd.rules

udev/70-ublkd.rules: udev/70-ublkd.rules.in Makefile
	$(AM_V_GEN)$(MKDIR_P) udev && \
	sed -e 's|@libexecdir[@]|$(libexecdir)|g' $(srcdir)/udev/70-ublkd.rules.in > $@
