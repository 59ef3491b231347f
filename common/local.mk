noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
common_libcommon_a_SOURCES = \
	common/log.c common/log.h \
	common/errname.c common/errname.h \
	common/protocol.h \
	common/clock.c common/clock.h \
	common/ratelimit.c common/ratelimit.h \
	common/text.c common/text.h \
	common/size.c common/size.h \
	common/ublk_uapi.h
