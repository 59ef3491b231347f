#!/bin/bash
# FLUSH reaches the backing file. The file is on ext4 on a loop device
# whose image is read directly, and periodic writeback is off, so data the
# backing file system only holds in its page cache is absent from the image
# until an fdatasync (FLUSH) puts it there. Then the daemon is killed with
# SIGKILL and the data is in the file.
# Run on the stable kernel only: what it checks (a FLUSH reaching the backing
# file's fdatasync) lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 256M
loop=$SCRATCH_LOOP

# No writeback unless asked: dirty pages stay dirty for the whole test.
for knob in dirty_writeback_centisecs dirty_expire_centisecs; do
	on_exit "echo $(cat /proc/sys/vm/$knob) > /proc/sys/vm/$knob"
done
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
echo 360000 > /proc/sys/vm/dirty_expire_centisecs

# Prints how many times marker $1 occurs in the loop device's image.
in_image() { grep -a -o -F "$1" "$SCRATCH_IMG" | wc -l; }
# Makes 1 MiB of a unique marker in file $1 and prints the marker.
make_marker() {
	local m="ublkd-flush-test-$RANDOM$RANDOM$RANDOM"
	yes "$m" | head -c 1M > "$1"
	echo "$m"
}

start_daemon
img=$fs/disk.img
dev=$("$UBLKCTL" add file --path "$img" --size 64M --buffered) || fail "ublkctl add file --buffered"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(cat /sys/block/ublkb"$id"/queue/write_cache)" "write back" "write cache mode"
expect_eq "$(cat /sys/block/ublkb"$id"/queue/fua)" 1 "FUA support"

# A write without FLUSH: only in the backing file system's page cache.
m1=$(make_marker "$E2E_TMP/m1")
dd if="$E2E_TMP/m1" of="$dev" bs=1M seek=8 oflag=direct status=none || fail "dd m1"
expect_eq "$(in_image "$m1")" 0 "copies of an unflushed write in the image (writeback is off)"
# fsync on the block device sends FLUSH: the backend's fdatasync writes it out.
sync "$dev"
[ "$(in_image "$m1")" -gt 0 ] || fail "FLUSH did not make the write reach the disk image"

# An O_DSYNC direct write is durable when it returns. (The kernel sends it
# as a FUA write and then a FLUSH, so this does not tell RWF_DSYNC apart from
# the fdatasync; the unit tests check that FUA plans RWF_DSYNC.)
m2=$(make_marker "$E2E_TMP/m2")
dd if="$E2E_TMP/m2" of="$dev" bs=1M seek=20 oflag=direct,dsync status=none || fail "dd m2"
[ "$(in_image "$m2")" -gt 0 ] || fail "an O_DSYNC write did not reach the disk image"

kill_daemon
cmp -n $((1 << 20)) -i $((8 << 20)):0 "$img" "$E2E_TMP/m1" || fail "m1 is not in the file after SIGKILL"
cmp -n $((1 << 20)) -i $((20 << 20)):0 "$img" "$E2E_TMP/m2" || fail "m2 is not in the file after SIGKILL"

# Default (direct I/O): write through the device's page cache, fsync the
# device, SIGKILL the daemon: the data is in the file.
start_daemon
img2=$fs/disk2.img
dev=$("$UBLKCTL" add file --path "$img2" --size 64M) || fail "ublkctl add file"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(info_field "$id" direct_io)" true "direct_io"
head -c 8M /dev/urandom > "$E2E_TMP/data"
dd if="$E2E_TMP/data" of="$dev" bs=1M seek=2 status=none || fail "dd data"
sync "$dev"
m3=$(make_marker "$E2E_TMP/m3")
dd if="$E2E_TMP/m3" of="$dev" bs=1M seek=30 status=none || fail "dd m3"
sync "$dev"
[ "$(in_image "$m3")" -gt 0 ] || fail "fsync of the device did not reach the disk image (direct I/O)"
kill_daemon
cmp -n $((8 << 20)) -i $((2 << 20)):0 "$img2" "$E2E_TMP/data" || fail "data is not in the file after SIGKILL"

# The two devices outlived their daemons (recovery is on by default): a
# new daemon takes both over, and at exit SIGTERM deletes them, so no
# block device is left for the next test.
start_daemon
wait_for "[ \"\$(\"\$UBLKCTL\" --json list | jq '[.[] | select(.state == \"live\")] | length')\" = 2 ]" 60 ||
	fail "the new daemon did not take over both devices"
