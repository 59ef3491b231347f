#!/bin/bash
# Socket activation as ublkd.socket does it: the service manager binds the
# socket and passes it as fd 3; ublkd serves it and does not bind its own.
. "$(dirname "$0")/lib.sh"
require_root
command -v systemd-socket-activate > /dev/null || fail "systemd-socket-activate is missing (package systemd)"

sock=$E2E_TMP/activated.sock
systemd-socket-activate -l "$sock" -- "$UBLKD" -v --socket "$E2E_TMP/not-used.sock" \
	--state-dir "$E2E_STATE_DIR" \
	2> "$E2E_TMP/ublkd.log" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null || true"
export UBLKD_SOCKET=$sock
# The socket exists at once; ublkd starts on the first connection.
wait_for "[ -S $sock ]" 30 || { cat "$E2E_TMP/ublkd.log"; fail "systemd-socket-activate did not create $sock"; }
dev=$("$UBLKCTL" add mem --size 16M) || { cat "$E2E_TMP/ublkd.log"; fail "add through the activated socket"; }
require_blockdev "$dev"
grep -q "serving the control socket .*(from the service manager)" "$E2E_TMP/ublkd.log" ||
	{ cat "$E2E_TMP/ublkd.log"; fail "ublkd did not say it serves the passed socket"; }
[ ! -e "$E2E_TMP/not-used.sock" ] || fail "ublkd bound its own socket although one was passed"
expect_eq "$("$UBLKCTL" --json list | jget length)" 1 "devices listed through the activated socket"
kill -TERM "$pid"
wait "$pid" || fail "ublkd exited with status $? after SIGTERM"
[ ! -e "$dev" ] || fail "$dev left behind"
