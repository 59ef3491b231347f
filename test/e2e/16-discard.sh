#!/bin/bash
# DISCARD and WRITE_ZEROES reach the mem backend: memory is given back and
# the range reads as zeroes.
. "$(dirname "$0")/lib.sh"
require_root
start_daemon

dev=$("$UBLKCTL" add mem --size 128M) || fail "add mem"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(cat /sys/block/ublkb$id/queue/discard_max_bytes)" 1073741824 "discard_max_bytes"
[ "$(cat /sys/block/ublkb$id/queue/write_zeroes_max_bytes)" -gt 0 ] || fail "no write-zeroes support advertised"

used() { info_field "$id" memory_used; }
expect_eq "$(used)" 0 "memory used by a new device"
dd if=/dev/urandom of="$dev" bs=1M count=64 oflag=direct status=none
[ "$(used)" -ge $((64 << 20)) ] || fail "memory used after writing 64 MiB: $(used)"

blkdiscard "$dev" || fail "blkdiscard"
expect_eq "$(used)" 0 "memory used after a whole-device discard"
expect_eq "$(dd if="$dev" bs=1M count=64 iflag=direct status=none | tr -d '\0' | wc -c)" 0 "non-zero bytes after discard"

dd if=/dev/urandom of="$dev" bs=1M count=8 oflag=direct status=none
blkdiscard -z -o 0 -l $((4 << 20)) "$dev" || fail "blkdiscard -z (write zeroes)"
expect_eq "$(dd if="$dev" bs=1M count=4 iflag=direct status=none | tr -d '\0' | wc -c)" 0 "non-zero bytes after write-zeroes"
[ "$(dd if="$dev" bs=1M skip=4 count=4 iflag=direct status=none | tr -d '\0' | wc -c)" -gt 0 ] ||
	fail "write-zeroes cleared more than it was asked to"
