#!/bin/bash
# ublkd --wakeup ring-wait with nbd devices, whose replies come on sockets
# that libev watches, not in the queue's ring: the main loop sleeps in the
# ring of a busy nbd device (the ring polls libev's epoll fd, so a reply
# wakes it) and serves it there; two nbd devices (nbdkit memory, qemu-nbd
# over a raw file) and a mem device written at once each read back only
# their own data; the qemu-nbd server killed while the loop sleeps in the
# other nbd device's ring: reads of its device fail within --timeout (its
# timer runs from the ring's tick) while the busy device is served on; the
# server started again, the device serves again with the data written
# before. SIGTERM with every device busy deletes them all.
. "$(dirname "$0")/lib.sh"
. "$E2E_SRCDIR/nbd-lib.sh"
require_root
"$UBLKCTL" add --help | grep -q '^nbd backend' || skip "ublkd was built without the nbd backend"

nbd_serve kit 10809 nbdkit -f -i 127.0.0.1 -p 10809 memory 256M
truncate -s 128M "$E2E_TMP/export.img"
NBD_EXPORT=disk nbd_serve qemu 10812 qemu-nbd -b 127.0.0.1 -p 10812 -x disk --persistent \
	--shared=8 -f raw "$E2E_TMP/export.img"
start_daemon --wakeup ring-wait
grep -q "the main loop sleeps in the ring of its one busy queue" "$E2E_DAEMON_LOG" ||
	fail "no log line saying the main loop waits in rings"

kit=$(nbd_add --url nbd://127.0.0.1:10809) || fail "add nbd (nbdkit)"
qemu=$(nbd_add --url nbd://127.0.0.1:10812/disk --timeout 5) || fail "add nbd (qemu-nbd)"
mem=$("$UBLKCTL" add mem --size 128M) || fail "add mem"
for d in "$kit" "$qemu" "$mem"; do require_blockdev "$d"; done

# One busy nbd device: the main thread sleeps in its ring, the replies
# wake it there, and the control socket answers meanwhile.
start_reader "$kit" 10
sleep 1
expect_mostly_ring "one busy nbd device"
timeout 5 "$UBLKCTL" list > "$E2E_TMP/list" || fail "ublkctl list while the loop sleeps in a ring"
expect_eq "$(grep -c ublkb "$E2E_TMP/list")" 3 "devices listed while the loop sleeps in a ring"
wait "$RPID" || { cat "$E2E_TMP/reader.out"; fail "the reader of $kit failed"; }
grep -q 'err= 0' "$E2E_TMP/reader.out" || { cat "$E2E_TMP/reader.out"; fail "reader errors"; }

# Three devices written and verified at once, each with its own data.
start_verify_writers "$kit" "$qemu" "$mem"
wait_verify_writers "two nbd devices and a mem device on a loop that waits in rings"
for d in "$kit" "$qemu" "$mem"; do
	dd if="$d" bs=1M count=32 iflag=direct status=none | sha256sum > "$E2E_TMP/sum-${d#/dev/ublkb}"
done
[ "$(sort -u "$E2E_TMP"/sum-* | wc -l)" -eq 3 ] || fail "two devices hold the same data"

# Data on the qemu-nbd device, then its server killed while the loop
# sleeps in the ring of the busy nbdkit device.
head -c 16M /dev/urandom > "$E2E_TMP/before"
dd if="$E2E_TMP/before" of="$qemu" bs=1M oflag=direct status=none || fail "writing $qemu"
start_reader "$kit" 40
sleep 1
expect_mostly_ring "before the qemu-nbd server is killed"
nbd_kill qemu
start=$(date +%s.%N)
dd if="$qemu" of=/dev/null bs=4k count=1 skip=100 iflag=direct status=none 2> /dev/null &&
	fail "a read succeeded with the server gone"
waited=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
note "a read with the server gone failed after $waited s (--timeout 5)"
awk -v w="$waited" 'BEGIN { exit !(w >= 4.5 && w <= 25) }' ||
	fail "a read with the server gone failed after $waited s, not about 5 s"
kill -0 "$RPID" || fail "the reader of $kit stopped while the other server was down"
expect_eq "$(dd if="$mem" bs=1M count=32 iflag=direct status=none | sha256sum)" \
	"$(cat "$E2E_TMP/sum-${mem#/dev/ublkb}")" "data of $mem while a server is down"

# The server back: the device serves again with its data.
NBD_EXPORT=disk nbd_serve qemu 10812 qemu-nbd -b 127.0.0.1 -p 10812 -x disk --persistent \
	--shared=8 -f raw "$E2E_TMP/export.img"
wait_for "dd if=$qemu of=/dev/null bs=4k count=1 iflag=direct status=none 2> /dev/null" 30 0.5 ||
	fail "$qemu does not serve again 30 s after its server came back"
expect_eq "$(dd if="$qemu" bs=1M count=16 iflag=direct status=none | sha256sum)" \
	"$(sha256sum < "$E2E_TMP/before")" "data written before the failure"
wait "$RPID" || { cat "$E2E_TMP/reader.out"; fail "the reader of $kit failed"; }
grep -q 'err= 0' "$E2E_TMP/reader.out" || { cat "$E2E_TMP/reader.out"; fail "reader errors"; }

# SIGTERM while every device is busy: all are deleted.
sigterm_under_load "$kit" "$qemu" "$mem"
grep -q "all devices deleted; exiting" "$E2E_DAEMON_LOG" || fail "no clean exit in the log"
! grep -E 'command refused|waiting in the ring|running deferred task work' "$E2E_DAEMON_LOG" ||
	fail "the daemon logged ring errors"
