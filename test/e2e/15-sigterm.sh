#!/bin/bash
# SIGTERM with devices alive: every device is deleted and the daemon exits 0.
. "$(dirname "$0")/lib.sh"
require_root
start_daemon --state-dir "$E2E_TMP/state"

for args in "mem --size 64M" "null --size 1G" "mem --size 32M --queues 2"; do
	dev=$("$UBLKCTL" add $args) || fail "add $args"
	require_blockdev "$dev"
done
[ -n "$(ls /dev/shm/ "$E2E_TMP/state" 2>/dev/null | grep mem- || true)" ] || fail "no mem backing file found"
# Keep one device open while the daemon stops.
exec 7< "$dev"
stop_daemon || fail "ublkd exited with status $? on SIGTERM"
exec 7<&-
leftover=$(ls /dev/ | grep -E '^ublk[bc][0-9]+' || true)
[ -z "$leftover" ] || fail "device nodes left after SIGTERM: $leftover"
leftover=$(ls /dev/shm/ "$E2E_TMP/state" 2>/dev/null | grep mem- || true)
[ -z "$leftover" ] || fail "mem backing files left after SIGTERM: $leftover"
grep -q 'all devices deleted' "$E2E_TMP/ublkd.log" || fail "daemon log lacks the shutdown message"
