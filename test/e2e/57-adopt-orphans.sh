#!/bin/bash
# Kernel devices without a usable record. A device added with --recovery
# none stays in the kernel (dead) after a SIGKILL; the next daemon has no
# record of it, so it leaves it alone and says so, unless --adopt-orphans
# is given: then it deletes it. A record that cannot be read (truncated)
# is moved aside and its device, named by the file, deleted from the
# kernel; a readable record next to it is still recovered.
. "$(dirname "$0")/lib.sh"
require_root
start_daemon

# True while the kernel has ublk device $1.
in_kernel() { [ -e "/sys/class/ublk-char/ublkc$1" ]; }

orphan=$("$UBLKCTL" add mem --size 16M --recovery none) || fail "add mem --recovery none"
broken=$("$UBLKCTL" add mem --size 16M) || fail "add mem (its record will break)"
kept=$("$UBLKCTL" add mem --size 16M) || fail "add mem (kept)"
o=${orphan#/dev/ublkb} b=${broken#/dev/ublkb} k=${kept#/dev/ublkb}
[ ! -e "$E2E_STATE_DIR/devices/ublkb$o.json" ] || fail "a device without recovery has a record"
head -c 1M /dev/urandom > "$E2E_TMP/pattern"
dd if="$E2E_TMP/pattern" of="$kept" bs=1M oflag=direct status=none || fail "dd kept"
kill_daemon

# Truncate one record to half: no longer JSON.
rec=$E2E_STATE_DIR/devices/ublkb$b.json
head -c $(($(stat -c %s "$rec") / 2)) "$rec" > "$rec.half" && mv "$rec.half" "$rec"
start_daemon
wait_live "$k" 60 || fail "device $k not recovered next to a broken record"
dd if="$kept" of="$E2E_TMP/back" bs=1M count=1 iflag=direct status=none || fail "dd back"
cmp "$E2E_TMP/pattern" "$E2E_TMP/back" || fail "device $k lost data"
grep -q "state record .*ublkb$b.json cannot be used" "$E2E_DAEMON_LOG" || fail "the broken record was not logged"
[ -e "$rec.bad" ] && [ ! -e "$rec" ] || fail "the broken record was not moved aside"
wait_for "! in_kernel $b" 30 || fail "device $b (broken record) is still in the kernel"
grep -q "device $o: the kernel has it but this daemon has no record" "$E2E_DAEMON_LOG" ||
	fail "the orphan $o was not logged"
in_kernel "$o" || fail "the orphan $o was deleted without --adopt-orphans"

# With --adopt-orphans the orphan goes; the recorded device stays.
"$UBLKCTL" shutdown --keep-devices || fail "shutdown --keep-devices"
wait_for "! kill -0 $UBLKD_PID 2>/dev/null" 60 || fail "ublkd did not exit"
wait "$UBLKD_PID" 2> /dev/null || true
UBLKD_PID=
start_daemon --adopt-orphans
wait_for "! in_kernel $o" 30 || fail "--adopt-orphans did not delete device $o"
grep -q "device $o: .*deleting it (--adopt-orphans)" "$E2E_DAEMON_LOG" || fail "no log line for the adopted orphan"
wait_live "$k" 60 || fail "device $k not live next to --adopt-orphans"
