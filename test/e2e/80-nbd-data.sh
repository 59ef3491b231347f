#!/bin/bash
# The nbd backend against two real servers at once, nbdkit memory (two
# connections, multi-conn, simple replies) and qemu-nbd serving a qcow2
# image (structured replies), plus a read-only nbdkit and an nbdkit that
# requires TLS (a pre-shared key): each device advertises what its server
# does; fio crc32c verify (4 KiB random at depth 1 and 32, 128 KiB
# sequential) on both at once, each checking only its own data, and on the
# TLS device; a server with a 64 KiB maximum block size gets no larger
# request; DISCARD gives the space back on the server; mkfs.ext4, a tree,
# fsck and checksums on each.
# Run on the stable kernel only: what it checks (the NBD protocol client) lies
# above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
. "$E2E_SRCDIR/nbd-lib.sh"
require_root
require_backend nbd

nbd_serve kit 10809 nbdkit -f -i 127.0.0.1 -p 10809 memory 256M
qemu-img create -q -f qcow2 "$E2E_TMP/disk.qcow2" 256M || fail "qemu-img create"
NBD_EXPORT=disk nbd_serve qemu 10810 qemu-nbd -b 127.0.0.1 -p 10810 -x disk --persistent \
	--shared=8 -f qcow2 --discard=unmap "$E2E_TMP/disk.qcow2"
nbd_serve ro 10811 nbdkit -f -r -i 127.0.0.1 -p 10811 memory 64M
psk=$E2E_TMP/psk
echo "alice:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$psk"
tls_url="nbds://alice@127.0.0.1:10812/?tls-psk-file=$psk"
NBD_PROBE_URL=$tls_url nbd_serve tls 10812 nbdkit -f -i 127.0.0.1 -p 10812 --tls=require \
	--tls-psk="$psk" memory 64M
start_daemon

kit=$(nbd_add --url nbd://127.0.0.1:10809 --connections 2) || fail "add nbd (nbdkit)"
qemu=$(nbd_add --url nbd://127.0.0.1:10810/disk --timeout 10 --structured-replies) ||
	fail "add nbd (qemu-nbd)"
ro=$(nbd_add --url nbd://127.0.0.1:10811/) || fail "add nbd (read-only nbdkit)"
for dev in "$kit" "$qemu" "$ro"; do require_blockdev "$dev"; done

# What each device advertises is what its server does.
sys() { cat "/sys/block/$(basename "$1")/$2"; }
for dev in "$kit" "$qemu"; do
	expect_eq "$(blockdev --getsize64 "$dev")" $((256 << 20)) "size of $dev"
	expect_eq "$(sys "$dev" ro)" 0 "ro of $dev"
	expect_eq "$(sys "$dev" queue/write_cache)" "write back" "write cache of $dev"
	expect_eq "$(sys "$dev" queue/fua)" 1 "fua of $dev"
	[ "$(sys "$dev" queue/discard_max_bytes)" -gt 0 ] || fail "$dev advertises no discard"
	[ "$(sys "$dev" queue/write_zeroes_max_bytes)" -gt 0 ] || fail "$dev advertises no write zeroes"
done
expect_eq "$(blockdev --getsize64 "$ro")" $((64 << 20)) "size of $ro"
expect_eq "$(sys "$ro" ro)" 1 "ro of the device of a read-only server"
expect_eq "$(sys "$ro" queue/discard_max_bytes)" 0 "discard of a read-only device"
kid=${kit#/dev/ublkb}
expect_eq "$(info_field "$kid" connections)" 2 "connections to nbdkit (multi-conn)"
expect_eq "$(info_field "$kid" connections_up)" 2 "connections up"
expect_eq "$(info_field "$kid" structured_replies)" false \
	"structured replies of the nbdkit device (simple by default)"
expect_eq "$(info_field "${qemu#/dev/ublkb}" structured_replies)" true \
	"structured replies of the qemu-nbd device (--structured-replies)"
dd if=/dev/zero of="$ro" bs=4k count=1 oflag=direct status=none 2> /dev/null &&
	fail "a write to the read-only device succeeded"

# fio verify on both devices at once, each with its own seed and data.
fio_all() {
	local phase=$1 dev pids=() pid
	shift
	for dev in "$kit" "$qemu"; do
		fio --name="$phase-$(basename "$dev")" --filename="$dev" --ioengine=io_uring --direct=1 \
			--verify=crc32c --verify_fatal=1 --do_verify=1 --randseed=$RANDOM "$@" \
			--output="$E2E_TMP/fio-$phase-$(basename "$dev").out" &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || { cat "$E2E_TMP"/fio-"$phase"-*.out; fail "fio $phase failed"; }
	done
	for dev in "$kit" "$qemu"; do
		grep -q 'err= 0' "$E2E_TMP/fio-$phase-$(basename "$dev").out" ||
			{ cat "$E2E_TMP/fio-$phase-$(basename "$dev").out"; fail "fio $phase: errors on $dev"; }
	done
	note "fio $phase verified on $kit and $qemu"
}
fio_all rand-qd1 --rw=randwrite --bs=4k --iodepth=1 --size=4M
fio_all rand-qd32 --rw=randwrite --bs=4k --iodepth=32 --size=16M --offset=32M
fio_all seq-128k --rw=write --bs=128k --iodepth=8 --size=32M --offset=64M

# TLS: the server's PSK in the URL serves fio verify; without TLS, or with
# a wrong key, the add is refused with the reason.
tls=$(nbd_add --url "$tls_url") || fail "add nbd (TLS)"
require_blockdev "$tls"
for rw in "randwrite --bs=4k --iodepth=32 --size=8M" "write --bs=128k --iodepth=8 --size=16M --offset=16M"; do
	# shellcheck disable=SC2086 # rw holds several fio options
	fio --name=tls --filename="$tls" --ioengine=io_uring --direct=1 --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --rw=$rw --output="$E2E_TMP/fio-tls.out" ||
		{ cat "$E2E_TMP/fio-tls.out"; fail "fio --rw=$rw on the TLS device"; }
	grep -q 'err= 0' "$E2E_TMP/fio-tls.out" || { cat "$E2E_TMP/fio-tls.out"; fail "fio errors over TLS"; }
done
note "fio verified over TLS on $tls"
echo "alice:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$E2E_TMP/wrong-psk"
for url in nbd://127.0.0.1:10812/ "nbds://alice@127.0.0.1:10812/?tls-psk-file=$E2E_TMP/wrong-psk"; do
	if out=$("$UBLKCTL" add nbd --url "$url" --timeout 5 2>&1); then
		fail "add of a TLS server's export with $url succeeded: $out"
	fi
	[ -n "$out" ] || fail "no message for a refused add with $url"
	note "refused: $url: $out"
done
"$UBLKCTL" del "${tls#/dev/ublkb}" || fail "del the TLS device"

# A server whose maximum block size (64 KiB) is below the daemon's largest
# request, and which fails larger ones with EINVAL: the device asks the
# kernel for no more, so 1 MiB writes are split and verified, alongside
# 4 KiB random ones.
nbd_serve max64k 10813 nbdkit -f -i 127.0.0.1 -p 10813 --filter=blocksize-policy memory 64M \
	blocksize-maximum=65536 blocksize-error-policy=error
small=$(nbd_add --url nbd://127.0.0.1:10813/) || fail "add nbd (64 KiB maximum block size)"
require_blockdev "$small"
expect_eq "$(sys "$small" queue/max_hw_sectors_kb)" 64 "largest request of the 64 KiB server's device"
expect_eq "$(sys "$kit" queue/max_hw_sectors_kb)" 512 "largest request of the nbdkit device"
for rw in "write --bs=1M --iodepth=4 --size=16M" "randwrite --bs=4k --iodepth=32 --size=8M --offset=32M"; do
	# shellcheck disable=SC2086 # rw holds several fio options
	fio --name=max64k --filename="$small" --ioengine=io_uring --direct=1 --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --rw=$rw --output="$E2E_TMP/fio-max64k.out" ||
		{ cat "$E2E_TMP/fio-max64k.out"; fail "fio --rw=$rw on the 64 KiB server's device"; }
	grep -q 'err= 0' "$E2E_TMP/fio-max64k.out" ||
		{ cat "$E2E_TMP/fio-max64k.out"; fail "fio errors on the 64 KiB server's device"; }
done
note "fio verified 1 MiB writes on $small, split for a 64 KiB maximum block size"
"$UBLKCTL" del "${small#/dev/ublkb}" || fail "del the 64 KiB server's device"

# Each device holds only its own data: distinct blocks at one offset.
head -c 1M /dev/urandom > "$E2E_TMP/a"
head -c 1M /dev/urandom > "$E2E_TMP/b"
dd if="$E2E_TMP/a" of="$kit" bs=1M seek=200 oflag=direct status=none
dd if="$E2E_TMP/b" of="$qemu" bs=1M seek=200 oflag=direct status=none
expect_eq "$(dd if="$kit" bs=1M skip=200 count=1 iflag=direct status=none | sha256sum)" \
	"$(sha256sum < "$E2E_TMP/a")" "the nbdkit device's own block"
expect_eq "$(dd if="$qemu" bs=1M skip=200 count=1 iflag=direct status=none | sha256sum)" \
	"$(sha256sum < "$E2E_TMP/b")" "the qemu-nbd device's own block"

# DISCARD gives the space back on each server.
before_kit=$(nbd_allocated nbd://127.0.0.1:10809)
before_qemu=$(nbd_allocated nbd://127.0.0.1:10810/disk)
note "allocated before discard: nbdkit $before_kit, qemu-nbd $before_qemu"
# fio wrote 4 + 16 + 32 MiB of each.
[ "$before_kit" -ge $((48 << 20)) ] || fail "nbdkit allocated only $before_kit bytes after fio"
[ "$before_qemu" -ge $((48 << 20)) ] || fail "qemu-nbd allocated only $before_qemu bytes after fio"
blkdiscard "$kit" || fail "blkdiscard $kit"
blkdiscard "$qemu" || fail "blkdiscard $qemu"
after_kit=$(nbd_allocated nbd://127.0.0.1:10809)
after_qemu=$(nbd_allocated nbd://127.0.0.1:10810/disk)
note "allocated after discard: nbdkit $after_kit, qemu-nbd $after_qemu"
[ "$after_kit" -lt $((1 << 20)) ] || fail "nbdkit still allocates $after_kit bytes after discard"
[ "$after_qemu" -lt $((1 << 20)) ] || fail "qemu-nbd still allocates $after_qemu bytes after discard"
expect_eq "$(dd if="$kit" bs=1M count=8 iflag=direct status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes after discard"

# A file system on each, checked after a cold mount.
ext4_roundtrip "$kit" "$E2E_TMP/mnt-kit" 4
ext4_roundtrip "$qemu" "$E2E_TMP/mnt-qemu" 4
umount "$E2E_TMP/mnt-kit" "$E2E_TMP/mnt-qemu"
for id in "$kid" "${qemu#/dev/ublkb}" "${ro#/dev/ublkb}"; do
	"$UBLKCTL" del "$id" || fail "del $id"
done
