# ublkctl, the client. Everything but main() sits in a convenience library
# so the unit tests can link it.
bin_PROGRAMS += client/ublkctl
noinst_LIBRARIES += client/libublkctl.a
client_libublkctl_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
client_libublkctl_a_SOURCES = \
	client/args.c client/args.h \
	client/commands.c client/commands.h \
	client/connection.c client/connection.h \
	client/failure.c client/failure.h \
	client/help.c client/help.h \
	client/output.c client/output.h \
	client/request.c client/request.h \
	client/response.c client/response.h \
	client/session.c client/session.h

client_ublkctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
client_ublkctl_SOURCES = client/main.c
client_ublkctl_LDADD = client/libublkctl.a common/libcommon.a $(JSONC_LIBS)

dist_man_MANS += client/ublkctl.1
