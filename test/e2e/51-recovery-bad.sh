#!/bin/bash
# Records that cannot be recovered do not stop the others: four devices
# (mem A, file B, file C, mem D); ublkd is killed with SIGKILL; A's state
# record is truncated to half, B's backing file deleted, and D's record
# and backing file grown to a size the kernel's device does not have; a
# new ublkd must start, log one line each for A, B and D saying why,
# recover C live with its data, delete the kernel devices of B, D and A
# (its record's name still says which it was), and move the three records
# aside. D's data is not deleted with its device: its backing file, named
# in the moved-aside record, still holds what was written.
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
devD=$("$UBLKCTL" add mem --size 16M) || fail "add mem (D)"
for dev in "$devA" "$devB" "$devC" "$devD"; do require_blockdev "$dev"; done
A=${devA#/dev/ublkb} B=${devB#/dev/ublkb} C=${devC#/dev/ublkb} D=${devD#/dev/ublkb}
recs=$E2E_STATE_DIR/devices
for id in "$A" "$B" "$C" "$D"; do
	[ -s "$recs/ublkb$id.json" ] || fail "no state record for device $id"
done
head -c 4M /dev/urandom > "$E2E_TMP/pattern"
dd if="$E2E_TMP/pattern" of="$devC" bs=1M seek=2 oflag=direct status=none ||
	fail "writing the pattern to $devC"
dd if="$E2E_TMP/pattern" of="$devA" bs=1M seek=2 oflag=direct status=none ||
	fail "writing the pattern to $devA"
head -c 4M /dev/urandom > "$E2E_TMP/pattern-d"
dd if="$E2E_TMP/pattern-d" of="$devD" bs=1M seek=2 oflag=direct status=none ||
	fail "writing a pattern to $devD"
fileD=$(info_field "$D" backing_file)
[ -f "$fileD" ] || fail "device $D's backing file '$fileD' is not a file"

note "SIGKILL to ublkd (pid $UBLKD_PID); then A's record truncated, B's backing file deleted, D grown"
kill_daemon
size=$(stat -c %s "$recs/ublkb$A.json")
truncate -s $((size / 2)) "$recs/ublkb$A.json"
rm "$fs/b.img"
# D's record and file agree on 32 MiB (the backend opens), the kernel's
# device has 16: the recovery fails after the backend opened.
jq '.params.size = 33554432' "$recs/ublkb$D.json" > "$E2E_TMP/recD" || fail "editing D's record"
cat "$E2E_TMP/recD" > "$recs/ublkb$D.json"
truncate -s 32M "$fileD"
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

# D: one line saying why, kernel device deleted, record moved aside, and
# its backing file kept with the data written before the crash.
lines=$(log_problems "device $D cannot be recovered: the kernel serves 32768 sectors .* 65536 .*not the same data; its record is moved aside")
expect_eq "$(printf '%s' "$lines" | grep -c . || true)" 1 \
	"log lines saying why device $D (grown) cannot be recovered"
wait_for "[ ! -e $devD ] && [ ! -e /sys/class/ublk-char/ublkc$D ]" 10 ||
	fail "device $D is still in the kernel"
[ -e "$recs/ublkb$D.json.bad" ] || fail "device $D's record was not moved aside"
expect_eq "$(jget -f "$recs/ublkb$D.json.bad" .saved.backing_file)" "$fileD" \
	"the backing file device $D's moved-aside record names"
[ -f "$fileD" ] || fail "device $D's backing file $fileD was deleted with its device"
cmp -i 2M:0 -n 4M "$fileD" "$E2E_TMP/pattern-d" || fail "device $D's backing file lost its data"
rm -f "$fileD"

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
for id in "$A" "$B" "$C" "$D"; do
	[ ! -e "/sys/class/ublk-char/ublkc$id" ] || fail "device $id left behind at the end"
done
