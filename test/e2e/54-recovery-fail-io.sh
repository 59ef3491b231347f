#!/bin/bash
# --recovery fail-io. On a kernel with USER_RECOVERY_FAIL_IO (6.13+, e.g.
# 7.3): a mem device added with it; ublkd is killed with SIGKILL; a direct
# read must then fail at once (within 5 s under TCG; the time is printed)
# instead of waiting, and once ublkd is started again the device serves its
# data again. On a kernel without it (6.12): the add is refused with a
# non-zero status and a message naming 6.13, and no device is created.
. "$(dirname "$0")/lib.sh"
require_root
start_daemon


features=$("$UBLKCTL" --json status | jget .feature_names) || fail "ublkctl status"
note "kernel $(uname -r), ublk features $features"

if ! jq -e 'index("USER_RECOVERY_FAIL_IO")' <<< "$features" > /dev/null; then
	before=$(kernel_devices)
	status=0
	"$UBLKCTL" add mem --size 16M --recovery fail-io > "$E2E_TMP/add.out" 2>&1 || status=$?
	[ "$status" -ne 0 ] || fail "add --recovery fail-io succeeded on a kernel without FAIL_IO"
	grep -q '6\.13' "$E2E_TMP/add.out" ||
		fail "the refusal does not name 6.13: $(cat "$E2E_TMP/add.out")"
	note "refused with status $status: $(cat "$E2E_TMP/add.out")"
	expect_eq "$("$UBLKCTL" --json list | jget length)" 0 "devices after the refused add"
	expect_eq "$(kernel_devices)" "$before" "kernel ublk devices after the refused add"
	exit 0
fi

dev=$("$UBLKCTL" add mem --size 16M --recovery fail-io) || fail "add mem --recovery fail-io"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(info_field "$id" recovery)" fail-io "recovery mode"
head -c 1M /dev/urandom > "$E2E_TMP/pattern"
dd if="$E2E_TMP/pattern" of="$dev" bs=1M seek=3 oflag=direct status=none || fail "writing $dev"

note "SIGKILL to ublkd (pid $UBLKD_PID)"
kill_daemon
# The wall clock jumps under TCG; bash's EPOCHREALTIME is what there is.
t0=$EPOCHREALTIME
status=0
timeout 60 dd if="$dev" of=/dev/null bs=4k count=1 skip=100 iflag=direct status=none \
	2> "$E2E_TMP/dd.err" || status=$?
t1=$EPOCHREALTIME
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
note "direct read with no daemon: status $status after $took s ($(cat "$E2E_TMP/dd.err"))"
[ "$status" -ne 0 ] || fail "a read with no daemon succeeded on a fail-io device"
[ "$status" -ne 124 ] || fail "a read with no daemon waited (60 s) on a fail-io device"
awk -v t="$took" 'BEGIN { exit !(t <= 5) }' ||
	fail "a read with no daemon took $took s to fail (more than 5 s)"
[ -b "$dev" ] || fail "$dev disappeared while no daemon served it"

start_daemon
wait_live "$id" 60 || fail "device $id is not live after the restart"
dd if="$dev" of="$E2E_TMP/back" bs=1M skip=3 count=1 iflag=direct status=none ||
	fail "reading $dev after the restart"
cmp "$E2E_TMP/pattern" "$E2E_TMP/back" || fail "device $id lost data across the restart"
expect_eq "$(info_field "$id" recovery)" fail-io "recovery mode after the restart"
