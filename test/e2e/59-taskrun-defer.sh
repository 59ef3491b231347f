#!/bin/bash
# ublkd --taskrun defer: the queue rings keep the kernel's task work
# (IORING_SETUP_DEFER_TASKRUN) until the loop that serves them enters the
# ring after the eventfd said so, instead of interrupting the loop's
# epoll_wait (EINTR) as cooperative task running does.
# Refusals first: --taskrun defer with --wakeup ring-fd, and bad values.
# Then, on the single main loop and again on two io threads (whose rings
# start disabled and are enabled by the thread that serves them; there
# with --eventfd-mute off, elsewhere with the rings' eventfds off while
# they are reaped), two mem, two file (one with 2 queues) and a null device
# are written and read at once with crc32c verification while two jobs
# read and write the null device for 10 s; each reads back only its own
# data, and the idle daemon then uses almost no CPU (a stale kernel flag of
# held work once made a loop spin). SIGKILL under load, a new daemon with
# --taskrun defer --io-threads 2 recovers them with their data, and SIGTERM
# under load deletes them all.
. "$(dirname "$0")/lib.sh"
require_root

expect_refused '--taskrun defer and --wakeup ring-fd cannot be used together' \
	--taskrun defer --wakeup ring-fd
expect_refused "--eventfd-mute: 'sometimes' is not auto or off" --eventfd-mute sometimes
expect_refused "--taskrun: 'later' is not coop or defer" --taskrun later

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 512M

# Runs verified I/O on every device of the arguments at once while two
# jobs read and write the null device $1 for 10 s (a stall of the held
# task work would hang them: timeout fails them); WHEN ($2) names the phase.
busy_round() {
	local null=$1 when=$2 i
	shift 2
	local devs=("$@")
	timeout 300 fio --allow_file_create=0 --name=null-rw --filename="$null" --ioengine=io_uring \
		--direct=1 --rw=randrw --bs=4k --iodepth=32 --numjobs=2 --size=64M --time_based \
		--runtime=10 --output="$E2E_TMP/null-rw.out" &
	PIDS+=($!)
	for i in "${!devs[@]}"; do
		fio_bg "qd32-$i" "${devs[i]}" --rw=randwrite --bs=4k --iodepth=32 --offset=0 --size=8M
		fio_bg "qd1-$i" "${devs[i]}" --rw=randwrite --bs=4k --iodepth=1 --offset=16M --size=2M
		fio_bg "seq-$i" "${devs[i]}" --rw=write --bs=128k --iodepth=8 --offset=32M --size=8M
	done
	fio_wait "$when"
	write_patterns 60 "${devs[@]}"
	check_patterns 60 "$when" "${devs[@]}"
	expect_quiet "$when"
}

# Fails if the daemon, with no I/O, uses 10% of a CPU or more over 3 s:
# a queue whose kernel flag of held work went stale (set with nothing to
# run) once made its loop re-reap without sleeping, a whole CPU for ever.
expect_quiet() {
	local t0 t1
	t0=$(stat_ticks "/proc/$UBLKD_PID/stat")
	sleep 3
	t1=$(stat_ticks "/proc/$UBLKD_PID/stat")
	[ $((t1 - t0)) -lt $((3 * $(getconf CLK_TCK) / 10)) ] ||
		fail "the idle daemon used $((t1 - t0)) clock ticks of CPU in 3 s ($1)"
	note "idle daemon: $((t1 - t0)) clock ticks of CPU in 3 s ($1)"
}

start_daemon --taskrun defer
m0=$("$UBLKCTL" add mem --size 96M) || fail "add mem 0"
m1=$("$UBLKCTL" add mem --size 96M --queues 2) || fail "add mem 1"
f0=$("$UBLKCTL" add file --path "$fs/a.img" --size 96M --queues 2) || fail "add file a"
f1=$("$UBLKCTL" add file --path "$fs/b.img" --size 96M --buffered) || fail "add file b"
n0=$("$UBLKCTL" add null --size 1G) || fail "add null"
devs=("$m0" "$m1" "$f0" "$f1")
for d in "${devs[@]}" "$n0"; do
	require_blockdev "$d"
done
expect_eq "$(grep -c 'queue rings defer task work.*eventfds are off while' "$E2E_DAEMON_LOG")" 1 \
	"log lines saying the queue rings defer task work, eventfds muted while reaped"
! grep -q 'no IORING_SETUP_DEFER_TASKRUN' "$E2E_DAEMON_LOG" ||
	fail "the kernel refused DEFER_TASKRUN rings: $(grep DEFER "$E2E_DAEMON_LOG" | head -n 1)"
busy_round "$n0" "on the main loop" "${devs[@]}"
stop_daemon || fail "ublkd exited with status $? (main loop)"
expect_eq "$(kernel_devices)" 0 "kernel ublk devices after the first daemon"

# Unmuted eventfds here (each reap's own CQEs signal again), muted again
# in the daemon that recovers these devices.
start_daemon --taskrun defer --io-threads 2 --eventfd-mute off
grep -q 'defer task work until their loop enters them (--taskrun defer)$' "$E2E_DAEMON_LOG" ||
	fail "--eventfd-mute off still mutes: $(grep 'defer task work' "$E2E_DAEMON_LOG")"
m0=$("$UBLKCTL" add mem --size 96M) || fail "add mem 0 (io threads)"
m1=$("$UBLKCTL" add mem --size 96M --queues 2) || fail "add mem 1 (io threads)"
f0=$("$UBLKCTL" add file --path "$fs/a.img" --queues 2) || fail "add file a (io threads)"
f1=$("$UBLKCTL" add file --path "$fs/b.img" --buffered) || fail "add file b (io threads)"
n0=$("$UBLKCTL" add null --size 1G --queues 2) || fail "add null (io threads)"
devs=("$m0" "$m1" "$f0" "$f1")
for d in "${devs[@]}" "$n0"; do
	require_blockdev "$d"
	expect_on_io_threads "$d"
done
busy_round "$n0" "on io threads" "${devs[@]}"

# SIGKILL under load; a new deferring daemon recovers them onto its threads.
RESTART_FIO_ARGS=(--rw=randwrite --bs=4k --iodepth=32 --offset=0 --size=16M)
restart_under_load "--taskrun defer --io-threads 2" "${devs[@]}"
wait_live "${n0#/dev/ublkb}" 120 || fail "$n0 is not live after the restart"
fio_wait "the SIGKILL and recovery"
check_patterns 60 "after the recovery" "${devs[@]}"
write_patterns 70 "${devs[@]}"
check_patterns 70 "written after the recovery" "${devs[@]}"

expect_quiet "after the recovery"

sigterm_under_load "${devs[@]}" "$n0"
! grep -E 'command refused|running deferred task work|enabling the ring' "$E2E_DAEMON_LOG" ||
	fail "the daemon logged ring errors"
