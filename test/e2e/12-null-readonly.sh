#!/bin/bash
# A null device reads zeroes and accepts writes; a read-only device refuses
# writes at the block layer.
. "$(dirname "$0")/lib.sh"
require_root
start_daemon

dev=$("$UBLKCTL" add null --size 64M) || fail "ublkctl add null failed"
require_blockdev "$dev"
dd if=/dev/urandom of="$dev" bs=1M count=8 oflag=direct status=none || fail "write to null device failed"
expect_eq "$(dd if="$dev" bs=1M count=64 iflag=direct status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes read from the null device"

ro=$("$UBLKCTL" add mem --size 16M --read-only) || fail "ublkctl add --read-only failed"
require_blockdev "$ro"
expect_eq "$(blockdev --getro "$ro")" 1 "blockdev --getro of $ro"
expect_eq "$(info_field "${ro#/dev/ublkb}" read_only)" true "read_only in info"
if dd if=/dev/zero of="$ro" bs=4k count=1 oflag=direct status=none 2> "$E2E_TMP/dd.err"; then
	fail "a write to the read-only device $ro succeeded"
fi
grep -Eq 'Operation not permitted|Read-only file system|Permission denied' "$E2E_TMP/dd.err" ||
	{ cat "$E2E_TMP/dd.err"; fail "unexpected error for a write to $ro"; }
# Reads still work.
dd if="$ro" of=/dev/null bs=1M iflag=direct status=none || fail "read from read-only device failed"
