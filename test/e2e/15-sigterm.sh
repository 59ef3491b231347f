#!/bin/bash
# SIGTERM with devices alive (each written and read back first): every
# device is deleted and the daemon exits 0.
. "$(dirname "$0")/lib.sh"
require_root
start_daemon --state-dir "$E2E_TMP/state"

devs=()
for args in "mem --size 64M" "null --size 1G" "mem --size 32M --queues 2"; do
	dev=$("$UBLKCTL" add $args) || fail "add $args"
	require_blockdev "$dev"
	devs+=("$dev")
done
expect_eq "$(ls /dev/shm/ "$E2E_TMP/state" 2>/dev/null | grep -c mem- || true)" 2 "mem backing files"
# Each device written with its own pattern, then read back: its own only
# (null: zeroes), so the devices SIGTERM deletes were serving.
for i in 0 1 2; do
	fio --name="p$i" --filename="${devs[i]}" --ioengine=io_uring --direct=1 --rw=write \
		--bs=64k --size=4M --verify=pattern --verify_pattern="0x5167e40$i" --do_verify=0 \
		--output="$E2E_TMP/p$i.out" || { cat "$E2E_TMP/p$i.out"; fail "writing ${devs[i]}"; }
done
for i in 0 2; do
	fio --name="v$i" --filename="${devs[i]}" --ioengine=io_uring --direct=1 --rw=write \
		--bs=64k --size=4M --verify=pattern --verify_pattern="0x5167e40$i" --verify_only \
		--verify_fatal=1 --output="$E2E_TMP/v$i.out" ||
		{ cat "$E2E_TMP/v$i.out"; fail "${devs[i]} does not read back its own pattern"; }
done
expect_eq "$(dd if="${devs[1]}" bs=64k count=64 iflag=direct status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes read from null ${devs[1]}"
# Keep one device open while the daemon stops.
exec 7< "$dev"
stop_daemon || fail "ublkd exited with status $? on SIGTERM"
exec 7<&-
leftover=$(ls /dev/ | grep -E '^ublk[bc][0-9]+' || true)
[ -z "$leftover" ] || fail "device nodes left after SIGTERM: $leftover"
leftover=$(ls /dev/shm/ "$E2E_TMP/state" 2>/dev/null | grep mem- || true)
[ -z "$leftover" ] || fail "mem backing files left after SIGTERM: $leftover"
grep -q 'all devices deleted' "$E2E_TMP/ublkd.log" || fail "daemon log lacks the shutdown message"
