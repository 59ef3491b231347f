#!/bin/bash
# Planned restarts: `ublkctl shutdown --keep-devices` under fio load (crc32c
# verification, depth 32) on three mem devices and a file device, then a
# new ublkd on the same state directory, four times in a row. ublkd exits
# 0, the devices stay in the kernel meanwhile, the new daemon lists them
# live with their ids, every fio finishes without an error and verifies,
# and data written before is intact. On a kernel with QUIESCE_DEV (7.3) the
# devices are quiesced first; on 6.12 the daemon says what is in flight is
# reissued, and leaves the queues open until it exits (closing them while
# it lived stranded a request the kernel then waited for forever, so the
# next daemon could not recover the device: seen here in the second cycle).
# Plain `ublkctl shutdown` still deletes every device.
. "$(dirname "$0")/lib.sh"
require_root

CYCLES=4
# 16 MiB per writer: four devices at once still write for well over the
# 2-4 s before each shutdown (32 MiB made this test's 4 cycles 195 s on
# 7.3 in CI, mostly fio).
VERIFY_SIZE=16M
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

devs=()
for i in 1 2 3; do
	devs+=("$("$UBLKCTL" add mem --size 64M)") || fail "add mem $i"
done
devs+=("$("$UBLKCTL" add file --path "$fs/disk.img" --size 64M)") || fail "add file"
ids=()
for dev in "${devs[@]}"; do
	require_blockdev "$dev"
	ids+=("${dev#/dev/ublkb}")
done
quiesce=$("$UBLKCTL" --json status | jq -r '.feature_names | index("QUIESCE") != null')
note "kernel $(uname -r): QUIESCE_DEV available: $quiesce"

# A pattern of its own per device, outside fio's region, checked at the end.
for i in "${!devs[@]}"; do
	head -c 1M /dev/urandom > "$E2E_TMP/pattern$i"
	dd if="$E2E_TMP/pattern$i" of="${devs[i]}" bs=1M seek=40 oflag=direct status=none ||
		fail "dd ${devs[i]}"
done

for ((c = 1; c <= CYCLES; c++)); do
	start_verify_writers "${devs[@]}"
	sleep $((1 + c % 3))
	note "cycle $c: ublkctl shutdown --keep-devices under load"
	"$UBLKCTL" shutdown --keep-devices || fail "ublkctl shutdown --keep-devices failed (cycle $c)"
	wait_daemon_exit
	for dev in "${devs[@]}"; do
		[ -b "$dev" ] || fail "$dev is gone after shutdown --keep-devices (cycle $c)"
	done
	if [ "$quiesce" = true ]; then
		said="quiescing for the next ublkd"
	else
		said="no QUIESCE_DEV"	# ... requests in flight are reissued
	fi
	for id in "${ids[@]}"; do
		expect_eq "$(grep -c "device $id: $said" "$E2E_DAEMON_LOG")" "$c" \
			"times device $id was left with '$said' after cycle $c"
	done
	expect_eq "$(grep -c "all devices left to the next ublkd" "$E2E_DAEMON_LOG")" "$c" \
		"shutdown lines in the log after cycle $c"
	sleep 1
	start_daemon
	for id in "${ids[@]}"; do
		wait_live "$id" 120 || fail "device $id is not live after restart $c"
	done
	wait_verify_writers "planned restart $c"
done

for i in "${!devs[@]}"; do
	dd if="${devs[i]}" of="$E2E_TMP/back" bs=1M skip=40 count=1 iflag=direct status=none ||
		fail "dd back ${devs[i]}"
	cmp "$E2E_TMP/pattern$i" "$E2E_TMP/back" || fail "${devs[i]} lost data across the planned restarts"
done

# Without --keep-devices, shutdown deletes every device and its record.
"$UBLKCTL" shutdown || fail "ublkctl shutdown failed"
wait_daemon_exit
for dev in "${devs[@]}"; do
	[ ! -e "$dev" ] || fail "$dev left behind by a plain shutdown"
done
expect_eq "$(ls "$E2E_STATE_DIR/devices" | grep -c 'json$' || true)" 0 "records left after shutdown"
