#!/bin/bash
# ext4 on a file device whose file lives on xfs inside the guest (on a loop
# device, so O_DIRECT is real): mkfs, mount, write a tree, umount, fsck
# clean, mount again and every checksum matches; then fsck of the backing
# file itself, through a loop device, after the daemon let it go.
. "$(dirname "$0")/lib.sh"
require_root
command -v mkfs.xfs > /dev/null || skip "no mkfs.xfs"

xfs=$E2E_TMP/xfs
truncate -s 1G "$E2E_TMP/xfs.img"
loop=$(losetup -f --show "$E2E_TMP/xfs.img") || fail "losetup"
on_exit "losetup -d $loop"
mkfs.xfs -q -f "$loop" || fail "mkfs.xfs on $loop"
mkdir -p "$xfs"
mount "$loop" "$xfs" || fail "mount xfs"
on_exit "umount $xfs"
start_daemon

img=$xfs/ext4.img
dev=$("$UBLKCTL" add file --path "$img" --size 512M) || fail "ublkctl add file --size 512M"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(stat -c %s "$img")" $((512 << 20)) "size of the created file"
expect_eq "$("$UBLKCTL" --json info "$id" | jq -r .direct_io)" true "direct_io on xfs"

mnt=$E2E_TMP/mnt
mkdir -p "$mnt"
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 on $dev"
mount "$dev" "$mnt" || fail "mount $dev"
on_exit "umount $mnt 2>/dev/null || true"
for d in a b c/d; do
	mkdir -p "$mnt/$d"
	for i in 1 2 3 4; do
		head -c $((RANDOM * 37 + i * 4096)) /dev/urandom > "$mnt/$d/f$i"
	done
done
head -c 64M /dev/urandom > "$mnt/big"
(cd "$mnt" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$E2E_TMP/sums"
umount "$mnt" || fail "umount"
fsck.ext4 -fn "$dev" > "$E2E_TMP/fsck.out" 2>&1 || { cat "$E2E_TMP/fsck.out"; fail "fsck.ext4 -fn on $dev found problems"; }
blockdev --flushbufs "$dev"
echo 3 > /proc/sys/vm/drop_caches
mount "$dev" "$mnt" || fail "second mount"
(cd "$mnt" && sha256sum --quiet -c "$E2E_TMP/sums") || fail "checksums differ after remount"
expect_eq "$(wc -l < "$E2E_TMP/sums")" 13 "number of files checked"
# Deleting a file and fstrim: DISCARDs give its space back in the backing file.
rm "$mnt/big"
sync -f "$mnt"
before=$(stat -c %b "$img")
fstrim "$mnt" || fail "fstrim"
after=$(stat -c %b "$img")
note "file blocks before fstrim: $before, after: $after"
[ "$after" -lt "$before" ] || fail "fstrim did not shrink the file ($before -> $after blocks)"
umount "$mnt"
"$UBLKCTL" del "$id" || fail "ublkctl del"

# The backing file alone holds a clean file system.
fsck.ext4 -fn "$img" > "$E2E_TMP/fsck2.out" 2>&1 || { cat "$E2E_TMP/fsck2.out"; fail "fsck.ext4 -fn on the backing file"; }
