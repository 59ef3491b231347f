#!/bin/bash
# 00-harness: proves the test guest is usable: the ublk driver is loaded,
# /dev/ublk-control is a character device, the CPU is the one test/vm/run
# asks for (no ERMS unless UBLKD_VM_CPU chose another), and files written to
# $UBLKD_RESULTS reach the host (test/vm-e2e checks harness-ok there).
set -euo pipefail
# shellcheck source=test/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
kver=$(uname -r)
echo "uname -r: $kver"

[ -d /sys/module/ublk_drv ] || fail "module ublk_drv is not loaded (no /sys/module/ublk_drv)"
[ -e /dev/ublk-control ] || fail "/dev/ublk-control does not exist"
[ -c /dev/ublk-control ] || fail "/dev/ublk-control exists but is not a character device"
note "ublk_drv loaded, /dev/ublk-control is $(stat -c '%F %t:%T' /dev/ublk-control)"

# Copies through user space are measured as a real CPU would make them only
# without ERMS under TCG (test/vm/README.md); a guest started another way
# says so here rather than skewing every benchmark after it.
erms=$(cpu_erms)
if [ -z "${UBLKD_VM_CPU:-}" ] && [ "$erms" = on ]; then
	fail "the guest CPU has ERMS: test/vm/run should start it with -cpu max,-erms"
fi
note "guest CPU flags: erms $erms"

[ -d "$E2E_TMP" ] || fail "E2E_TMP=$E2E_TMP is not a directory"
[ -n "${UBLKD_RESULTS:-}" ] || fail "UBLKD_RESULTS is not set"
[ -d "$UBLKD_RESULTS" ] || fail "UBLKD_RESULTS=$UBLKD_RESULTS is not a directory"
echo "$kver" >"$UBLKD_RESULTS/harness-ok.tmp"
mv "$UBLKD_RESULTS/harness-ok.tmp" "$UBLKD_RESULTS/harness-ok"
expect_eq "$(cat "$UBLKD_RESULTS/harness-ok")" "$kver" "contents of $UBLKD_RESULTS/harness-ok"
note "wrote $UBLKD_RESULTS/harness-ok"
