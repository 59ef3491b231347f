#!/bin/bash
# The rbd backend against a real one-node Ceph cluster in the guest
# (test/ceph-cluster, started once for this file): two devices on two
# images at once, each verified by fio (crc32c: 4 KiB random at depth 1 and
# 32, 128 KiB sequential) and checked to hold only its own image's data;
# ext4 with a tree and fsck; a discard that gives space back (`rbd du`); a
# snapshot device that is read-only and shows the snapshot's data; the two
# devices of one conf and client sharing one librados client, a device with
# --own-client (and one with --cache) having its own; the OSD
# stopped for 10 s under fio (I/O waits, fio ends without error) and a
# device deleted meanwhile, its image closed off the loop; the
# devices recovered by a new daemon after SIGKILL under fio with no
# acknowledged write lost (librbd's cache is off by default), and flushed
# data kept with it on (--cache), and an image's own rbd_cache followed and
# reported; an unreachable cluster that fails the add in bounded time with
# librados' reason while the other devices keep serving; an image shrunk
# under its device, whose failed writes are logged (bounded) and counted; a
# missing pool, image or snapshot refused with a clear message. The cluster
# alone takes 1 to 5 minutes to start under TCG, depending on the host's
# load:
# e2e-timeout: 1500
# Run on the stable kernel only: what it checks (the rbd backend's librbd use)
# lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root
command -v ceph-mon >/dev/null || skip "ceph-mon is not installed (test/install-deps)"
require_backend rbd

cluster=$E2E_SRCDIR/../ceph-cluster
cdir=$E2E_TMP/ceph
export CEPH_CONF=$cdir/ceph.conf
on_exit "'$cluster' stop '$cdir'"
t0=$SECONDS
"$cluster" start "$cdir" rbd || fail "the Ceph cluster did not start"
note "cluster ready in $((SECONDS - t0)) s; memory in use: $(free -m | awk '/^Mem:/ { print $3 }') MiB;" \
	"mon RSS $(ps -o rss= -C ceph-mon | head -1) KiB, osd RSS $(ps -o rss= -C ceph-osd | head -1) KiB"

for img in img1 img2; do
	rbd create "rbd/$img" --size 128M || fail "rbd create $img"
done
start_daemon

# add_rbd IMAGE [ARGS...]: adds a device for rbd/IMAGE, prints its path.
add_rbd() {
	local img=$1
	shift
	"$UBLKCTL" add rbd --pool rbd --image "$img" --conf "$CEPH_CONF" "$@"
}

# threads_now: the daemon's threads, once the connecting threads are gone.
threads_now() {
	sleep 1
	ls "/proc/$UBLKD_PID/task" | wc -l
}

t1=$SECONDS
th0=$(threads_now)
dev1=$(add_rbd img1) || fail "add rbd img1"
th1=$(threads_now)
dev2=$(add_rbd img2 --id admin --queues 2 --depth 32) || fail "add rbd img2"
th2=$(threads_now)
note "two rbd devices added in $((SECONDS - t1)) s: $dev1 $dev2; daemon threads $th0, $th1, $th2"
require_blockdev "$dev1"
require_blockdev "$dev2"
id1=${dev1#/dev/ublkb}
id2=${dev2#/dev/ublkb}
on_exit "'$UBLKCTL' del $id1 $id2 2>/dev/null || true"
info=$("$UBLKCTL" --json info "$id1")
expect_eq "$(jget .size <<<"$info")" $((128 << 20)) "device size (the image's)"
expect_eq "$(jget .rbd_image <<<"$info")" "rbd/img1" "rbd_image"
expect_eq "$(jget .connection <<<"$info")" "ready" "connection"
expect_eq "$(jget .discard <<<"$info")" "true" "discard advertised"
expect_eq "$(jget .write_zeroes <<<"$info")" "true" "write_zeroes advertised"
expect_eq "$(jget .volatile_cache <<<"$info")" "false" "volatile_cache (librbd's cache is off by default)"
expect_eq "$(jget .rbd_cache <<<"$info")" "false" "rbd_cache by default"
expect_eq "$(blockdev --getsize64 "$dev2")" $((128 << 20)) "size of $dev2"
# The same conf and client (admin, given or not): one librados client.
expect_eq "$(jget .rbd_client_devices <<<"$info")" 2 "rbd_client_devices of $dev1"
expect_eq "$(info_field "${dev2#/dev/ublkb}" rbd_client_devices)" 2 \
	"rbd_client_devices of $dev2"

# verify_both NAME FIO-ARGS...: the same fio verify job on both devices at once.
verify_both() {
	local name=$1 pids=() dev out st=0
	shift
	for dev in "$dev1" "$dev2"; do
		fio --name="$name" --filename="$dev" --ioengine=io_uring --direct=1 --verify=crc32c \
			--verify_fatal=1 --do_verify=1 --randseed=$RANDOM "$@" \
			--output="$E2E_TMP/fio-$name-$(basename "$dev").out" &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || st=1
	done
	for out in "$E2E_TMP"/fio-"$name"-*.out; do
		if [ $st -ne 0 ] || ! grep -q 'err= 0' "$out"; then
			cat "$out"
			fail "fio $name failed ($out)"
		fi
	done
	note "fio $name on both: $(grep -ho 'IOPS=[^,]*' "$E2E_TMP"/fio-"$name"-*.out | tr '\n' ' ')"
}

# Small sizes: under TCG on a shared host the OSD takes tens of ms per write.
verify_both rand4k-qd1 --rw=randwrite --bs=4k --iodepth=1 --size=512K
verify_both rand4k-qd32 --rw=randwrite --bs=4k --iodepth=32 --size=4M
verify_both seq128k --rw=write --bs=128k --iodepth=8 --size=16M

# Each device holds only its own image's data: a different 1 MiB pattern at
# the same offset of each, read back through the device and out of the
# image itself with rbd export.
for n in 1 2; do
	head -c 1M /dev/urandom >"$E2E_TMP/pat$n"
done
dd if="$E2E_TMP/pat1" of="$dev1" bs=1M seek=100 oflag=direct conv=fsync status=none
dd if="$E2E_TMP/pat2" of="$dev2" bs=1M seek=100 oflag=direct conv=fsync status=none
for n in 1 2; do
	dev=$([ $n = 1 ] && echo "$dev1" || echo "$dev2")
	dd if="$dev" of="$E2E_TMP/back$n" bs=1M skip=100 count=1 iflag=direct status=none
	cmp "$E2E_TMP/pat$n" "$E2E_TMP/back$n" || fail "$dev does not read back its own pattern"
	rbd export "rbd/img$n" "$E2E_TMP/export$n" >/dev/null 2>&1 || fail "rbd export img$n"
	dd if="$E2E_TMP/export$n" of="$E2E_TMP/exp$n" bs=1M skip=100 count=1 status=none
	cmp "$E2E_TMP/pat$n" "$E2E_TMP/exp$n" || fail "image img$n does not hold what $dev wrote"
	rm -f "$E2E_TMP/export$n"
done
cmp -s "$E2E_TMP/pat1" "$E2E_TMP/pat2" && fail "the two patterns are equal"

# Discard gives the space back to the cluster.
used_bytes() {
	rbd du --format json "rbd/$1" 2>/dev/null | jq '[.images[] | select(.snapshot == null) | .used_size] | add'
}
before=$(used_bytes img2)
blkdiscard "$dev2" || fail "blkdiscard $dev2"
after=$(used_bytes img2)
note "rbd du img2: $before bytes used before the discard, $after after"
[ "$before" -ge $((16 << 20)) ] || fail "img2 should use at least 16 MiB before the discard, uses $before"
[ "$after" -lt $((before / 4)) ] || fail "the discard did not give space back: $before -> $after bytes"
cmp -n 4096 /dev/zero "$dev2" || fail "$dev2 does not read zeroes after the discard"
# write-zeroes reaches rbd_aio_write_zeroes: the range reads as zeroes.
dd if="$E2E_TMP/pat1" of="$dev2" bs=1M seek=10 oflag=direct status=none
blkdiscard -z -o $((10 << 20)) -l $((1 << 20)) "$dev2" || fail "blkdiscard -z on $dev2"
dd if="$dev2" of="$E2E_TMP/z" bs=1M skip=10 count=1 iflag=direct status=none
cmp -n $((1 << 20)) /dev/zero "$E2E_TMP/z" || fail "WRITE_ZEROES left data on $dev2"

# A snapshot: read-only, with the data of the moment it was taken.
dd if="$E2E_TMP/pat1" of="$dev2" bs=1M seek=20 oflag=direct conv=fsync status=none
blockdev --flushbufs "$dev2"
rbd snap create rbd/img2@s1 || fail "rbd snap create img2@s1"
dd if="$E2E_TMP/pat2" of="$dev2" bs=1M seek=20 oflag=direct conv=fsync status=none
snapdev=$(add_rbd img2 --snap s1 --own-client) || fail "add rbd img2 --snap s1 --own-client"
th3=$(threads_now)
require_blockdev "$snapdev"
sid=${snapdev#/dev/ublkb}
on_exit "'$UBLKCTL' del $sid 2>/dev/null || true"
# --own-client: a client of its own, which costs its threads; a device
# sharing one costs less than half of that.
expect_eq "$(info_field "$sid" rbd_client_devices)" 1 "rbd_client_devices with --own-client"
expect_eq "$(info_field "$id1" rbd_client_devices)" 2 "rbd_client_devices of $dev1 beside it"
note "daemon threads: first device +$((th1 - th0)), second (shared client) +$((th2 - th1)), third (own client) +$((th3 - th2))"
[ $((th3 - th2)) -ge 8 ] || fail "a device with its own client added only $((th3 - th2)) threads"
[ $((2 * (th2 - th1))) -lt $((th3 - th2)) ] ||
	fail "a device sharing a client added $((th2 - th1)) threads, one with its own $((th3 - th2))"
expect_eq "$(info_field "$sid" read_only)" "true" "snapshot device read_only"
expect_eq "$(blockdev --getro "$snapdev")" "1" "blockdev --getro of the snapshot device"
dd if="$snapdev" of="$E2E_TMP/snap" bs=1M skip=20 count=1 iflag=direct status=none
cmp "$E2E_TMP/pat1" "$E2E_TMP/snap" || fail "the snapshot device does not show the snapshot's data"
dd if="$dev2" of="$E2E_TMP/live" bs=1M skip=20 count=1 iflag=direct status=none
cmp "$E2E_TMP/pat2" "$E2E_TMP/live" || fail "the image's device does not show the newer data"
if dd if="$E2E_TMP/pat2" of="$snapdev" bs=4k count=1 oflag=direct status=none 2>/dev/null; then
	fail "a write to the snapshot device succeeded"
fi
"$UBLKCTL" del "$sid" || fail "del the snapshot device"

# ext4 with a tree of files, fsck, and the checksums after a remount.
ext4_roundtrip "$dev1" "$E2E_TMP/mnt" 2
umount "$E2E_TMP/mnt" || fail "umount"

# The OSD goes away for 10 s under fio and comes back: the I/O waits (as
# with the kernel's rbd client) and fio ends without error. fio's rate
# makes its writes last about 25 s, so the outage falls inside them.
# In the same outage (an OSD restart takes about 25 s under TCG), a device
# is deleted: librbd cannot give up its image's lock without the OSD, so
# the close waits for it. That wait is a closing thread's, never the
# loop's: the del answers, a mem device serves and the daemon answers
# meanwhile, and the image is closed once the OSD is back.
rbd create rbd/img5 --size 16M || fail "rbd create img5"
dev5=$(add_rbd img5) || fail "add rbd img5"
id5=${dev5#/dev/ublkb}
on_exit "'$UBLKCTL' del $id5 2>/dev/null || true"
memdev=$("$UBLKCTL" add mem --size 64M) || fail "add mem"
mid=${memdev#/dev/ublkb}
on_exit "'$UBLKCTL' del $mid 2>/dev/null || true"
require_blockdev "$dev5"
require_blockdev "$memdev"
expect_eq "$(info_field "$id5" rbd_client_devices)" 3 "rbd_client_devices of $dev5"
# A write takes the image's exclusive lock, which the close must give up.
dd if="$E2E_TMP/pat2" of="$dev5" bs=1M seek=3 oflag=direct status=none || fail "write $dev5"
fio --name=osd-gone --filename="$dev2" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=16 --size=2M --rate_iops=20 --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--output="$E2E_TMP/fio-osd.out" &
fpid=$!
sleep 3
"$cluster" stop-osd "$cdir"
tstop=$SECONDS
timeout 20 "$UBLKCTL" del "$id5" || fail "del $dev5 with the OSD down did not answer within 20 s"
note "del of $dev5 with the OSD down answered after $((SECONDS - tstop)) s"
dd if="$E2E_TMP/pat1" of="$memdev" bs=1M oflag=direct conv=fsync status=none ||
	fail "$memdev did not serve while an rbd image waited to close"
cmp -n $((1 << 20)) "$E2E_TMP/pat1" "$memdev" || fail "$memdev does not read back its data"
timeout 5 "$UBLKCTL" list >/dev/null || fail "the daemon did not answer while an image waited to close"
expect_eq "$("$UBLKCTL" list | grep -c ublkb)" 3 "devices after the del"
"$UBLKCTL" del "$mid" || fail "del $memdev"
[ $((SECONDS - tstop)) -ge 10 ] || sleep $((10 - (SECONDS - tstop)))
kill -0 "$fpid" 2>/dev/null || fail "fio ended before the OSD came back: the outage was not under I/O"
"$cluster" start-osd "$cdir" || fail "the OSD did not come back"
note "OSD down for $((SECONDS - tstop)) s"
wait "$fpid" || { cat "$E2E_TMP/fio-osd.out"; fail "fio failed across the OSD's absence"; }
grep -q 'err= 0' "$E2E_TMP/fio-osd.out" || { cat "$E2E_TMP/fio-osd.out"; fail "fio reported errors across the OSD's absence"; }
expect_eq "$(state_of "$id2")" live "state of $dev2 after the OSD came back"
wait_for "grep -q 'rbd rbd/img5: closed after' '$E2E_DAEMON_LOG'" 120 1 ||
	fail "rbd/img5 was not closed within 120 s of the OSD's return"
note "$(grep -o 'rbd rbd/img5: closed after.*' "$E2E_DAEMON_LOG")"
expect_eq "$(info_field "$id2" rbd_client_devices)" 2 \
	"rbd_client_devices of $dev2 once $dev5 is gone"

# The devices outlive the daemon: SIGKILL under fio (rate-limited, as the
# OSD takes tens of ms per write under TCG) on both cacheless devices, a
# new daemon recovers them and fio's verification passes: no acknowledged
# write is lost. A third device with librbd's cache (--cache: a volatile
# cache) keeps what it flushed before the kill. The new daemon's writes wait
# for the dead client's exclusive locks, which the cluster breaks once it
# sees that client gone (about 30 s).
rbd create rbd/img3 --size 64M || fail "rbd create img3"
dev3=$(add_rbd img3 --cache) || fail "add rbd img3 --cache"
require_blockdev "$dev3"
id3=${dev3#/dev/ublkb}
on_exit "'$UBLKCTL' del $id3 2>/dev/null || true"
expect_eq "$(info_field "$id3" volatile_cache)" "true" "volatile_cache with --cache"
expect_eq "$(info_field "$id3" rbd_cache)" "true" "rbd_cache with --cache"
expect_eq "$(info_field "$id3" rbd_client_devices)" 1 \
	"rbd_client_devices with --cache (a client of its own: librbd's cache is the client's setting)"
dd if="$E2E_TMP/pat1" of="$dev3" bs=1M seek=5 oflag=direct conv=fsync status=none || fail "write $dev3"
FIO_PIDS=()
for dev in "$dev1" "$dev2"; do
	fio --name="kill-$(basename "$dev")" --filename="$dev" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs=4k --iodepth=8 --size=2M --rate_iops=40 --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --randseed=$RANDOM \
		--output="$E2E_TMP/fio-kill-$(basename "$dev").out" &
	FIO_PIDS+=($!)
done
sleep 3
note "SIGKILL to ublkd (pid $UBLKD_PID) under fio on both cacheless rbd devices"
kill_daemon
sleep 2
t3=$SECONDS
start_daemon
for id in "$id1" "$id2" "$id3"; do
	wait_live "$id" 180 1 || fail "rbd device $id is not live after the restart"
	grep -q "device $id recovered" "$E2E_DAEMON_LOG" || fail "no recovery line for device $id"
done
for pid in "${FIO_PIDS[@]}"; do
	wait "$pid" || { cat "$E2E_TMP"/fio-kill-*.out; fail "fio (pid $pid) failed across the daemon's restart"; }
done
for out in "$E2E_TMP"/fio-kill-*.out; do
	grep -q 'err= 0' "$out" || { cat "$out"; fail "fio reported errors across the daemon's restart ($out)"; }
done
note "both rbd devices recovered and verified $((SECONDS - t3)) s after the restart"
dd if="$dev3" of="$E2E_TMP/back3" bs=1M skip=5 count=1 iflag=direct status=none || fail "read $dev3"
cmp "$E2E_TMP/pat1" "$E2E_TMP/back3" || fail "$dev3 lost data it had flushed before the kill"
expect_eq "$(info_field "$id1" connection)" "ready" "connection of $dev1 after recovery"
expect_eq "$(info_field "$id2" rbd_image)" "rbd/img2" "image of $dev2 after recovery"
expect_eq "$(info_field "$id3" rbd_cache)" "true" "rbd_cache of $dev3 after recovery"
expect_eq "$(info_field "$id1" rbd_client_devices)" 2 "rbd_client_devices of $dev1 after recovery"
"$UBLKCTL" del "$id3" || fail "del $dev3"

# rbd_cache set for the image itself (rbd config image set) wins over
# ublkd's default inside librbd: the device then says it has a volatile
# cache, and the log says why.
rbd create rbd/img4 --size 16M || fail "rbd create img4"
rbd config image set rbd/img4 rbd_cache true || fail "rbd config image set img4 rbd_cache true"
dev4=$(add_rbd img4) || fail "add rbd img4"
id4=${dev4#/dev/ublkb}
on_exit "'$UBLKCTL' del $id4 2>/dev/null || true"
expect_eq "$(info_field "$id4" volatile_cache)" "true" "volatile_cache of an image with rbd_cache true"
expect_eq "$(info_field "$id4" rbd_cache)" "true" "rbd_cache of an image with rbd_cache true"
grep -q "rbd rbd/img4: librbd's write-back cache is on for this image (rbd_cache set in the image's configuration" \
	"$E2E_DAEMON_LOG" || fail "no log line saying the image's rbd_cache won"
"$UBLKCTL" del "$id4" || fail "del $dev4"

# An unreachable cluster fails the add in bounded time with librados'
# reason, while the other device keeps serving and the daemon answers.
sed 's/^mon_host = .*/mon_host = v2:127.0.0.1:3399,v1:127.0.0.1:6799/' "$CEPH_CONF" >"$E2E_TMP/bad.conf"
t2=$SECONDS
add_rbd img1 --conf "$E2E_TMP/bad.conf" >"$E2E_TMP/bad.out" 2>&1 &
apid=$!
sleep 2
dd if="$dev1" of=/dev/null bs=64k count=64 iflag=direct status=none ||
	fail "$dev1 did not serve while another add waited for an unreachable cluster"
timeout 5 "$UBLKCTL" list >/dev/null || fail "the daemon did not answer while an add waited"
st=0
wait "$apid" || st=$?
took=$((SECONDS - t2))
note "unreachable cluster: add failed after $took s: $(cat "$E2E_TMP/bad.out")"
[ $st -ne 0 ] || fail "an add against an unreachable cluster succeeded"
[ $took -le 45 ] || fail "the add against an unreachable cluster took $took s (bound: 45)"
grep -q "rados_connect: Connection timed out" "$E2E_TMP/bad.out" ||
	fail "the message does not give librados' reason: $(cat "$E2E_TMP/bad.out")"
expect_eq "$("$UBLKCTL" list | grep -c ublkb)" 2 "devices after the failed add"

# Missing pool, image, snapshot and configuration: clear errors.
# expect_add_error WHAT TEXT ARGS...: add fails and says TEXT.
expect_add_error() {
	local what=$1 text=$2 out
	shift 2
	if out=$("$UBLKCTL" add rbd "$@" 2>&1); then
		fail "add with $what succeeded: $out"
	fi
	grep -qF -- "$text" <<<"$out" || fail "add with $what: expected '$text' in: $out"
	note "$what: $out"
}
expect_add_error "a missing pool" "no pool named 'nopool' in the cluster" \
	--pool nopool --image img1 --conf "$CEPH_CONF"
expect_add_error "a missing image" "no image named 'noimg' in pool 'rbd'" \
	--pool rbd --image noimg --conf "$CEPH_CONF"
expect_add_error "a missing snapshot" "image rbd/img2 has no snapshot named 'nosnap'" \
	--pool rbd --image img2 --snap nosnap --conf "$CEPH_CONF"
expect_add_error "a missing configuration" "cannot read the Ceph configuration /nonexistent.conf" \
	--pool rbd --image img1 --conf /nonexistent.conf
expect_add_error "no pool" "pool" --image img1 --conf "$CEPH_CONF"
expect_eq "$(kernel_devices)" 2 "kernel devices after the refused adds"

# The image shrinks under its device (rbd resize --allow-shrink): the
# daemon sees it through librbd's update watch (the log says so, info's
# image_size follows) and fails I/O past the new end, a write across it
# too (librbd would write up to the end and answer success); each failure
# reaches the log with the reason (at most 5 lines per 10 s per device, the
# rest counted in the next line) and the device's rbd_failed; the other
# device serves meanwhile, and growing the image back heals the device.
rbd resize --size 64M --allow-shrink rbd/img2 >/dev/null 2>&1 || fail "rbd resize img2 to 64M"
past_end() { ! dd if="$E2E_TMP/pat1" of="$dev2" bs=4k count=1 seek=$((100 << 8)) oflag=direct status=none 2>/dev/null; }
wait_for past_end 30 1 || fail "a write past img2's new end (64 MiB) still succeeded after 30 s"
wait_for "[ \"\$(info_field $id2 image_size)\" = $((64 << 20)) ]" 30 1 ||
	fail "info's image_size of $dev2 is not the shrunk image's 64 MiB"
grep -q "rbd rbd/img2: the image shrank to $((64 << 20)) bytes (resized by another client)" \
	"$E2E_DAEMON_LOG" || fail "the daemon did not log the shrink of img2"
ts=$SECONDS
for _ in $(seq 1 20); do past_end || fail "a write past img2's end succeeded"; done
nlines=$(grep -c "rbd rbd/img2: write of 4096 bytes at 104857600 failed: past the end of the image, which another client shrank" "$E2E_DAEMON_LOG")
allowed=$((5 * (2 + (SECONDS - ts) / 10)))
note "21 or more failed writes past the end in $((SECONDS - ts)) s: $nlines log lines (bound $allowed)"
[ "$nlines" -ge 1 ] && [ "$nlines" -le "$allowed" ] && [ "$nlines" -lt 21 ] ||
	fail "failed writes logged $nlines times (expected 1 to $allowed, fewer than 21)"
nfailed=$(info_field "$id2" rbd_failed)
[ "$nfailed" -ge 21 ] || fail "rbd_failed is $nfailed after 21 or more failed writes"
dd if="$dev1" of=/dev/null bs=64k count=64 iflag=direct status=none ||
	fail "$dev1 did not serve while $dev2's image was short"
sleep 10
past_end || fail "a write past img2's end succeeded"
grep -q "rbd rbd/img2: write of 4096 bytes at 104857600 failed: past the end of the image, which another client shrank (and [1-9][0-9]* more since the last such line)" \
	"$E2E_DAEMON_LOG" || fail "no log line counted the failures that were not logged"
# A read across the new end is cut short by librbd: it fails, and never
# passes off the rest of the buffer as the image's data.
if dd if="$dev2" of=/dev/null bs=64k count=1 skip=$(((64 << 20) - 32768)) \
	iflag=direct,skip_bytes status=none 2>/dev/null; then
	fail "a read across img2's new end (64 MiB) succeeded"
fi
# A write across it fails whole: librbd would write the part before the
# end and answer success for all of it.
if dd if="$E2E_TMP/pat1" of="$dev2" bs=64k count=1 seek=$(((64 << 20) - 32768)) \
	oflag=direct,seek_bytes status=none 2>/dev/null; then
	fail "a write across img2's new end (64 MiB) succeeded"
fi
# Before the end the device serves as ever.
dd if="$E2E_TMP/pat1" of="$dev2" bs=64k count=1 seek=$(((64 << 20) - 65536)) \
	oflag=direct,seek_bytes status=none || fail "a write just before img2's new end failed"
expect_eq "$(dd if="$dev2" bs=64k count=1 skip=$(((64 << 20) - 65536)) iflag=direct,skip_bytes \
	status=none | sha256sum)" "$(head -c 65536 "$E2E_TMP/pat1" | sha256sum)" \
	"the block just before img2's new end"
rbd resize --size 128M rbd/img2 >/dev/null 2>&1 || fail "rbd resize img2 back to 128M"
wait_for "! past_end" 30 1 || fail "$dev2 did not take writes past 64 MiB after the image grew back"
grep -q "rbd rbd/img2: the image has $((128 << 20)) bytes again" "$E2E_DAEMON_LOG" ||
	fail "the daemon did not log that img2 grew back"

"$UBLKCTL" del "$id1" "$id2" || fail "del the rbd devices"
expect_eq "$(kernel_devices)" 0 "kernel devices at the end"
