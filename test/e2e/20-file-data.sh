#!/bin/bash
# A file device over a file on ext4 inside the guest (on a loop device, so
# O_DIRECT is real): data placed in the file reads back through the device,
# data written through the device is byte-identical in the file, fio
# crc32c verify is clean at depths 1 and 32, discard punches holes, write
# zeroes zeroes, and a file shrunk behind the daemon's back reads zeroes past
# its end. A file on the guest's /tmp (overlay on tmpfs) is served buffered,
# and its write-zeroes that must keep the space (NOUNMAP) punch no hole.
. "$(dirname "$0")/lib.sh"
require_root

# ext4 on a loop device over a sparse image, mounted at $E2E_TMP/fs. Made
# before start_daemon so that teardown stops the daemon before unmounting.
fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 1G
start_daemon

# Returns the bytes a file has allocated.
allocated() { echo $(($(stat -c %b "$1") * $(stat -c %B "$1"))); }

img=$fs/disk.img
head -c 16M /dev/urandom > "$E2E_TMP/before"
cp "$E2E_TMP/before" "$img"
truncate -s 128M "$img"
dev=$("$UBLKCTL" add file --path "$img") || fail "ublkctl add file"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(blockdev --getsize64 "$dev")" $((128 << 20)) "size of $dev"
expect_eq "$(info_field "$id" backend)" file "backend"
expect_eq "$(info_field "$id" backing)" file "backing"
expect_eq "$(info_field "$id" direct_io)" true "direct_io on ext4"
expect_eq "$(info_field "$id" path)" "$img" "path"
expect_eq "$(info_field "$id" volatile_cache)" true "volatile_cache"
expect_eq "$(cat /sys/block/ublkb"$id"/queue/write_cache)" "write back" "write cache mode"

# What was in the file reads back through the device.
cmp -n $((16 << 20)) "$E2E_TMP/before" "$dev" || fail "the device does not show the file's data"
expect_eq "$(dd if="$dev" bs=1M skip=16 count=112 iflag=direct status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes in the file's hole"

# What is written through the device is in the file, byte for byte.
head -c 32M /dev/urandom > "$E2E_TMP/after"
dd if="$E2E_TMP/after" of="$dev" bs=1M seek=40 oflag=direct conv=fsync status=none ||
	fail "dd to $dev"
cmp -n $((32 << 20)) -i $((40 << 20)):0 "$img" "$E2E_TMP/after" ||
	fail "the file differs from what was written through the device"
cmp "$dev" "$img" || fail "device and file differ"

for depth in 1 32; do
	note "fio randwrite 4k iodepth=$depth with crc32c verify (16 MiB over 32 MiB)"
	fio --name=verify --filename="$dev" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs=4k --iodepth="$depth" --size=32M --io_size=16M \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		--randseed="$RANDOM" --output="$E2E_TMP/fio.out" ||
		{ cat "$E2E_TMP/fio.out"; fail "fio at depth $depth failed"; }
	grep -q 'err= 0' "$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio at depth $depth reported errors"; }
done
cmp "$dev" "$img" || fail "device and file differ after fio"

# DISCARD punches holes in the file.
expect_eq "$(cat /sys/block/ublkb"$id"/queue/discard_max_bytes)" 1073741824 "discard_max_bytes"
[ "$(cat /sys/block/ublkb"$id"/queue/write_zeroes_max_bytes)" -gt 0 ] || fail "no write-zeroes advertised"
dd if=/dev/urandom of="$dev" bs=1M count=128 oflag=direct status=none
sync -f "$img"
full=$(allocated "$img")
[ "$full" -ge $((128 << 20)) ] || fail "file allocates only $full bytes after a full write"
blkdiscard -o $((64 << 20)) -l $((64 << 20)) "$dev" || fail "blkdiscard"
half=$(allocated "$img")
[ "$half" -le $((full - (64 << 20))) ] || fail "discard of 64 MiB: allocated $full -> $half"
note "allocated: $full bytes, after discarding half: $half"
expect_eq "$(dd if="$img" bs=1M skip=64 count=64 status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes in the file after discard"
[ "$(dd if="$dev" bs=1M count=1 iflag=direct status=none | tr -d '\0' | wc -c)" -gt 0 ] ||
	fail "discard cleared data outside its range"

# WRITE_ZEROES zeroes exactly its range.
blkdiscard -z -o $((4 << 20)) -l $((4 << 20)) "$dev" || fail "blkdiscard -z"
expect_eq "$(dd if="$img" bs=1M skip=4 count=4 status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes in the file after write-zeroes"
[ "$(dd if="$img" bs=1M skip=8 count=1 status=none | tr -d '\0' | wc -c)" -gt 0 ] ||
	fail "write-zeroes cleared more than its range"
cmp "$dev" "$img" || fail "device and file differ after discard and write-zeroes"

# Someone shrinks the file: the device still reads, zeroes past the end.
truncate -s 120M "$img"
expect_eq "$(dd if="$dev" bs=1M skip=120 count=8 iflag=direct status=none | wc -c)" $((8 << 20)) \
	"bytes read past the file's end"
expect_eq "$(dd if="$dev" bs=1M skip=120 count=8 iflag=direct status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes past the file's end"
"$UBLKCTL" del "$id" || fail "ublkctl del"
[ ! -e "$dev" ] || fail "$dev still exists after del"
expect_eq "$(stat -c %s "$img")" $((120 << 20)) "file size after del"

# A file on the guest's /tmp: direct I/O is unknown there, so buffered.
truncate -s 32M "$E2E_TMP/tmp.img"
dev=$("$UBLKCTL" add file --path "$E2E_TMP/tmp.img") || fail "ublkctl add file on /tmp"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
note "file on /tmp: direct_io=$(info_field "$id" direct_io)"
head -c 1M /dev/urandom > "$E2E_TMP/small"
dd if="$E2E_TMP/small" of="$dev" bs=1M seek=3 oflag=direct status=none
cmp -n $((1 << 20)) -i $((3 << 20)):0 "$E2E_TMP/tmp.img" "$E2E_TMP/small" ||
	fail "the /tmp file differs from what was written"

# tmpfs punches holes but has no ZERO_RANGE. Write-zeroes that may unmap
# (fallocate --punch-hole on the device) free the range; those that must
# keep it allocated (blkdiscard -z, NOUNMAP) are refused by the daemon, as
# loop does, and the kernel writes zero pages instead: the range reads
# zeroes and stays allocated.
dd if=/dev/urandom of="$dev" bs=1M count=8 oflag=direct status=none || fail "filling the /tmp file"
full=$(allocated "$E2E_TMP/tmp.img")
fallocate -p -o $((4 << 20)) -l $((2 << 20)) "$dev" || fail "fallocate --punch-hole on $dev"
punched=$(allocated "$E2E_TMP/tmp.img")
[ "$punched" -le $((full - (2 << 20))) ] || fail "write-zeroes without NOUNMAP: allocated $full -> $punched"
blkdiscard -z -o $((1 << 20)) -l $((2 << 20)) "$dev" || fail "blkdiscard -z on $dev"
expect_eq "$(allocated "$E2E_TMP/tmp.img")" "$punched" "bytes allocated after write-zeroes with NOUNMAP"
expect_eq "$(dd if="$dev" bs=1M skip=1 count=2 iflag=direct status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes after write-zeroes with NOUNMAP"
expect_eq "$(dd if="$dev" bs=1M skip=4 count=2 iflag=direct status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes after the punched write-zeroes"
[ "$(dd if="$dev" bs=1M skip=3 count=1 iflag=direct status=none | tr -d '\0' | wc -c)" -gt 0 ] ||
	fail "write-zeroes cleared more than their ranges"
cmp -n $((8 << 20)) "$dev" "$E2E_TMP/tmp.img" || fail "device and /tmp file differ after write-zeroes"

# --buffered: page-cache I/O, same data.
"$UBLKCTL" del "$id"
dev=$("$UBLKCTL" add file --path "$img" --buffered) || fail "ublkctl add file --buffered"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(info_field "$id" direct_io)" false "direct_io with --buffered"
cmp "$dev" "$img" || fail "device and file differ with --buffered"
fio --name=verify --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=32 --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 \
	--output="$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio with --buffered failed"; }
"$UBLKCTL" del --all || fail "del --all"
