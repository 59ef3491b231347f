# The control socket and JSON-RPC layer, and their unit tests.
daemon_libublkd_a_SOURCES += \
	daemon/activation.c daemon/activation.h \
	daemon/control.c daemon/control.h \
	daemon/rpc.c
