#!/bin/bash
# Block-size and block-device backings: a block device backing takes its
# size and logical block size from the device, a file on a 4 KiB-sector file
# system is served with 4 KiB blocks when direct I/O is used (never 512),
# block devices get write-zeroes but no discard, and the data round-trips.
. "$(dirname "$0")/lib.sh"
require_root


truncate -s 128M "$E2E_TMP/b4k.img" "$E2E_TMP/b512.img"
l4k=$(losetup -f --show --sector-size 4096 "$E2E_TMP/b4k.img") || fail "losetup 4k"
on_exit "losetup -d $l4k"
l512=$(losetup -f --show "$E2E_TMP/b512.img") || fail "losetup 512"
on_exit "losetup -d $l512"
fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 256M --sector-size 4096
lfs=$SCRATCH_LOOP
start_daemon

# A 4 KiB-sector block device, asked for 512: served with 4096.
dev=$("$UBLKCTL" add file --path "$l4k" --block-size 512) || fail "add file on $l4k"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(blockdev --getss "$dev")" 4096 "logical block size over $l4k"
expect_eq "$(blockdev --getsize64 "$dev")" $((128 << 20)) "size over $l4k"
expect_eq "$(info_field "$id" backing)" "block device" "backing"
expect_eq "$(info_field "$id" block_size)" 4096 "block_size in info"
expect_eq "$(info_field "$id" discard)" false "discard on a block device backing"
expect_eq "$(info_field "$id" write_zeroes)" true "write_zeroes on a block device backing"
head -c 16M /dev/urandom > "$E2E_TMP/data"
dd if="$E2E_TMP/data" of="$dev" bs=1M seek=4 oflag=direct status=none || fail "dd to $dev"
cmp -n $((16 << 20)) -i $((4 << 20)):0 "$l4k" "$E2E_TMP/data" || fail "$l4k differs from what was written"
blkdiscard -z -o $((8 << 20)) -l $((1 << 20)) "$dev" || fail "blkdiscard -z"
expect_eq "$(dd if="$l4k" bs=1M skip=8 count=1 iflag=direct status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes after write-zeroes"
[ "$(dd if="$l4k" bs=1M skip=9 count=1 iflag=direct status=none | tr -d '\0' | wc -c)" -gt 0 ] ||
	fail "write-zeroes cleared more than its range"
fio --name=verify --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=32 --size=64M --verify=crc32c --do_verify=1 --verify_fatal=1 \
	--output="$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio over $l4k"; }
cmp "$dev" "$l4k" || fail "device and $l4k differ"
# A size other than the device's is refused.
"$UBLKCTL" del "$id"
if "$UBLKCTL" add file --path "$l4k" --size 64M 2> "$E2E_TMP/err"; then
	fail "add file with a size other than the block device's succeeded"
fi
grep -qF "differs from the size of the block device $l4k" "$E2E_TMP/err" || fail "error: $(cat "$E2E_TMP/err")"

# A 512-byte-sector block device: 512, and ext4 on it is clean.
dev=$("$UBLKCTL" add file --path "$l512") || fail "add file on $l512"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(blockdev --getss "$dev")" 512 "logical block size over $l512"
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 on $dev"
fsck.ext4 -fn "$dev" > "$E2E_TMP/fsck.out" 2>&1 || { cat "$E2E_TMP/fsck.out"; fail "fsck on $dev"; }
"$UBLKCTL" del "$id"
fsck.ext4 -fn "$l512" > "$E2E_TMP/fsck.out" 2>&1 || { cat "$E2E_TMP/fsck.out"; fail "fsck on $l512"; }

# A file on a 4 KiB-sector file system: 4096 with direct I/O even when 512
# is asked for, 512 allowed with --buffered.
dev=$("$UBLKCTL" add file --path "$fs/f.img" --size 64M --block-size 512) || fail "add file on 4k ext4"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(info_field "$id" direct_io)" true "direct_io"
expect_eq "$(info_field "$id" dio_alignment)" 4096 "dio_alignment"
expect_eq "$(blockdev --getss "$dev")" 4096 "logical block size of a file on a 4k file system"
fio --name=verify --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=8 --size=32M --verify=crc32c --do_verify=1 --verify_fatal=1 \
	--output="$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio on a 4k file"; }
cmp "$dev" "$fs/f.img" || fail "device and file differ"
"$UBLKCTL" del "$id"
dev=$("$UBLKCTL" add file --path "$fs/f.img" --buffered) || fail "add file --buffered on 4k ext4"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(blockdev --getss "$dev")" 512 "logical block size with --buffered"
dd if="$E2E_TMP/data" of="$dev" bs=512 seek=1 count=8 oflag=direct status=none || fail "512-byte writes"
cmp -n 4096 -i 512:0 "$fs/f.img" "$E2E_TMP/data" || fail "512-byte writes differ in the file"
"$UBLKCTL" del --all || fail "del --all"
