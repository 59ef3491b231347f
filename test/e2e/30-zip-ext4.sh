#!/bin/bash
# An ext4 image with a known tree of files, zipped stored (zip -0) and
# deflated (zip -9): each archive becomes a read-only device that mounts and
# gives back every file's checksum; writes are refused; the CRC-32 checks.
# Run on the stable kernel only: on 7.x, 31-zip-fio reads stored members
# through the same zero-copy path with fio verification (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root
command -v zip > /dev/null || fail "the zip command is missing (test/install-deps installs it)"
start_daemon

# A tree of files: random, compressible text, zeroes, and a 20 MiB file.
tree=$E2E_TMP/tree
for d in a b c/d; do
	mkdir -p "$tree/$d"
	for i in 1 2 3 4; do
		head -c $((RANDOM * 13 + i * 4096)) /dev/urandom > "$tree/$d/rand$i"
		seq 1 $((RANDOM * 2 + 1000)) > "$tree/$d/text$i"
	done
	head -c 300000 /dev/zero > "$tree/$d/zeroes"
done
head -c 20M /dev/urandom > "$tree/big"
(cd "$tree" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$E2E_TMP/sums"
expect_eq "$(wc -l < "$E2E_TMP/sums")" 28 "number of files in the tree"

img=$E2E_TMP/disk.img
mkfs.ext4 -q -F -b 4096 -d "$tree" "$img" 64M || fail "mkfs.ext4 -d failed"
(cd "$E2E_TMP" && zip -q -0 stored.zip disk.img && zip -q -9 deflated.zip disk.img) ||
	fail "zip failed"
note "image $(stat -c %s "$img") bytes; stored.zip $(stat -c %s "$E2E_TMP/stored.zip"), deflated.zip $(stat -c %s "$E2E_TMP/deflated.zip")"

mnt=$E2E_TMP/mnt
mkdir -p "$mnt"
on_exit "umount $mnt 2>/dev/null || true"
for kind in stored deflated; do
	t0=$(date +%s%N)
	dev=$("$UBLKCTL" add zip --path "$E2E_TMP/$kind.zip") || fail "ublkctl add zip ($kind) failed"
	note "$kind: added in $((($(date +%s%N) - t0) / 1000000)) ms"
	require_blockdev "$dev"
	id=${dev#/dev/ublkb}
	"$UBLKCTL" --json info "$id" > "$E2E_TMP/info.json"
	expect_eq "$(jget -f "$E2E_TMP/info.json" .method)" "$kind" "method of $dev"
	expect_eq "$(jget -f "$E2E_TMP/info.json" .member)" disk.img "member of $dev"
	expect_eq "$(jget -f "$E2E_TMP/info.json" .read_only)" true "read_only of $dev"
	expect_eq "$(jget -f "$E2E_TMP/info.json" .padded_bytes)" 0 "padded_bytes of $dev"
	expect_eq "$(blockdev --getsize64 "$dev")" "$(stat -c %s "$img")" "size of $dev"
	expect_eq "$(blockdev --getro "$dev")" 1 "blockdev --getro of $dev"
	if [ "$kind" = deflated ]; then
		note "deflated: index of $(jget -f "$E2E_TMP/info.json" .index_points) points built in $(jget -f "$E2E_TMP/info.json" .index_seconds) s"
	fi

	if dd if=/dev/zero of="$dev" bs=4k count=1 oflag=direct status=none 2> "$E2E_TMP/dd.err"; then
		fail "a write to the zip device $dev succeeded"
	fi
	grep -Eq 'Operation not permitted|Read-only file system|Permission denied' "$E2E_TMP/dd.err" ||
		{ cat "$E2E_TMP/dd.err"; fail "unexpected error for a write to $dev"; }

	mount -o ro,noload "$dev" "$mnt" || fail "mount $dev ($kind) failed"
	(cd "$mnt" && sha256sum --quiet -c "$E2E_TMP/sums") || fail "checksums differ on the $kind device"
	umount "$mnt" || fail "umount failed"
	# The whole device is the image, byte for byte, read without the page cache.
	dd if="$dev" bs=1M iflag=direct status=none | cmp - "$img" ||
		fail "$kind device differs from the image"

	wait_for "[ \"\$(info_field $id crc_check)\" != pending ]" 60 ||
		fail "the CRC-32 check of $dev is still pending"
	expect_eq "$(info_field "$id" crc_check)" ok "crc_check of $dev"
	"$UBLKCTL" del "$id" || fail "ublkctl del $id failed"
	[ ! -e "$dev" ] || fail "$dev still exists after del"
done
grep -q "indexed" "$E2E_TMP/ublkd.log" || fail "no index line in the daemon log"
grep "indexed" "$E2E_TMP/ublkd.log" | sed 's/^/note: /'
