#!/bin/bash
# A crash is followed by a restart and recovery without any command, as
# ublkd.service's Restart=on-failure does it. The guest has no systemd as
# PID 1 (so no systemd-run), so this test EMULATES Restart=on-failure: a
# supervising loop runs ublkd and, when it dies by a signal or with a
# non-zero status, starts it again after the unit's RestartSec; an exit 0
# (SIGTERM) ends it. A mem device is written by fio with crc32c
# verification; ublkd is killed with SIGKILL; the supervisor's new ublkd
# must recover the device by itself and fio must finish with no error.
. "$(dirname "$0")/lib.sh"
require_root

unit=$UBLKD_BUILDDIR/systemd/ublkd.service
[ -f "$unit" ] || fail "$unit is missing (built by make)"
restart=$(sed -n 's/^Restart=//p' "$unit")
expect_eq "$restart" on-failure "Restart= in $unit"
restart_sec=$(sed -n 's/^RestartSec=//p' "$unit")
[[ "$restart_sec" =~ ^[0-9]+$ ]] || fail "RestartSec= in $unit is not a number of seconds: '$restart_sec'"
if [ -d /run/systemd/system ]; then
	note "systemd runs here, but the test emulates it all the same"
else
	note "no systemd as PID 1 here: emulating Restart=on-failure, RestartSec=$restart_sec"
fi

export UBLKD_SOCKET=$E2E_TMP/ublkd.sock
pidfile=$E2E_TMP/ublkd.pid
# Runs ublkd as Restart=on-failure does: again RestartSec after it dies by a
# signal or with a non-zero status; returns when it exits 0. Keeps the pid
# of the running ublkd in $pidfile and logs each exit to $E2E_TMP/exits.
supervise() {
	local pid status
	while :; do
		"$UBLKD" --socket "$UBLKD_SOCKET" --state-dir "$E2E_STATE_DIR" -v \
			2>> "$E2E_DAEMON_LOG" &
		pid=$!
		echo "$pid" > "$pidfile"
		status=0
		wait "$pid" || status=$?
		echo "$pid $status" >> "$E2E_TMP/exits"
		[ "$status" -ne 0 ] || return 0
		sleep "$restart_sec"
	done
}
# Prints the pid of the ublkd the supervisor runs now.
current_pid() { cat "$pidfile" 2>/dev/null; }
# Teardown: SIGTERM to the current ublkd (which deletes the devices and
# exits 0, ending the supervisor); the supervisor is killed if it is left.
stop_supervised() {
	local pid
	pid=$(current_pid)
	[ -z "$pid" ] || kill -TERM "$pid" 2> /dev/null || true
	wait_for "! kill -0 $sup_pid 2>/dev/null" 30 > /dev/null || kill -KILL "$sup_pid" 2> /dev/null || true
	if [ "$E2E_STATUS" -ne 0 ] && [ -f "$E2E_DAEMON_LOG" ]; then
		echo "---- last 40 lines of the ublkd log ----" >&2
		tail -n 40 "$E2E_DAEMON_LOG" >&2
	fi
	return 0
}

supervise &
sup_pid=$!
on_exit stop_supervised
wait_for '"$UBLKCTL" list > /dev/null 2>&1' 30 || fail "the supervised ublkd did not answer"
first=$(current_pid)

dev=$("$UBLKCTL" add mem --size 64M) || fail "add mem"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
fio --name=w --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=16 --size=64M --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--randseed=$RANDOM --output="$E2E_TMP/fio.out" &
fio_pid=$!
sleep 1
kill -0 "$fio_pid" 2> /dev/null || note "fio finished before the kill (the guest was fast)"

note "SIGKILL to ublkd (pid $first); no command follows"
kill -KILL "$first"
wait_for "[ -n \"\$(current_pid)\" ] && [ \"\$(current_pid)\" != $first ]" 30 ||
	fail "the supervisor did not start ublkd again"
note "ublkd restarted (pid $(current_pid))"
wait_live "$id" 60 || fail "device $id is not live after the restart"
grep -q "device $id recovered" "$E2E_DAEMON_LOG" || fail "no recovery line for device $id"
wait "$fio_pid" || { cat "$E2E_TMP/fio.out"; fail "fio failed across the crash and restart"; }
grep -q 'err= 0' "$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio reported errors"; }
expect_eq "$(awk '{ print $2 }' "$E2E_TMP/exits")" 137 "exit statuses seen by the supervisor (SIGKILL)"

# SIGTERM: exit 0, which Restart=on-failure does not restart.
second=$(current_pid)
kill -TERM "$second"
wait_for "! kill -0 $sup_pid 2>/dev/null" 30 || fail "the supervisor went on after ublkd exited on SIGTERM"
wait "$sup_pid" || fail "the supervisor failed"
expect_eq "$(tail -n 1 "$E2E_TMP/exits")" "$second 0" "the last exit (SIGTERM)"
[ ! -e "$dev" ] || fail "$dev left behind after SIGTERM"
