#!/bin/bash
# ublkd --io-threads 2 --wakeup ring-wait:
# an io thread that serves one queue alone sleeps in that queue's ring
# (blocked in io_uring_enter), one that serves more sleeps in its libev
# loop (epoll_wait). Two 1-queue mem devices, one per thread, are written
# at once with crc32c verification; then a file device and a 2-queue null
# device join the same threads while the mem devices are written again
# (the threads change from ring to loop under I/O), and leave again (back
# to the rings). Each device reads back only its own data. The daemon is
# killed with SIGKILL and started again with ring-wait and --taskrun defer
# (the wait then runs the rings' held task work): the devices come back
# with their data, their threads wait in their rings, and they serve
# verified writes; SIGTERM with every thread busy deletes every device.
. "$(dirname "$0")/lib.sh"
require_root

# Refusal of an unknown value (without io threads, ring-wait is the main
# loop's: 64-main-ring-wait.sh).
expect_refused "--wakeup: 'sometimes' is not eventfd, ring-fd or ring-wait" \
	--wakeup sometimes --io-threads 2

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 512M
start_daemon --io-threads 2 --wakeup ring-wait

# Prints what each io thread is blocked in (task_wait).
io_waits() {
	local tid out=()
	for tid in "${io_tids[@]}"; do out+=("$(task_wait "$tid")"); done
	echo "${out[*]}"
}

# Waits up to 10 s until every io thread sleeps in $1 (ring or loop).
expect_io_waits() {
	expect_output io_waits "$1 $1" "the io threads sleep in ($2)"
}

io_tids=($(threads_named 'ublkd-io[0-9]*'))
expect_eq "${#io_tids[@]}" 2 "io threads named ublkd-io*"
grep -q "one serving a queue alone waits in its ring" "$E2E_DAEMON_LOG" ||
	fail "no log line saying the io threads wait in rings"
expect_io_waits loop "no device yet"

m0=$("$UBLKCTL" add mem --size 256M) || fail "add mem 0"
m1=$("$UBLKCTL" add mem --size 256M) || fail "add mem 1"
for d in "$m0" "$m1"; do require_blockdev "$d"; done
# One 1-queue device per thread (the one with fewer queues takes the next).
t0=$(info_field "${m0#/dev/ublkb}" io_threads)
t1=$(info_field "${m1#/dev/ublkb}" io_threads)
[ "$t0" != "$t1" ] || fail "both mem devices are on io thread $t0"
expect_io_waits ring "one queue per thread"

start_verify_writers "$m0" "$m1"
wait_verify_writers "two devices, each on a thread waiting in its ring"
expect_io_waits ring "after the writes"

# Two more devices join the threads while the mem devices are written.
start_verify_writers "$m0" "$m1"
f0=$("$UBLKCTL" add file --path "$fs/disk.img" --size 128M) || fail "add file"
n0=$("$UBLKCTL" add null --size 1G --queues 2) || fail "add null"
for d in "$f0" "$n0"; do require_blockdev "$d"; done
head -c 16M /dev/urandom > "$E2E_TMP/pattern"
dd if="$E2E_TMP/pattern" of="$f0" bs=1M oflag=direct status=none || fail "write $f0"
dd if="$n0" of=/dev/null bs=1M count=64 iflag=direct status=none || fail "read $n0"
wait_verify_writers "devices joining the threads"
expect_io_waits loop "two or three queues per thread"
expect_eq "$(dd if="$f0" bs=1M count=16 iflag=direct status=none | sha256sum)" \
	"$(sha256sum < "$E2E_TMP/pattern")" "data of the file device"

# They leave while the mem devices are written: the threads go back to
# their rings.
start_verify_writers "$m0" "$m1"
"$UBLKCTL" del "${f0#/dev/ublkb}" || fail "del file"
"$UBLKCTL" del "${n0#/dev/ublkb}" || fail "del null"
wait_verify_writers "devices leaving the threads"
expect_io_waits ring "one queue per thread again"
cmp -n 16M "$fs/disk.img" "$E2E_TMP/pattern" || fail "the file's backing file lost its data"

# Each mem device holds only its own data, checked before and after a
# SIGKILL and a recovery onto threads that wait in rings.
for d in "$m0" "$m1"; do
	dd if="$d" bs=1M count=32 iflag=direct status=none | sha256sum > "$E2E_TMP/sum-${d#/dev/ublkb}"
done
[ "$(sort -u "$E2E_TMP"/sum-* | wc -l)" -eq 2 ] || fail "the two mem devices hold the same data"
kill_daemon
start_daemon --io-threads 2 --wakeup ring-wait --taskrun defer
io_tids=($(threads_named 'ublkd-io[0-9]*'))
for d in "$m0" "$m1"; do
	wait_live "${d#/dev/ublkb}" 120 > /dev/null || fail "device $d not live again after the restart"
	expect_eq "$(dd if="$d" bs=1M count=32 iflag=direct status=none | sha256sum)" \
		"$(cat "$E2E_TMP/sum-${d#/dev/ublkb}")" "data of $d after the recovery"
done
expect_io_waits ring "recovered devices"
start_verify_writers "$m0" "$m1"
wait_verify_writers "a recovery onto threads that wait in deferring rings"
expect_io_waits ring "deferring rings after the writes"

# SIGTERM while both threads are busy: every device is deleted.
sigterm_under_load "$m0" "$m1"
grep -q "all devices deleted; exiting" "$E2E_DAEMON_LOG" || fail "no clean exit in the log"
! grep -E 'command refused|waiting in the ring|running deferred task work' "$E2E_DAEMON_LOG" ||
	fail "the daemon logged ring errors"
