#!/bin/bash
# The index of a large deflated member is built without stopping the
# daemon: while `ublkctl add zip` waits for it, a mem device added before
# still serves reads and the daemon answers `ublkctl list`; the zip device
# shows as starting, then comes up and reads back the image. Deleting the
# device, or SIGTERM, while its index is still being built fails the add
# cleanly and leaves no device behind.
# Run on the stable kernel only: what it checks (the zip index built beside
# the loop) lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root
command -v zip > /dev/null || fail "the zip command is missing (test/install-deps installs it)"
start_daemon

# Milliseconds since $1 (from date +%s%N).
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# The mem device that must keep serving, with 8 MiB of known data.
memdev=$("$UBLKCTL" add mem --size 64M) || fail "add mem failed"
require_blockdev "$memdev"
head -c 8M /dev/urandom > "$E2E_TMP/mem.data"
dd if="$E2E_TMP/mem.data" of="$memdev" bs=1M oflag=direct status=none || fail "writing $memdev failed"
memsum=$(sha256sum < "$E2E_TMP/mem.data")

# A 256 MiB image (the index takes several seconds in the guest): 8 copies
# of 32 MiB of half compressible data from fio, zipped fast (-1). Deflate
# sees only 32 KiB back, so the copies cost the index as much as new data.
t0=$(date +%s%N)
img=$E2E_TMP/disk.img
fio --name=image --filename="$E2E_TMP/part" --rw=write --bs=1M --size=32M \
	--buffer_compress_percentage=50 --refill_buffers \
	--output="$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio could not write the image"; }
for _ in $(seq 8); do cat "$E2E_TMP/part"; done > "$img"
rm -f "$E2E_TMP/part"
(cd "$E2E_TMP" && zip -q -1 big.zip disk.img) || fail "zip failed"
imgsum=$(sha256sum < "$img")
imgsize=$(stat -c %s "$img")
rm -f "$img"	# the guest's /tmp is in its memory
note "image $imgsize bytes, big.zip $(stat -c %s "$E2E_TMP/big.zip") bytes, made in $(ms_since "$t0") ms"

addpid=
on_exit '[ -z "$addpid" ] || kill "$addpid" 2>/dev/null || true'

# Starts `ublkctl add zip` of big.zip as device $1 in the background.
start_add() {
	"$UBLKCTL" add zip --path "$E2E_TMP/big.zip" --id "$1" \
		> "$E2E_TMP/add.out" 2> "$E2E_TMP/add.err" &
	addpid=$!
}

# Waits until device $1 is listed as starting while its index is built.
wait_building() {
	wait_for "[ \"\$($UBLKCTL --json info $1 2>/dev/null | jget .index_state)\" = building ]" 60 ||
		fail "device $1 never showed an index being built: $(cat "$E2E_TMP/add.err")"
	expect_eq "$(info_field "$1" state)" starting "state of device $1"
}

# Fails unless the add started by start_add failed with $1 in its message.
expect_add_failed() {
	local status=0
	wait "$addpid" || status=$?
	addpid=
	[ "$status" -ne 0 ] || fail "the add succeeded: $(cat "$E2E_TMP/add.out")"
	grep -qF -- "$1" "$E2E_TMP/add.err" || fail "the add's message lacks '$1': $(cat "$E2E_TMP/add.err")"
	note "the add failed: $(cat "$E2E_TMP/add.err")"
}

# Lists the device nodes of this test's devices (the mem device and 10-12;
# earlier tests in the same boot may have left others).
ublk_nodes() {
	local id
	for id in "${memdev#/dev/ublkb}" 10 11 12; do
		ls "/dev/ublkb$id" "/dev/ublkc$id" 2> /dev/null
	done | tr '\n' ' '
}

# 1. Other work goes on while the index is built.
t0=$(date +%s%N)
start_add 10
wait_building 10
note "device 10 seen building $(ms_since "$t0") ms after the add started"
t0=$(date +%s%N)
timeout 30 dd if="$memdev" of=/dev/null bs=1M count=8 iflag=direct status=none ||
	fail "reading $memdev while the index is built failed or took over 30 s"
dd_ms=$(ms_since "$t0")
t0=$(date +%s%N)
timeout 30 "$UBLKCTL" list > "$E2E_TMP/list.out" || fail "ublkctl list failed or took over 30 s"
list_ms=$(ms_since "$t0")
kill -0 "$addpid" 2>/dev/null ||
	fail "the add finished before the checks did: the index was built too fast to show anything"
expect_eq "$(info_field 10 state)" starting "state of device 10 after the reads"
grep -q starting "$E2E_TMP/list.out" || fail "ublkctl list does not show device 10 starting: $(cat "$E2E_TMP/list.out")"
note "while indexing ($(info_field 10 index_inflated_bytes) bytes inflated): 8 MiB from $memdev in $dd_ms ms, ublkctl list in $list_ms ms"

t0=$(date +%s%N)
wait "$addpid" || fail "add zip failed: $(cat "$E2E_TMP/add.err")"
addpid=
note "the add answered $(ms_since "$t0") ms later"
dev=$(cat "$E2E_TMP/add.out")
expect_eq "$dev" /dev/ublkb10 "device of the add"
require_blockdev "$dev"
"$UBLKCTL" --json info 10 > "$E2E_TMP/info.json"
expect_eq "$(jget -f "$E2E_TMP/info.json" .state)" live "state of device 10"
expect_eq "$(jget -f "$E2E_TMP/info.json" .index_state)" ready "index_state of device 10"
expect_eq "$(jget -f "$E2E_TMP/info.json" .crc_check)" ok "crc_check of device 10"
expect_eq "$(blockdev --getsize64 "$dev")" "$imgsize" "size of $dev"
expect_eq "$(dd if="$dev" bs=1M iflag=direct status=none | sha256sum)" "$imgsum" "checksum of $dev"
grep -q "waiting for the zip backend" "$E2E_TMP/ublkd.log" || fail "no wait in the daemon log"
grep "indexing:\|indexed" "$E2E_TMP/ublkd.log" | sed 's/^/note: /'
"$UBLKCTL" del 10 || fail "del 10 failed"

# 2. Deleted while its index is built: the add fails, nothing is left.
start_add 11
wait_building 11
"$UBLKCTL" del 11 || fail "del 11 during the index build failed"
expect_add_failed "deleted before the zip backend was ready"
expect_eq "$("$UBLKCTL" --json list | jq -r '[.[].id] | join(",")')" "${memdev#/dev/ublkb}" "devices left"
wait_for '[ ! -e /dev/ublkc11 ] && [ ! -e /dev/ublkb11 ]' 10 || fail "device 11 nodes left"

# The mem device was never disturbed.
expect_eq "$(dd if="$memdev" bs=1M count=8 iflag=direct status=none | sha256sum)" "$memsum" \
	"checksum of $memdev"

# 3. SIGTERM while the index is built: the add fails, the daemon exits 0.
start_add 12
wait_building 12
stop_daemon || fail "ublkd exited with status $? on SIGTERM during an index build"
expect_add_failed ""
wait_for '[ -z "$(ublk_nodes)" ]' 10 || fail "device nodes left after SIGTERM: $(ublk_nodes)"
grep -q "the daemon is shutting down; the zip backend was not ready yet" "$E2E_TMP/ublkd.log" ||
	fail "the daemon log does not say why the add failed"
grep -q 'all devices deleted' "$E2E_TMP/ublkd.log" || fail "the daemon log lacks the shutdown message"
