#!/bin/bash
# ext4 on a mem device: mkfs, mount, write a tree, umount, fsck clean,
# mount again and every checksum matches.
# Run on the stable kernel only: on 7.x, 28-mem-user-copy writes mem devices
# through the same path (the kernel's user copy) with fio verification, and
# ext4 adds nothing that depends on the driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root
start_daemon

dev=$("$UBLKCTL" add mem --size 512M --block-size 4096) || fail "ublkctl add mem failed"
require_blockdev "$dev"
mnt=$E2E_TMP/mnt
ext4_roundtrip "$dev" "$mnt" 5
umount "$mnt"
"$UBLKCTL" del --all || fail "del --all failed"
