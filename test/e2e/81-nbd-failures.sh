#!/bin/bash
# The nbd backend when the server fails: an add the server refuses fails
# with the server's message; a bad URL with a clear error; a server killed
# mid-run fails I/O with EIO within --timeout while the daemon and a mem
# device busy with fio go on; the server started again, the device serves
# again without a delete and the data written before the failure is there.
# Run on the stable kernel only: what it checks (the NBD client's failure
# handling) lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
. "$E2E_SRCDIR/nbd-lib.sh"
require_root
require_backend nbd

truncate -s 128M "$E2E_TMP/export.img"
NBD_EXPORT=disk nbd_serve qemu 10812 qemu-nbd -b 127.0.0.1 -p 10812 -x disk --persistent \
	--shared=8 -f raw "$E2E_TMP/export.img"
start_daemon

# Refusals carry the server's or the parser's words.
out=$("$UBLKCTL" add nbd --url nbd://127.0.0.1:10812/wrong 2>&1) && fail "an add of a missing export succeeded"
note "missing export: $out"
grep -q "export named 'wrong'\|for export: wrong" <<< "$out" || fail "the refusal lacks the server's message: $out"
out=$("$UBLKCTL" add nbd --url http://127.0.0.1/x 2>&1) && fail "an add with an http URL succeeded"
grep -q "url: 'http://127.0.0.1/x' is not an NBD URI" <<< "$out" || fail "bad URL message: $out"
out=$("$UBLKCTL" add nbd --url 'nbd://127.0.0.1:notaport/x' 2>&1) && fail "an add with a bad port succeeded"
note "bad port: $out"
out=$("$UBLKCTL" add nbd --url nbd://127.0.0.1:10899/x 2>&1) && fail "an add with no server succeeded"
grep -qi "refused" <<< "$out" || fail "no server: the message does not say refused: $out"
out=$("$UBLKCTL" add nbd --url nbd://127.0.0.1:10812/disk --timeout 0 2>&1) && fail "--timeout 0 accepted"
grep -q "timeout: '0'" <<< "$out" || fail "bad timeout message: $out"
expect_eq "$("$UBLKCTL" --json list | jget length)" 0 "devices after the refused adds"

dev=$("$UBLKCTL" add nbd --url nbd://127.0.0.1:10812/disk --timeout 5) || fail "add nbd"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
mem=$("$UBLKCTL" add mem --size 64M) || fail "add mem"
require_blockdev "$mem"

# Data written before the failure.
head -c 16M /dev/urandom > "$E2E_TMP/before"
dd if="$E2E_TMP/before" of="$dev" bs=1M oflag=direct status=none || fail "writing the data"
sync

# The mem device stays busy throughout.
start_verify_writers "$mem"

# The server dies under fio: it fails within the timeout (5 s) plus slack.
fio --name=victim --filename="$dev" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
	--iodepth=8 --offset=64M --size=64M --time_based --runtime=120 \
	--output="$E2E_TMP/victim.out" &
victim=$!
sleep 2
nbd_kill qemu
killed=$(date +%s)
wait_for "! kill -0 $victim 2> /dev/null" 40 0.5 || fail "fio on $dev still runs 40 s after the server died"
wait "$victim" && fail "fio on $dev succeeded with the server gone"
took=$(($(date +%s) - killed))
note "fio on $dev failed ${took} s after the server died"
grep -q "Input/output error\|err=" "$E2E_TMP/victim.out" || { cat "$E2E_TMP/victim.out"; fail "fio gave no I/O error"; }
# A new request waits for the server the timeout (5 s), then fails.
start=$(date +%s.%N)
dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none 2> /dev/null &&
	fail "a read succeeded with the server gone"
waited=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
note "a read with the server gone failed after $waited s (--timeout 5)"
awk -v w="$waited" 'BEGIN { exit !(w >= 4.5 && w <= 25) }' ||
	fail "a read with the server gone failed after $waited s, not about 5 s"
grep -q "connection 0 lost" "$E2E_DAEMON_LOG" || fail "the lost connection was not logged"
kill -0 "$UBLKD_PID" || fail "the daemon died with the server"
expect_eq "$(state_of "$id")" live "state of the nbd device while the server is down"
wait_verify_writers "the death of another device's server"

# The server comes back: the device serves again, no delete needed.
NBD_EXPORT=disk nbd_serve qemu 10812 qemu-nbd -b 127.0.0.1 -p 10812 -x disk --persistent \
	--shared=8 -f raw "$E2E_TMP/export.img"
wait_for "dd if=$dev of=/dev/null bs=4k count=1 iflag=direct status=none 2> /dev/null" 30 0.5 ||
	fail "$dev does not serve again 30 s after the server came back"
grep -q "connection 0 is back" "$E2E_DAEMON_LOG" || fail "the reconnection was not logged"
expect_eq "$(dd if="$dev" bs=1M count=16 iflag=direct status=none | sha256sum)" \
	"$(sha256sum < "$E2E_TMP/before")" "data written before the failure"
fio --name=after --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=8 --offset=64M --size=8M --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--output="$E2E_TMP/after.out" || { cat "$E2E_TMP/after.out"; fail "fio verify after the return"; }
grep -q 'err= 0' "$E2E_TMP/after.out" || { cat "$E2E_TMP/after.out"; fail "fio errors after the return"; }
# At least the one return (in a loaded TCG guest a request may also go
# unanswered for the whole timeout, and its connection is made again).
[ "$(info_field "$id" reconnects)" -ge 1 ] || fail "no reconnection counted"
"$UBLKCTL" del "$id" || fail "del $id"
"$UBLKCTL" del "${mem#/dev/ublkb}" || fail "del mem"
