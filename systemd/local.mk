systemdsystemunit_DATA = systemd/ublkd.service systemd/ublkd.socket
EXTRA_DIST += systemd/ublkd.service.in systemd/ublkd.socket
CLEANFILES += systemd/ublkd.service

systemd/ublkd.service: systemd/ublkd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/systemd/ublkd.service.in > $@
