#!/bin/bash
# A planned restart: `ublkctl shutdown --keep-devices` under fio load (crc32c
# verification, depth 32) on a mem and a file device, then a new ublkd on
# the same state directory. ublkd exits 0, the devices stay in the kernel
# meanwhile, the new daemon lists them live with their ids, fio finishes
# without an error and verifies, and data written before is intact. On a
# kernel with QUIESCE_DEV (7.3) the devices are quiesced first; on 6.12 the
# daemon says what is in flight is reissued. Plain `ublkctl shutdown` still
# deletes every device.
. "$(dirname "$0")/lib.sh"
require_root

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 256M
start_daemon

# Waits for the daemon to exit by itself and checks it exited 0.
wait_daemon_exit() {
	local status=0
	wait_for "! kill -0 $UBLKD_PID 2>/dev/null" 60 || fail "ublkd did not exit after shutdown"
	wait "$UBLKD_PID" || status=$?
	expect_eq "$status" 0 "ublkd's exit status after shutdown"
	UBLKD_PID=
}

mem=$("$UBLKCTL" add mem --size 64M) || fail "add mem"
file=$("$UBLKCTL" add file --path "$fs/disk.img" --size 64M) || fail "add file"
for dev in "$mem" "$file"; do require_blockdev "$dev"; done
ids=("${mem#/dev/ublkb}" "${file#/dev/ublkb}")
quiesce=$("$UBLKCTL" --json status | jq -r '.feature_names | index("QUIESCE") != null')
note "kernel $(uname -r): QUIESCE_DEV available: $quiesce"

# A pattern outside fio's region, checked after the restart.
head -c 1M /dev/urandom > "$E2E_TMP/pattern"
for dev in "$mem" "$file"; do
	dd if="$E2E_TMP/pattern" of="$dev" bs=1M seek=40 oflag=direct status=none || fail "dd $dev"
done

start_verify_writers "$mem" "$file"
sleep 3
note "ublkctl shutdown --keep-devices under load"
"$UBLKCTL" shutdown --keep-devices || fail "ublkctl shutdown --keep-devices failed"
wait_daemon_exit
for dev in "$mem" "$file"; do
	[ -b "$dev" ] || fail "$dev is gone after shutdown --keep-devices"
done
if [ "$quiesce" = true ]; then
	grep -q "device ${ids[0]}: quiescing" "$E2E_DAEMON_LOG" || fail "the devices were not quiesced"
else
	grep -q "device ${ids[0]}: no QUIESCE_DEV" "$E2E_DAEMON_LOG" ||
		fail "the daemon did not say that requests in flight are reissued"
fi
grep -q "all devices left to the next ublkd" "$E2E_DAEMON_LOG" || fail "no shutdown line in the log"
sleep 2
start_daemon
for id in "${ids[@]}"; do
	wait_live "$id" 120 || fail "device $id is not live after the restart"
done
wait_verify_writers "the planned restart"
for dev in "$mem" "$file"; do
	dd if="$dev" of="$E2E_TMP/back" bs=1M skip=40 count=1 iflag=direct status=none || fail "dd back $dev"
	cmp "$E2E_TMP/pattern" "$E2E_TMP/back" || fail "$dev lost data across the planned restart"
done

# Without --keep-devices, shutdown deletes every device and its record.
"$UBLKCTL" shutdown || fail "ublkctl shutdown failed"
wait_daemon_exit
for dev in "$mem" "$file"; do
	[ ! -e "$dev" ] || fail "$dev left behind by a plain shutdown"
done
expect_eq "$(ls "$E2E_STATE_DIR/devices" | grep -c 'json$' || true)" 0 "records left after shutdown"
