#!/bin/bash
# null devices under ublkd --zero-copy auto (the default): where the kernel
# has UBLK_F_AUTO_BUF_REG (6.16+) a null device says zero_copy true, its
# writes are dropped without a copy and its reads are filled from
# /dev/zero straight into the requests' own pages; elsewhere (6.12) it
# takes user copy (UBLK_F_USER_COPY: the kernel copies a read's zeroes from
# a shared zero region, and a write is not copied at all). Either way every
# read returns zeroes and
# nothing else: the reader's buffers hold a pattern before each read, so a
# read the daemon did not fill would show it. Three null devices (1 queue,
# 2 queues, 4096-byte blocks) are read and written at once, with reads of
# 512 bytes to 1 MiB checked while writes of other data run; then SIGKILL
# under load and a new daemon with --zero-copy off (a device keeps its
# mode), the same checks, and SIGTERM under load.
. "$(dirname "$0")/lib.sh"
require_root

start_daemon
zc=$(driver_has 11)	# UBLK_F_AUTO_BUF_REG
if [ "$zc" = true ]; then uc=false; else uc=true; fi
note "kernel $(uname -r): zero copy expected $zc, user copy $uc"

n0=$("$UBLKCTL" add null --size 1G) || fail "add null 0"
n1=$("$UBLKCTL" add null --size 1G --queues 2) || fail "add null 1"
n2=$("$UBLKCTL" add null --size 1G --block-size 4096) || fail "add null 2"
devs=("$n0" "$n1" "$n2")
blks=(512 512 4096)	# their block sizes: the smallest read check_zeroes makes
for d in "${devs[@]}"; do
	require_blockdev "$d"
	expect_eq "$(info_field "${d#/dev/ublkb}" zero_copy)" "$zc" "zero_copy of $d"
	expect_flag "$d" 11 "$zc" UBLK_F_AUTO_BUF_REG
	expect_eq "$(info_field "${d#/dev/ublkb}" user_copy)" "$uc" "user_copy of $d"
done

# Reads device $1 with O_DIRECT from page-aligned buffers that hold 0xa5
# before each read, at sizes from one block ($2 bytes) to 1 MiB and at
# offsets across the device, and fails unless every byte read is zero.
check_zeroes() {
	"$PYTHON" - "$1" "$2" <<'EOF' || fail "$1 read something other than zeroes ($3)"
import mmap, os, sys
dev, blk = sys.argv[1], int(sys.argv[2])
fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 1 << 20)
pattern = b"\xa5" * (1 << 20)
bad = 0
n = 0
for size in (blk, 4096, 8192, 65536, 131072, 1 << 20):
    if size < blk:
        continue
    for k in range(24):
        off = ((k * 7919 + size) * blk) % ((1 << 30) - (1 << 20))
        off -= off % blk
        buf[:] = pattern
        got = os.preadv(fd, [memoryview(buf)[:size]], off)
        n += 1
        if got != size or buf[:size].count(0) != size:
            bad += 1
            if bad <= 3:
                print(f"{dev}: {size} bytes at {off}: read {got}, "
                      f"{size - buf[:size].count(0)} non-zero bytes", file=sys.stderr)
os.close(fd)
print(f"{dev}: {n} reads, {bad} wrong", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}

# Runs fio job NAME ($1) on device $2 for 6 s in the background with the
# rest of the arguments (no verify: a null device keeps no data); its pid
# goes to PIDS, its output to $E2E_TMP/load-NAME.out.
fio_load() {
	local name=$1 dev=$2
	shift 2
	fio --allow_file_create=0 --name="$name" --filename="$dev" --ioengine=io_uring \
		--direct=1 --size=256M --time_based --runtime=6 \
		--output="$E2E_TMP/load-$name.out" "$@" &
	PIDS+=($!)
}

# Runs check_zeroes on every device with its block size; $1 says when.
check_all() {
	local i
	for i in "${!devs[@]}"; do
		check_zeroes "${devs[i]}" "${blks[i]}" "$1"
	done
}

# Writes of random data on every device at depth 32 and 128 KiB, and reads
# at depth 32, while check_zeroes reads each device: $1 says when.
load_and_check() {
	local i
	for i in "${!devs[@]}"; do
		fio_load "w$i" "${devs[i]}" --rw=randwrite --bs=4k --iodepth=32 --refill_buffers
		fio_load "s$i" "${devs[i]}" --rw=write --bs=128k --iodepth=8 --offset=512M \
			--refill_buffers
		fio_load "r$i" "${devs[i]}" --rw=randread --bs=4k --iodepth=32
	done
	check_all "$1, under load"
	fio_wait "$1"
	rm -f "$E2E_TMP"/load-*.out
	check_all "$1"
}

load_and_check "the first daemon"

# SIGKILL under load: the new daemon, told --zero-copy off, recovers the
# devices in the mode the kernel keeps for them.
KPIDS=()
for i in "${!devs[@]}"; do
	fio --allow_file_create=0 --name="k$i" --filename="${devs[i]}" --ioengine=io_uring --direct=1 \
		--rw=randrw --bs=4k --iodepth=32 --size=256M --time_based --runtime=60 \
		--output="$E2E_TMP/kill$i.log" &
	KPIDS+=($!)
done
sleep 2
note "SIGKILL to ublkd (pid $UBLKD_PID) under load"
kill_daemon
sleep 1
start_daemon --zero-copy off
for d in "${devs[@]}"; do
	wait_live "${d#/dev/ublkb}" 120 || fail "$d is not live after the restart"
	expect_eq "$(info_field "${d#/dev/ublkb}" zero_copy)" "$zc" \
		"zero_copy of $d after the recovery"
done
kill "${KPIDS[@]}" 2>/dev/null || true
wait "${KPIDS[@]}" 2>/dev/null || true
load_and_check "the recovering daemon"

sigterm_under_load "${devs[@]}"
! grep -E 'command refused|outside the device or buffer|buffer table' "$E2E_DAEMON_LOG" ||
	fail "the daemon logged zero-copy errors"
