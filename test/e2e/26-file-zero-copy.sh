#!/bin/bash
# ublkd --zero-copy auto (the default): where the kernel has
# UBLK_F_AUTO_BUF_REG (6.16+) file devices are served straight from the requests' own pages (the
# kernel registers them in the queue ring's buffer table, the backing is
# read and written with READ_FIXED/WRITE_FIXED) and say zero_copy true,
# as do null devices (27-null-zero-copy.sh); mem devices, whose backend
# touches the data, say false. On older
# kernels (6.12) every device copies, zero_copy false, and the daemon says
# why once.
# Four file devices at once (direct I/O on ext4 with 2 queues, another,
# buffered I/O, and a block device with 4096-byte sectors, whose alignment
# the kernel is told: dma_alignment 4095 under zero copy) and a mem device
# are written with fio crc32c verification (4 KiB at depth 1 and 32 from
# buffers 512 bytes into a page, 128 KiB sequential); each device reads
# back only its own data and each backing holds what was written through
# its device. Reads past the end of a backing file that shrank return
# zeroes. SIGKILL under load, a new daemon with --zero-copy off and
# --io-threads 2: the devices keep zero copy (the kernel device keeps its
# flags), now on the io threads, and their data. SIGTERM under load
# deletes them all.
. "$(dirname "$0")/lib.sh"
require_root

expect_refused '--batch-io auto and --zero-copy auto cannot be used together' \
	--zero-copy auto --batch-io auto
expect_refused "--zero-copy: 'sometimes' is not auto or off" --zero-copy sometimes

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 640M
truncate -s 64M "$E2E_TMP/4k.img" || fail "truncate 4k.img"
bdev=$(losetup -f --show --sector-size 4096 "$E2E_TMP/4k.img") || fail "losetup --sector-size 4096"
on_exit "losetup -d $bdev"
start_daemon

zc=$(driver_has 11)	# UBLK_F_AUTO_BUF_REG
note "kernel $(uname -r): zero copy expected $zc"

f0=$("$UBLKCTL" add file --path "$fs/a.img" --size 128M --queues 2) || fail "add file a"
f1=$("$UBLKCTL" add file --path "$fs/b.img" --size 128M) || fail "add file b"
f2=$("$UBLKCTL" add file --path "$fs/c.img" --size 128M --buffered) || fail "add file c"
f3=$("$UBLKCTL" add file --path "$bdev" --block-size 4096) || fail "add file on $bdev"
m0=$("$UBLKCTL" add mem --size 128M) || fail "add mem"
n0=$("$UBLKCTL" add null --size 1G) || fail "add null"
devs=("$f0" "$f1" "$f2" "$m0")	# 128 MiB, 512-byte blocks
for d in "${devs[@]}" "$f3" "$n0"; do
	require_blockdev "$d"
done

# Prints the zero_copy field of device $1.
zero_copy_of() { info_field "${1#/dev/ublkb}" zero_copy; }
for d in "$f0" "$f1" "$f2" "$f3"; do
	expect_eq "$(zero_copy_of "$d")" "$zc" "zero_copy of file device $d"
	expect_flag "$d" 11 "$zc" UBLK_F_AUTO_BUF_REG
done
expect_eq "$(zero_copy_of "$m0")" false "zero_copy of mem device $m0"
expect_eq "$(zero_copy_of "$n0")" "$zc" "zero_copy of null device $n0 (e2e 27 checks its reads)"
if [ "$zc" = true ]; then
	expect_eq "$(cat "/sys/block/${f3#/dev/}/queue/dma_alignment")" 4095 \
		"dma_alignment of $f3 (4096-byte sectors, zero copy)"
else
	expect_eq "$(grep -c 'zero copy: this kernel has no UBLK_F_AUTO_BUF_REG' "$E2E_DAEMON_LOG")" 1 \
		"log lines saying why zero copy is not used"
fi
if [ "$zc" = true ]; then
	expect_eq "$(cat "/sys/block/${f0#/dev/}/queue/dma_alignment")" 511 \
		"dma_alignment of $f0 (ext4 on 512-byte sectors, zero copy)"
else
	note "dma_alignment of $f0 and $f3 without zero copy:" \
		"$(cat "/sys/block/${f0#/dev/}/queue/dma_alignment" "/sys/block/${f3#/dev/}/queue/dma_alignment")"
fi

# Every device at once, each in its own regions; on the 512-byte devices
# the 4 KiB buffers start 512 bytes into a page, so a request's pages are
# split where the backing's O_DIRECT must take them as they are.
for i in "${!devs[@]}"; do
	d=${devs[i]}
	fio_bg "d$i-qd1" "$d" --rw=randwrite --bs=4k --iodepth=1 --offset=0 --size=2M --iomem_align=512
	fio_bg "d$i-qd32" "$d" --rw=randwrite --bs=4k --iodepth=32 --offset=16M --size=8M \
		--iomem_align=512
	fio_bg "d$i-seq" "$d" --rw=write --bs=128k --iodepth=8 --offset=64M --size=8M
done
fio_bg "f3-qd32" "$f3" --rw=randwrite --bs=4k --iodepth=32 --offset=0 --size=8M
fio_bg "f3-seq" "$f3" --rw=write --bs=128k --iodepth=8 --offset=32M --size=8M
fio --allow_file_create=0 --name=null-read --filename="$n0" --ioengine=io_uring --direct=1 \
	--rw=randread --bs=4k --iodepth=32 --size=32M --output="$E2E_TMP/null-read.out" &
PIDS+=($!)
fio_wait "the first round"

# A pattern per device at the same offset: each reads back only its own,
# and each file's backing holds it where the device put it.
all=("${devs[@]}" "$f3")
write_patterns 50 "${all[@]}"
check_patterns 50 "after the first round" "${all[@]}"
backing=("$fs/a.img" "$fs/b.img" "$fs/c.img" "" "$bdev")
for i in 0 1 2 4; do
	blockdev --flushbufs "${all[i]}" || fail "flushing ${all[i]}"
	dd if="${backing[i]}" of="$E2E_TMP/file$i" bs=1M skip=50 count=1 iflag=direct status=none ||
		fail "reading ${backing[i]}"
	cmp -s "$E2E_TMP/pat$i" "$E2E_TMP/file$i" || fail "${backing[i]} does not hold what ${all[i]} wrote"
done

# The backing file shrinks under a device: the part past its end reads as
# zeroes, never as anything else, whole blocks and part of one.
head -c 8192 /dev/urandom > "$E2E_TMP/tail"
dd if="$E2E_TMP/tail" of="$f1" bs=4096 seek=$((100 * 256)) oflag=direct status=none ||
	fail "writing the tail pattern"
blockdev --flushbufs "$f1"
truncate -s $((100 * 1048576 + 4096 + 2048)) "$fs/b.img" || fail "shrinking b.img"
dd if="$f1" of="$E2E_TMP/tail.back" bs=8192 skip=$((100 * 128)) count=1 iflag=direct status=none ||
	fail "reading across the end of b.img"
{ head -c 6144 "$E2E_TMP/tail"; head -c 2048 /dev/zero; } > "$E2E_TMP/tail.want"
cmp "$E2E_TMP/tail.want" "$E2E_TMP/tail.back" ||
	fail "$f1 did not read the end of its shrunk backing as data then zeroes"
dd if="$f1" of="$E2E_TMP/past.back" bs=64k skip=$((110 * 16)) count=1 iflag=direct status=none ||
	fail "reading past the end of b.img"
head -c 65536 /dev/zero > "$E2E_TMP/zeroes"
cmp "$E2E_TMP/zeroes" "$E2E_TMP/past.back" || fail "$f1 read past its backing's end as non-zero"
truncate -s 128M "$fs/b.img" || fail "growing b.img back"

# SIGKILL under load; a new daemon with --zero-copy off recovers them onto
# its io threads as the kernel keeps them, zero copy included.
fio_bg "kill-f3" "$f3" --rw=randwrite --bs=4k --iodepth=32 --offset=0 --size=16M
RESTART_FIO_ARGS+=(--iomem_align=512)
restart_under_load "--zero-copy off --io-threads 2" "${devs[@]}"
wait_live "${f3#/dev/ublkb}" 120 || fail "$f3 is not live after the restart"
for d in "$f0" "$f1" "$f2" "$f3"; do
	expect_eq "$(zero_copy_of "$d")" "$zc" "zero_copy of $d after the recovery"
	expect_on_io_threads "$d" " after the recovery"
done
fio_wait "the SIGKILL and recovery"
check_patterns 50 "after the recovery" "${all[@]}"

# SIGTERM with every device busy deletes them all.
sigterm_under_load "${all[@]}"
! grep -E 'command refused|outside the device or buffer|buffer table' "$E2E_DAEMON_LOG" ||
	fail "the daemon logged zero-copy errors"
