#!/bin/bash
# nbd devices outlive the daemon: fio writes with crc32c verification to two
# nbd devices (nbdkit memory with two connections, qemu-nbd raw) while ublkd
# is killed with SIGKILL and started again; the new daemon reconnects to
# the servers its records name, the devices are live again, and fio
# finishes with no error and its verification passes on each. Then the
# daemon restarts while qemu-nbd is down: the device is recovered anyway,
# its reads wait for the server and return its own data when it is back.
. "$(dirname "$0")/lib.sh"
. "$E2E_SRCDIR/nbd-lib.sh"
require_root
require_backend nbd

# -t 1: bookworm's nbdkit 1.32 aborts (raw_send_socket: Assertion
# `sock >= 0') when a client dies with replies in flight on several of a
# connection's threads, and the SIGKILL below does exactly that; one thread
# per connection keeps the server, and its data, alive.
nbd_serve kit 10813 nbdkit -f -t 1 -i 127.0.0.1 -p 10813 memory 128M
truncate -s 128M "$E2E_TMP/export.img"
NBD_EXPORT=disk nbd_serve qemu 10814 qemu-nbd -b 127.0.0.1 -p 10814 -x disk --persistent \
	--shared=8 -f raw "$E2E_TMP/export.img"
start_daemon

kit=$(nbd_add --url nbd://127.0.0.1:10813 --connections 2) || fail "add nbd (nbdkit)"
qemu=$(nbd_add --url nbd://127.0.0.1:10814/disk --timeout 20) || fail "add nbd (qemu-nbd)"
ids=("${kit#/dev/ublkb}" "${qemu#/dev/ublkb}")
for id in "${ids[@]}"; do
	expect_eq "$(jget -f "$E2E_STATE_DIR/devices/ublkb$id.json" .params.url | cut -c1-6)" "nbd://" \
		"the URL in device $id's record"
done

start_verify_writers "$kit" "$qemu"
sleep 3
note "SIGKILL to ublkd (pid $UBLKD_PID) under load"
kill_daemon
sleep 2
start_daemon
for id in "${ids[@]}"; do
	wait_live "$id" 120 || fail "device $id is not live after the restart"
done
grep -q "device ${ids[0]} recovered" "$E2E_DAEMON_LOG" || fail "no recovery line for device ${ids[0]}"
wait_verify_writers "the daemon's restart"
expect_eq "$(info_field "${ids[0]}" connections_up)" 2 "connections up after recovery"
expect_eq "$(info_field "${ids[1]}" timeout)" 20 "timeout after recovery"

# The daemon restarts while qemu-nbd is down: both devices are recovered at
# once (the record keeps the export's size); the nbdkit one serves its data
# meanwhile, a read of the other waits, and is answered with that device's
# own data once the server is back on the same file.
write_patterns 64 "$kit" "$qemu"
note "SIGKILL to ublkd (pid $UBLKD_PID) and to qemu-nbd"
kill_daemon
nbd_kill qemu
start_daemon
for id in "${ids[@]}"; do
	wait_live "$id" 60 || fail "device $id is not live after a restart with its server down"
done
grep -q "device ${ids[1]} recovered" "$E2E_DAEMON_LOG" || fail "no recovery line for device ${ids[1]}"
check_patterns 64 "while the other device's server is down" "$kit"
dd if="$qemu" of="$E2E_TMP/waited" bs=1M skip=64 count=1 iflag=direct status=none &
reader=$!
sleep 2
kill -0 "$reader" 2> /dev/null || fail "a read of $qemu ended while its server was down"
NBD_EXPORT=disk nbd_serve qemu 10814 qemu-nbd -b 127.0.0.1 -p 10814 -x disk --persistent \
	--shared=8 -f raw "$E2E_TMP/export.img"
wait "$reader" || fail "the read that waited for the server failed"
cmp -s "$E2E_TMP/pat1" "$E2E_TMP/waited" || fail "the read that waited returned other data"
check_patterns 64 "after the server came back" "$kit" "$qemu"
expect_eq "$(info_field "${ids[1]}" connections_up)" 1 "connections up once the server is back"
for id in "${ids[@]}"; do "$UBLKCTL" del "$id" || fail "del $id"; done
