#!/bin/bash
# Records that cannot be recovered do not stop the others: three devices
# (mem A, file B, file C); ublkd is killed with SIGKILL; A's state record is
# truncated to half and B's backing file deleted; a new ublkd must start,
# log one line each for A and B saying why, recover C live with its data,
# delete B's kernel device and A's (its record's name still says which it
# was), and move both records aside.
. "$(dirname "$0")/lib.sh"
require_root

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 256M
start_daemon

# Prints the warnings and errors (levels <0> to <4>) of the daemon log that
# match the extended regular expression $1.
log_problems() { grep -E '^<[0-4]>' "$E2E_DAEMON_LOG" | grep -E "$1" || true; }

devA=$("$UBLKCTL" add mem --size 16M) || fail "add mem (A)"
devB=$("$UBLKCTL" add file --path "$fs/b.img" --size 16M) || fail "add file (B)"
devC=$("$UBLKCTL" add file --path "$fs/c.img" --size 16M) || fail "add file (C)"
for dev in "$devA" "$devB" "$devC"; do require_blockdev "$dev"; done
A=${devA#/dev/ublkb} B=${devB#/dev/ublkb} C=${devC#/dev/ublkb}
recs=$E2E_STATE_DIR/devices
for id in "$A" "$B" "$C"; do
	[ -s "$recs/ublkb$id.json" ] || fail "no state record for device $id"
done
head -c 4M /dev/urandom > "$E2E_TMP/pattern"
dd if="$E2E_TMP/pattern" of="$devC" bs=1M seek=2 oflag=direct status=none ||
	fail "writing the pattern to $devC"
dd if="$E2E_TMP/pattern" of="$devA" bs=1M seek=2 oflag=direct status=none ||
	fail "writing the pattern to $devA"

note "SIGKILL to ublkd (pid $UBLKD_PID); then A's record truncated, B's backing file deleted"
kill_daemon
size=$(stat -c %s "$recs/ublkb$A.json")
truncate -s $((size / 2)) "$recs/ublkb$A.json"
rm "$fs/b.img"
log_lines=$(wc -l < "$E2E_DAEMON_LOG")
start_daemon
wait_live "$C" 60 || fail "device $C is not live after the restart"
tail -n +$((log_lines + 1)) "$E2E_DAEMON_LOG" > "$E2E_TMP/second.log"
E2E_DAEMON_LOG=$E2E_TMP/second.log

# C: recovered, its data intact.
dd if="$devC" of="$E2E_TMP/back" bs=1M skip=2 count=4 iflag=direct status=none ||
	fail "reading $devC after the restart"
cmp "$E2E_TMP/pattern" "$E2E_TMP/back" || fail "device $C lost data across the restart"
expect_eq "$("$UBLKCTL" --json list | jq -c '[.[] | .id]')" "[$C]" \
	"devices the new daemon lists (only C is recoverable)"

# B: one line saying why, kernel device deleted, record moved aside.
lines=$(log_problems "device $B cannot be recovered: .*b\.img.*; its record is moved aside")
expect_eq "$(printf '%s' "$lines" | grep -c . || true)" 1 \
	"log lines saying why device $B (backing file deleted) cannot be recovered"
expect_eq "$(log_problems "ublkb$B\.json|device ${B}[^0-9]" | wc -l)" 1 \
	"warnings and errors about device $B (one line saying why)"
wait_for "[ ! -e $devB ] && [ ! -e /sys/class/ublk-char/ublkc$B ]" 10 ||
	fail "device $B is still in the kernel ($devB or /sys/class/ublk-char/ublkc$B)"
[ -e "$recs/ublkb$B.json.bad" ] || fail "device $B's record was not moved aside to ublkb$B.json.bad"
[ ! -e "$recs/ublkb$B.json" ] || fail "device $B's record is still in place"

# A: one line saying why, record moved aside.
[ -n "$(log_problems "state record .*ublkb$A\.json cannot be used \(.*truncated")" ] ||
	fail "no log line saying device $A's record is truncated"
expect_eq "$(log_problems "ublkb$A\.json" | wc -l)" 1 \
	"warnings and errors about device $A's record (one line saying why)"
[ -e "$recs/ublkb$A.json.bad" ] || fail "device $A's record was not moved aside to ublkb$A.json.bad"
[ ! -e "$recs/ublkb$A.json" ] || fail "device $A's record is still in place"
# A's record no longer describes it, but its name still says which device
# it was: that kernel device cannot be served again and is deleted.
wait_for "[ ! -e /sys/class/ublk-char/ublkc$A ]" 10 ||
	fail "device $A (corrupt record) is still in the kernel"
[ -z "$(log_problems "device $A: the kernel has it but this daemon has no record")" ] ||
	fail "device $A was logged as another server's device"

# SIGTERM deletes C; nothing is left.
stop_daemon || fail "ublkd exited with status $? after SIGTERM"
for id in "$A" "$B" "$C"; do
	[ ! -e "/sys/class/ublk-char/ublkc$id" ] || fail "device $id left behind at the end"
done
