#!/bin/bash
# ublkd --busy-poll: after serving, the main loop polls libev without
# sleeping for the window before it sleeps. Bad values are refused, naming
# the option. Two nbd devices (one nbdkit memory server each), two mem
# devices and a null device are written at once under crc32c verify, and
# each holds only its own data. During depth-1 reads the main thread polls
# (it blocks less than once per ten I/Os), and with the devices idle it
# sleeps: it spends almost no CPU, so the window is the bound on the loop
# time it spends without work. SIGTERM with every device busy deletes them
# all.
# Run on the stable kernel only: what it checks (the main loop's polling)
# lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
. "$E2E_SRCDIR/nbd-lib.sh"
require_root
require_backend nbd

# Bad values: refused with a message naming the option.
expect_refused "--busy-poll takes a whole number from 0 to 10000, not '10001'" --busy-poll 10001
expect_refused "--busy-poll takes a whole number" --busy-poll -1
expect_refused "--busy-poll takes a whole number" --busy-poll 1ms
expect_refused "--busy-poll and --wakeup ring-wait" --busy-poll 100 --wakeup ring-wait

nbd_serve a 10809 nbdkit -f -i 127.0.0.1 -p 10809 memory 128M
nbd_serve b 10810 nbdkit -f -i 127.0.0.1 -p 10810 memory 128M
start_daemon --busy-poll 10000
grep -q "the main loop polls for 10000 us after serving" "$E2E_DAEMON_LOG" ||
	fail "no log line saying the main loop polls"

na=$(nbd_add --url nbd://127.0.0.1:10809) || fail "add nbd a"
nb=$(nbd_add --url nbd://127.0.0.1:10810) || fail "add nbd b"
m0=$("$UBLKCTL" add mem --size 128M) || fail "add mem 0"
m1=$("$UBLKCTL" add mem --size 128M) || fail "add mem 1"
n0=$("$UBLKCTL" add null --size 128M) || fail "add null"
devs=("$na" "$nb" "$m0" "$m1")
for d in "${devs[@]}" "$n0"; do require_blockdev "$d"; done

# All written at once, each verified; then each holds its own pattern.
start_verify_writers "${devs[@]}"
dd if="$n0" of=/dev/null bs=1M count=64 iflag=direct status=none || fail "read $n0"
wait_verify_writers "two nbd and two mem devices on a polling loop"
write_patterns 40 "${devs[@]}"
check_patterns 40 "after writing every device" "${devs[@]}"

# Depth-1 reads of both nbd devices: between a request and its reply the
# main thread polls instead of sleeping, so it seldom blocks: fewer than
# one voluntary context switch per ten I/Os (a daemon that sleeps in
# epoll_wait at once made 0.72 on 7.3 and 0.92 on 6.12, two devices'
# wakeups sometimes shared). The window is the longest allowed: with the
# polling thread on one of the guest's two vCPUs, both readers and both
# servers share the other, and a round trip there can take several ms (a
# 2 ms window slept 0.19 times per I/O in CI on a slow day).
vcsw() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$UBLKD_PID/task/$UBLKD_PID/status"; }
PIDS=()
v0=$(vcsw)
for d in "$na" "$nb"; do
	fio --name=r --filename="$d" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
		--iodepth=1 --size=64M --time_based --runtime=5 --output-format=json \
		--output="$E2E_TMP/r-$(basename "$d").json" &
	PIDS+=($!)
done
for pid in "${PIDS[@]}"; do wait "$pid" || { cat "$E2E_TMP"/r-*.json; fail "a depth-1 reader failed"; }; done
PIDS=()
v1=$(vcsw)
ios=$(jq -s 'map(.jobs[0].read.total_ios) | add' "$E2E_TMP"/r-*.json)
[ "$ios" -gt 100 ] || fail "the depth-1 readers did only $ios I/Os"
note "depth 1: $ios I/Os, $((v1 - v0)) voluntary context switches of the main thread"
[ $((10 * (v1 - v0))) -lt "$ios" ] ||
	fail "the main thread slept $((v1 - v0)) times for $ios depth-1 I/Os: it did not poll"

# Idle: the loop sleeps. Over 3 s it spends well under the 3 s of CPU a
# loop that kept polling would (a tick is 10 ms; allow a few windows for
# the nbd backends' timers).
t0=$(stat_ticks "/proc/$UBLKD_PID/stat")
sleep 3
t1=$(stat_ticks "/proc/$UBLKD_PID/stat")
[ $((t1 - t0)) -le 30 ] || fail "the idle daemon spent $((t1 - t0)) ticks of CPU in 3 s"
# (Waited for, not one sample: a backend's timer may have just woken it.)
expect_output "task_wait $UBLKD_PID" loop "the idle main thread sleeps in libev"

check_patterns 40 "after the reads" "${devs[@]}"

# SIGTERM while every device is busy: all are deleted.
sigterm_under_load "${devs[@]}" "$n0"
grep -q "all devices deleted; exiting" "$E2E_DAEMON_LOG" || fail "no clean exit in the log"
