# End-to-end tests, run inside the test guest by test/e2e/run-suite.
EXTRA_DIST += \
	test/e2e/10-mem-fio.sh \
	test/e2e/11-mem-ext4.sh \
	test/e2e/12-null-readonly.sh \
	test/e2e/13-multi.sh \
	test/e2e/14-bad-input.sh \
	test/e2e/15-sigterm.sh \
	test/e2e/16-discard.sh \
	test/e2e/17-no-driver.sh \
	test/e2e/18-socket-activation.sh \
	test/e2e/19-mem-isolation.sh \
	test/e2e/27-null-zero-copy.sh \
	test/e2e/28-mem-user-copy.sh \
	test/e2e/40-mem-tmpfs-full.sh \
	test/e2e/50-recovery.sh \
	test/e2e/51-recovery-bad.sh \
	test/e2e/52-recovery-cycles.sh \
	test/e2e/53-recovery-ext4.sh \
	test/e2e/54-recovery-fail-io.sh \
	test/e2e/55-restart-on-failure.sh \
	test/e2e/56-keep-devices.sh \
	test/e2e/57-adopt-orphans.sh \
	test/e2e/58-io-threads.sh \
	test/e2e/59-taskrun-defer.sh \
	test/e2e/60-control-abuse.sh \
	test/e2e/62-batch-io.sh \
	test/e2e/63-ring-wait.sh \
	test/e2e/64-main-ring-wait.sh \
	test/e2e/creds-lib.sh \
	test/e2e/70-creds.sh \
	test/e2e/71-user-daemon.sh

# jget: `jq -r PATH` for the e2e tests, without jq 1.6's start-up cost
# (0.5-0.7 s in the emulated guest). Built with the daemon: the guest runs
# what `make` built. jget-test holds its output to jq's.
noinst_PROGRAMS += test/e2e/jget
test_e2e_jget_SOURCES = test/e2e/jget.c
test_e2e_jget_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
test_e2e_jget_LDADD = $(JSONC_LIBS) -lm
TESTS += test/e2e/jget-test
EXTRA_DIST += test/e2e/jget-test
