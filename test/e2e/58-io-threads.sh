#!/bin/bash
# ublkd --io-threads 2: the queues of null, mem and file devices are served
# by two io threads (named ublkd-io0/1), a zip device stays on the main loop.
# Two mem devices and a file device (2 queues each) are written at once with
# crc32c verification while a null device is read, and meanwhile further
# devices are added, written, checked and deleted on the same threads; each
# device reads back only its own data, and the io threads (not the main
# thread) did the work. The daemon is killed with SIGKILL and started again
# with io threads: the devices are recovered with their data and serve
# verified writes. Last, SIGTERM with every thread busy deletes every device.
. "$(dirname "$0")/lib.sh"
require_root
command -v zip > /dev/null || fail "the zip command is missing (test/install-deps installs it)"

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 512M
head -c 8M /dev/urandom > "$fs/image.raw"
(cd "$fs" && zip -q -0 image.zip image.raw) || fail "zip failed"
start_daemon --io-threads 2

# Prints the CPU time (utime + stime, in ticks) of the daemon's threads $@.
cpu_ticks() {
	local tid files=()
	for tid in "$@"; do
		files+=("/proc/$UBLKD_PID/task/$tid/stat")
	done
	stat_ticks "${files[@]}"
}

io_tids=($(threads_named 'ublkd-io[0-9]*'))
expect_eq "${#io_tids[@]}" 2 "io threads named ublkd-io*"
main_tid=$UBLKD_PID

m0=$("$UBLKCTL" add mem --size 256M --queues 2) || fail "add mem 0"
m1=$("$UBLKCTL" add mem --size 256M --queues 2) || fail "add mem 1"
f0=$("$UBLKCTL" add file --path "$fs/disk.img" --size 256M --queues 2) || fail "add file"
n0=$("$UBLKCTL" add null --size 1G --queues 2) || fail "add null"
z0=$("$UBLKCTL" add zip --path "$fs/image.zip") || fail "add zip"
for d in "$m0" "$m1" "$f0" "$n0" "$z0"; do require_blockdev "$d"; done
# Placement: io thread t is pinned to the t-th CPU (two threads, two
# CPUs), so queue q of each 2-queue device must be on the thread of the
# CPU the kernel maps that queue to (sysfs mq/Q/cpu_list).
if [ "$(nproc)" -eq 2 ]; then
	for d in "$m0" "$m1" "$f0" "$n0"; do
		for q in 0 1; do
			cpu=$(cat "/sys/block/${d#/dev/}/mq/$q/cpu_list") || fail "no cpu_list for queue $q of $d"
			grep -q "device ${d#/dev/ublkb}: queue $q on io thread $cpu\$" "$E2E_DAEMON_LOG" ||
				{ grep "device ${d#/dev/ublkb}: queue" "$E2E_DAEMON_LOG"
				  fail "queue $q of $d (CPU $cpu) is not on io thread $cpu"; }
		done
	done
	# device info names each queue's io thread, as the log does.
	for d in "$m0" "$n0"; do
		expect_eq "$(info_field "${d#/dev/ublkb}" io_threads)" \
			"[$(cat "/sys/block/${d#/dev/}/mq/0/cpu_list"),$(cat "/sys/block/${d#/dev/}/mq/1/cpu_list")]" \
			"io_threads of $d"
	done
fi
expect_eq "$(info_field "${z0#/dev/ublkb}" io_threads)" "[null]" \
	"io_threads of the zip device"
grep -q "device ${z0#/dev/ublkb}: the zip backend is served on the main loop" "$E2E_DAEMON_LOG" ||
	fail "no log line saying the zip device stays on the main loop"
head -c 8M "$z0" > "$E2E_TMP/zip-read" || fail "read $z0"
cmp "$E2E_TMP/zip-read" "$fs/image.raw" || fail "the zip device does not read back the image"

io_before=$(cpu_ticks "${io_tids[@]}")
main_before=$(cpu_ticks "$main_tid")
start_verify_writers "$m0" "$m1" "$f0"
fio --name=nullread --filename="$n0" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
	--iodepth=32 --numjobs=2 --time_based --runtime=20 --output="$E2E_TMP/null.out" &
null_pid=$!

# Devices come and go on the same threads while the others run I/O.
for round in 1 2 3; do
	d=$("$UBLKCTL" add mem --size 64M --queues 2) || fail "add during I/O, round $round"
	require_blockdev "$d"
	head -c 8M /dev/urandom > "$E2E_TMP/pattern"
	dd if="$E2E_TMP/pattern" of="$d" bs=1M oflag=direct status=none || fail "write $d"
	dd if="$d" of="$E2E_TMP/readback" bs=1M count=8 iflag=direct status=none || fail "read $d"
	cmp "$E2E_TMP/readback" "$E2E_TMP/pattern" ||
		fail "$d (round $round) does not read back what was written"
	"$UBLKCTL" info "${d#/dev/ublkb}" > /dev/null || fail "info during I/O"
	"$UBLKCTL" del "${d#/dev/ublkb}" || fail "del during I/O, round $round"
done
wait_verify_writers "adding and deleting devices on the same io threads"
wait "$null_pid" || { cat "$E2E_TMP/null.out"; fail "fio on the null device"; }
grep -q 'err= 0' "$E2E_TMP/null.out" || { cat "$E2E_TMP/null.out"; fail "errors reading null"; }

io_used=$(($(cpu_ticks "${io_tids[@]}") - io_before))
main_used=$(($(cpu_ticks "$main_tid") - main_before))
note "CPU ticks during the I/O: io threads $io_used, main thread $main_used"
[ "$io_used" -gt $((4 * main_used)) ] ||
	fail "the io threads used $io_used ticks and the main thread $main_used: the I/O was not on the io threads"

# Each mem and file device holds only its own data: a checksum of each
# before the daemon is killed, compared after the recovery.
for d in "$m0" "$m1" "$f0"; do
	dd if="$d" bs=1M count=32 iflag=direct status=none | sha256sum > "$E2E_TMP/sum-${d#/dev/ublkb}"
done
[ "$(sort -u "$E2E_TMP"/sum-* | wc -l)" -eq 3 ] || fail "two devices hold the same data"

kill_daemon
start_daemon --io-threads 2
for d in "$m0" "$m1" "$f0" "$n0" "$z0"; do
	wait_live "${d#/dev/ublkb}" 120 > /dev/null ||
		fail "device $d not live again after the restart"
done
for d in "$m0" "$m1" "$f0"; do
	expect_eq "$(dd if="$d" bs=1M count=32 iflag=direct status=none | sha256sum)" \
		"$(cat "$E2E_TMP/sum-${d#/dev/ublkb}")" "data of $d after the recovery"
done
expect_eq "${#io_tids[@]}" "$(threads_named 'ublkd-io[0-9]*' | wc -l)" "io threads of the new daemon"
start_verify_writers "$m0" "$m1" "$f0"
wait_verify_writers "a recovery onto io threads"

# SIGTERM while every thread is busy: every device is deleted.
fio_pids=()
for d in "$m0" "$m1" "$f0" "$n0"; do
	fio --name=busy --filename="$d" --ioengine=io_uring --direct=1 --rw=randrw --bs=4k \
		--iodepth=32 --time_based --runtime=60 --output=/dev/null > /dev/null 2>&1 &
	fio_pids+=($!)
done
sleep 3
st=0
stop_daemon || st=$?
expect_eq "$st" 0 "exit status of ublkd after SIGTERM with busy io threads"
for p in "${fio_pids[@]}"; do wait "$p" 2>/dev/null || true; done
for d in "$m0" "$m1" "$f0" "$n0" "$z0"; do
	[ ! -e "/sys/class/ublk-char/ublkc${d#/dev/ublkb}" ] || fail "$d is still in the kernel after SIGTERM"
done
grep -q "all devices deleted; exiting" "$E2E_DAEMON_LOG" || fail "no clean exit in the log"
