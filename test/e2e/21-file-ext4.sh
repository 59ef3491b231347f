#!/bin/bash
# ext4 on a file device whose file lives on xfs inside the guest (on a loop
# device, so O_DIRECT is real): mkfs, mount, write a tree, umount, fsck
# clean, mount again and every checksum matches; then fsck of the backing
# file itself, through a loop device, after the daemon let it go.
. "$(dirname "$0")/lib.sh"
require_root
command -v mkfs.xfs > /dev/null || skip "no mkfs.xfs"

xfs=$E2E_TMP/xfs
scratch_fs "$xfs" xfs 1G
start_daemon

img=$xfs/ext4.img
dev=$("$UBLKCTL" add file --path "$img" --size 512M) || fail "ublkctl add file --size 512M"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(stat -c %s "$img")" $((512 << 20)) "size of the created file"
expect_eq "$(info_field "$id" direct_io)" true "direct_io on xfs"

mnt=$E2E_TMP/mnt
ext4_roundtrip "$dev" "$mnt" 3
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
