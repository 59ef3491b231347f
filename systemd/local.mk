systemdsystemunit_DATA = systemd/ublkd.service systemd/ublkd.socket
systemduserunit_DATA = systemd/user/ublkd.service systemd/user/ublkd.socket
EXTRA_DIST += systemd/ublkd.service.in systemd/ublkd.socket \
	systemd/user/ublkd.service.in systemd/user/ublkd.socket
CLEANFILES += systemd/ublkd.service systemd/user/ublkd.service

systemd/ublkd.service: systemd/ublkd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/systemd/ublkd.service.in > $@

systemd/user/ublkd.service: systemd/user/ublkd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd/user && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/systemd/user/ublkd.service.in > $@
