#!/bin/bash
# Errors from the backing file reach the block layer with their errno: a
# sparse file on a full file system makes writes fail with ENOSPC (not
# silently dropped), and the device keeps serving afterwards.
. "$(dirname "$0")/lib.sh"
require_root

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 32M
start_daemon

dev=$("$UBLKCTL" add file --path "$fs/sparse.img" --size 64M) || fail "add file"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
if dd if=/dev/urandom of="$dev" bs=1M count=64 oflag=direct 2> "$E2E_TMP/dd.err"; then
	fail "writing 64 MiB into a file on a 32 MiB file system succeeded"
fi
grep -q "No space left on device" "$E2E_TMP/dd.err" || fail "dd error is not ENOSPC: $(cat "$E2E_TMP/dd.err")"
note "dd: $(tail -n 1 "$E2E_TMP/dd.err")"
# What did fit reads back from the file, and the device still answers.
dd if="$dev" of=/dev/null bs=1M iflag=direct status=none || fail "reading after ENOSPC"
head -c 4096 /dev/urandom > "$E2E_TMP/blk"
dd if="$E2E_TMP/blk" of="$dev" bs=4k count=1 oflag=direct status=none || fail "rewriting an allocated block"
cmp -n 4096 "$dev" "$E2E_TMP/blk" || fail "rewritten block differs"
"$UBLKCTL" del "$id" || fail "del"
