#!/bin/bash
# ublkd --batch-io auto: where the kernel has UBLK_F_BATCH_IO (7.0+) every
# new device is served with batched commands (PREP_IO_CMDS, multishot
# FETCH_IO_CMDS into a provided buffer ring, COMMIT_IO_CMDS) and its device
# object says batch_io true; on older kernels (6.12) the devices use one
# command per request, batch_io false, and the daemon says why once.
# Either way: two mem devices, a file device (2 queues) and a null device
# are written at once with fio crc32c verification (4 KiB random at depth
# 1 and 32, 128 KiB sequential); each device reads back only its own data.
# A device is deleted while the others run; ublkd is killed with SIGKILL
# under load and started again with --io-threads 2 (and without
# --batch-io: the kernel device keeps the way it was added), the devices
# are recovered onto the io threads and their data verified. Last,
# SIGTERM under load deletes every device.
. "$(dirname "$0")/lib.sh"
require_root

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 512M
start_daemon --batch-io auto

# The driver's features as the daemon logged them.
batch=$(driver_has 15)	# UBLK_F_BATCH_IO
note "kernel $(uname -r): batch I/O expected $batch"

m0=$("$UBLKCTL" add mem --size 128M) || fail "add mem 0"
m1=$("$UBLKCTL" add mem --size 128M --depth 64) || fail "add mem 1"
f0=$("$UBLKCTL" add file --path "$fs/disk.img" --size 128M --queues 2) || fail "add file"
n0=$("$UBLKCTL" add null --size 1G) || fail "add null"
devs=("$m0" "$m1" "$f0")
for d in "${devs[@]}" "$n0"; do
	require_blockdev "$d"
	id=${d#/dev/ublkb}
	expect_eq "$(info_field "$id" batch_io)" "$batch" "batch_io of $d"
	# Batched commands carry no buffer slot: no zero copy beside them.
	expect_eq "$(info_field "$id" zero_copy)" false "zero_copy of $d"
	expect_flag "$d" 15 "$batch" UBLK_F_BATCH_IO
done
if [ "$batch" = false ]; then
	expect_eq "$(grep -c 'batch I/O: this kernel has no UBLK_F_BATCH_IO' "$E2E_DAEMON_LOG")" 1 \
		"log lines saying why batch I/O is not used"
fi

# Each writable device at once: depth 1 and depth 32 4 KiB random writes
# in separate regions, and 128 KiB sequential writes in a third, all
# verified; the null device is read meanwhile.
for i in "${!devs[@]}"; do
	d=${devs[i]}
	fio_bg "d$i-qd1" "$d" --rw=randwrite --bs=4k --iodepth=1 --offset=0 --size=2M
	fio_bg "d$i-qd32" "$d" --rw=randwrite --bs=4k --iodepth=32 --offset=16M --size=8M
	fio_bg "d$i-seq" "$d" --rw=write --bs=128k --iodepth=8 --offset=64M --size=8M
done
fio --allow_file_create=0 --name=null-read --filename="$n0" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
	--iodepth=32 --size=64M --output="$E2E_TMP/null-read.out" &
PIDS+=($!)
fio_wait "the first round"

# Each device holds only its own data: a pattern per device at the same
# offset, read back from every device.
write_patterns 100 "${devs[@]}"
check_patterns 100 "after the first round" "${devs[@]}"

# Delete the null device while the others run verified writes.
for i in "${!devs[@]}"; do
	fio_bg "del$i" "${devs[i]}" --rw=randwrite --bs=4k --iodepth=32 --offset=16M --size=32M
done
fio --allow_file_create=0 --name=null-del --filename="$n0" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
	--iodepth=32 --size=256M --time_based --runtime=60 --output="$E2E_TMP/null-del.log" &
null_pid=$!
sleep 2
"$UBLKCTL" del "${n0#/dev/ublkb}" || fail "deleting $n0 under I/O"
[ ! -e "$n0" ] || fail "$n0 is still there after its delete"
wait "$null_pid" && note "fio on the deleted null device exited 0" ||
	note "fio on the deleted null device failed, as it should"
fio_wait "the delete of $n0"

# SIGKILL under load, then a new daemon (without --batch-io, with io
# threads) recovers them.
RESTART_FIO_ARGS=(--rw=randwrite --bs=4k --iodepth=32 --offset=16M --size=32M)
restart_under_load "--io-threads 2" "${devs[@]}"
for d in "${devs[@]}"; do
	id=${d#/dev/ublkb}
	expect_eq "$(info_field "$id" batch_io)" "$batch" \
		"batch_io of $d after the recovery"
	expect_on_io_threads "$d" " after the recovery"
done
fio_wait "the SIGKILL and recovery"
check_patterns 100 "after the recovery" "${devs[@]}"

# SIGTERM with every device busy deletes them all.
sigterm_under_load "${devs[@]}"
! grep -E 'COMMIT_IO_CMDS took|FETCH_IO_CMDS (ended|delivered)|command refused' "$E2E_DAEMON_LOG" ||
	fail "the daemon logged batch protocol errors"
