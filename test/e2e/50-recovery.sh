#!/bin/bash
# Devices outlive the daemon: fio writes with crc32c verification at depth
# 32 to a file device and a mem device (and reads a zip device); ublkd is
# killed with SIGKILL mid-run and started again a few seconds later on the
# same state directory. fio must finish with no I/O error and its
# verification must pass on every device, and the new daemon must list them
# live with their ids and recovery mode. Then the same kill and restart with
# no I/O running, a second daemon on the same state directory that must
# refuse to start and leave the devices alone, and a check that SIGTERM
# still deletes the devices and their records.
. "$(dirname "$0")/lib.sh"
require_root
command -v zip > /dev/null || fail "the zip command is missing (test/install-deps installs it)"

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 512M
head -c 16M /dev/urandom > "$fs/image.raw"
(cd "$fs" && zip -q -9 image.zip image.raw) || fail "zip failed"
start_daemon


mem=$("$UBLKCTL" add mem --size 64M) || fail "add mem"
file=$("$UBLKCTL" add file --path "$fs/disk.img" --size 64M) || fail "add file"
zipdev=$("$UBLKCTL" add zip --path "$fs/image.zip") || fail "add zip"
for dev in "$mem" "$file" "$zipdev"; do require_blockdev "$dev"; done
ids=()
for dev in "$mem" "$file" "$zipdev"; do ids+=("${dev#/dev/ublkb}"); done
expect_eq "$(info_field "${ids[0]}" recovery)" reissue "default recovery mode"
for id in "${ids[@]}"; do
	[ -s "$E2E_STATE_DIR/devices/ublkb$id.json" ] || fail "no state record for device $id"
done
expect_eq "$(jget -f "$E2E_STATE_DIR/devices/ublkb${ids[0]}.json" .params.backend)" mem \
	"backend in the mem device's record"
jq -e '.saved.backing_file | test("/mem-")' "$E2E_STATE_DIR/devices/ublkb${ids[0]}.json" \
	> /dev/null || fail "the mem record lacks its backing file"

# Checks that the daemon lists every device of ids live ($1: when).
expect_all_live() {
	expect_eq "$("$UBLKCTL" --json list | jq -c '[.[] | select(.state == "live") | .id] | sort')" \
		"$(printf '%s\n' "${ids[@]}" | sort -n | jq -cs .)" "live devices $1"
}

# fio on each writable device: random 4 KiB writes with a crc32c header in
# each block, read back and verified after the write phase.
start_verify_writers "$mem" "$file"
# and a reader of the zip device, checked against the image afterwards.
dd if="$zipdev" of="$E2E_TMP/zip-read" bs=64k iflag=direct status=none &
zip_pid=$!

# Kill the daemon while the writers are busy.
sleep 3
for pid in "${FIO_PIDS[@]}"; do
	kill -0 "$pid" 2> /dev/null || note "a fio finished before the kill (the guest was fast)"
done
note "SIGKILL to ublkd (pid $UBLKD_PID) under load"
kill_daemon
sleep 3
for dev in "$mem" "$file" "$zipdev"; do
	[ -b "$dev" ] || fail "$dev disappeared while no daemon served it"
done
start_daemon
for id in "${ids[@]}"; do
	wait_live "$id" 120 || fail "device $id is not live after the restart"
done
grep -q "device ${ids[0]} recovered" "$E2E_DAEMON_LOG" || fail "no recovery line for device ${ids[0]}"

wait_verify_writers "the restart"
wait "$zip_pid" || fail "reading the zip device failed across the restart"
cmp "$E2E_TMP/zip-read" "$fs/image.raw" || fail "the zip device's data differs after the restart"

expect_all_live "after the restart"

# The mem device kept its data and its one backing file: write a marker,
# kill, restart, read it back.
backing=$(info_field "${ids[0]}" backing_file)
[ -f "$backing" ] || fail "the mem device's backing file $backing is missing"
head -c 1M /dev/urandom > "$E2E_TMP/marker"
dd if="$E2E_TMP/marker" of="$mem" bs=1M seek=10 oflag=direct status=none || fail "dd marker"
kill_daemon
start_daemon
wait_live "${ids[0]}" 60 || fail "mem device not live after the second restart"
dd if="$mem" of="$E2E_TMP/back" bs=1M skip=10 count=1 iflag=direct status=none || fail "dd back"
cmp "$E2E_TMP/marker" "$E2E_TMP/back" || fail "the mem device lost data across a restart"
expect_eq "$(info_field "${ids[0]}" backing_file)" "$backing" \
	"the mem device's backing file after the restart (the same file, not a new one)"

# A second daemon on the same state directory (its own socket) must not
# start: it would take the live devices' records for a crash's and recover
# them, or delete them. It exits at once, saying why; the first daemon's
# devices stay live with their data and their records.
"$UBLKD" --socket "$E2E_TMP/second.sock" --state-dir "$E2E_STATE_DIR" -v \
	2> "$E2E_TMP/second.log" &
second=$!
wait_for "! kill -0 $second 2> /dev/null" 20 0.2 || {
	kill -KILL "$second"
	fail "a second ublkd on the same state directory still ran after 20 s"
}
st=0
wait "$second" || st=$?
[ "$st" -ne 0 ] || fail "a second ublkd on the same state directory exited with status 0"
grep -q "another ublkd uses the state directory $E2E_STATE_DIR" "$E2E_TMP/second.log" ||
	fail "the second ublkd did not say why it stopped: $(cat "$E2E_TMP/second.log")"
note "second daemon on the same state directory: exit status $st: $(grep -o 'another ublkd.*' "$E2E_TMP/second.log" | head -1)"
expect_all_live "after a second daemon tried"
for id in "${ids[@]}"; do
	[ -s "$E2E_STATE_DIR/devices/ublkb$id.json" ] || fail "the record of device $id is gone after a second daemon tried"
done
dd if="$mem" of="$E2E_TMP/back" bs=1M skip=10 count=1 iflag=direct status=none || fail "dd back"
cmp "$E2E_TMP/marker" "$E2E_TMP/back" || fail "the mem device lost data after a second daemon tried"

# SIGTERM still means: delete every device and its record.
kill -TERM "$UBLKD_PID"
wait "$UBLKD_PID" || fail "ublkd exited with status $? after SIGTERM"
UBLKD_PID=
for dev in "$mem" "$file" "$zipdev"; do
	[ ! -e "$dev" ] || fail "$dev left behind after SIGTERM"
done
expect_eq "$(ls "$E2E_STATE_DIR/devices" | grep -c 'json$' || true)" 0 "records left after SIGTERM"
[ ! -e "$backing" ] || fail "the mem backing file $backing is left after SIGTERM"
