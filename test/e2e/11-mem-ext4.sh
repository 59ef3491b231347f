#!/bin/bash
# ext4 on a mem device: mkfs, mount, write a tree, umount, fsck clean,
# mount again and every checksum matches.
. "$(dirname "$0")/lib.sh"
require_root
start_daemon

dev=$("$UBLKCTL" add mem --size 512M --block-size 4096) || fail "ublkctl add mem failed"
require_blockdev "$dev"
mnt=$E2E_TMP/mnt
mkdir -p "$mnt"
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 on $dev failed"
mount "$dev" "$mnt" || fail "mount $dev failed"
on_exit "umount $mnt 2>/dev/null || true"

tree_write "$mnt" "$E2E_TMP/sums" 5
umount "$mnt" || fail "umount failed"
fsck.ext4 -fn "$dev" > "$E2E_TMP/fsck.out" 2>&1 || { cat "$E2E_TMP/fsck.out"; fail "fsck.ext4 -fn found problems"; }
# Drop every cached page so the checksums come from the device.
blockdev --flushbufs "$dev"
echo 3 > /proc/sys/vm/drop_caches
mount "$dev" "$mnt" || fail "second mount failed"
tree_check "$mnt" "$E2E_TMP/sums"
umount "$mnt"
"$UBLKCTL" del --all || fail "del --all failed"
