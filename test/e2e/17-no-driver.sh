#!/bin/bash
# Without the ublk driver the daemon starts, says so, and refuses device_add
# with one clear error; once the driver is loaded, adding works.
. "$(dirname "$0")/lib.sh"
require_root
[ -z "$(ls /dev | grep -E '^ublk[bc][0-9]+' || true)" ] || fail "ublk devices exist before the test"
rmmod ublk_drv || fail "cannot unload ublk_drv"
on_exit "modprobe ublk_drv 2>/dev/null || true"
[ ! -e /dev/ublk-control ] || fail "/dev/ublk-control still exists after rmmod"
start_daemon

set +e
"$UBLKCTL" add mem --size 16M 2> "$E2E_TMP/err"; st=$?
set -e
expect_eq "$st" 1 "exit status of add without a driver"
grep -q 'no ublk driver' "$E2E_TMP/err" || fail "unexpected message: $(cat "$E2E_TMP/err")"
grep -q 'modprobe ublk_drv' "$E2E_TMP/err" || fail "message does not say how to fix it: $(cat "$E2E_TMP/err")"
reply=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"device_add","params":{"backend":"mem","size":16777216}}' |
	socat -t 30 - "UNIX-CONNECT:$UBLKD_SOCKET")
expect_eq "$(jget .error.code <<< "$reply")" -32003 "JSON-RPC code without a driver"
expect_eq "$("$UBLKCTL" --json status | jget .driver_loaded)" false "driver_loaded without a driver"

modprobe ublk_drv || fail "modprobe ublk_drv"
dev=$("$UBLKCTL" add mem --size 16M) || fail "add after loading the driver"
require_blockdev "$dev"
expect_eq "$("$UBLKCTL" --json status | jget .driver_loaded)" true "driver_loaded after modprobe"
"$UBLKCTL" del --all
