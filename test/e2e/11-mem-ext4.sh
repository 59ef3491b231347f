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

# A tree of files of assorted sizes with random content.
for d in a b c/d c/e; do
	mkdir -p "$mnt/$d"
	for i in 1 2 3 4 5; do
		head -c $((RANDOM * 37 + i * 4096)) /dev/urandom > "$mnt/$d/f$i"
	done
done
head -c 64M /dev/urandom > "$mnt/big"
(cd "$mnt" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$E2E_TMP/sums"
umount "$mnt" || fail "umount failed"
fsck.ext4 -fn "$dev" > "$E2E_TMP/fsck.out" 2>&1 || { cat "$E2E_TMP/fsck.out"; fail "fsck.ext4 -fn found problems"; }
# Drop every cached page so the checksums come from the device.
blockdev --flushbufs "$dev"
echo 3 > /proc/sys/vm/drop_caches
mount "$dev" "$mnt" || fail "second mount failed"
(cd "$mnt" && sha256sum --quiet -c "$E2E_TMP/sums") || fail "checksums differ after remount"
expect_eq "$(wc -l < "$E2E_TMP/sums")" 21 "number of files checked"
umount "$mnt"
"$UBLKCTL" del --all || fail "del --all failed"
