#!/bin/bash
# fio random 4 KiB reads (8 MiB of them at depth 32 and 4 MiB at depth 1,
# over the whole image; the guest has no KVM) with crc32c verification on
# zip devices whose member is a fio pattern image (verify headers in every
# block, half compressible), stored (zero copy where the kernel has it)
# and deflated; then the whole device against the image, the padded tail,
# and dd reads at 8 random offsets.
. "$(dirname "$0")/lib.sh"
require_root
command -v zip > /dev/null || fail "the zip command is missing (test/install-deps installs it)"
start_daemon

img=$E2E_TMP/pattern.img
fio --name=pattern --filename="$img" --rw=write --bs=4k --size=64M \
	--verify=crc32c --do_verify=0 --buffer_compress_percentage=50 --refill_buffers \
	--output="$E2E_TMP/fio-make.out" || { cat "$E2E_TMP/fio-make.out"; fail "fio could not write the pattern"; }
# Stored members are served from the requests' own pages where the
# kernel has UBLK_F_AUTO_BUF_REG (zero copy, the default); deflated ones
# are inflated into ublkd's buffers.
zc=$(driver_has 11)
# A tail that is not a whole block: the device pads it with zeroes.
head -c 1000 /dev/urandom >> "$img"
size=$(stat -c %s "$img")
(cd "$E2E_TMP" && zip -q -0 stored.zip pattern.img && zip -q -6 deflated.zip pattern.img) ||
	fail "zip failed"
note "pattern $size bytes; deflated.zip $(stat -c %s "$E2E_TMP/deflated.zip") bytes"

# deflated-tuned: the same archive with zip's own parameters (declared by
# the backend, taken by ublkctl from that declaration): a finer index and
# no cache, so every read inflates.
for kind in stored deflated deflated-tuned; do
	zipfile=$E2E_TMP/${kind%-tuned}.zip
	tune=()
	io_kib=8192
	[ "$kind" = deflated-tuned ] && tune=(--chunk-size 64K --cache-limit 0) && io_kib=2048
	dev=$("$UBLKCTL" add zip --path "$zipfile" --entry pattern.img "${tune[@]}") ||
		fail "ublkctl add zip ($kind) failed"
	require_blockdev "$dev"
	id=${dev#/dev/ublkb}
	devsize=$(blockdev --getsize64 "$dev")
	expect_eq "$devsize" $(((size + 511) / 512 * 512)) "size of $dev"
	expect_eq "$(info_field "$id" padded_bytes)" $((devsize - size)) "padded_bytes"
	want_zc=false
	[ "$kind" = stored ] && want_zc=$zc
	expect_eq "$(info_field "$id" zero_copy)" "$want_zc" "zero_copy of the $kind device"
	if [ "$kind" = deflated-tuned ]; then
		expect_eq "$("$UBLKCTL" --json info "$id" | jq -c '[.chunk_size, .cache_limit]')" \
			"[65536,0]" "chunk_size and cache_limit of the tuned device"
	fi

	for depth in 1 32; do
		note "$kind: fio randread 4k verify=crc32c iodepth=$depth"
		fio --name=check --filename="$dev" --readonly --ioengine=io_uring --direct=1 \
			--rw=randread --bs=4k --iodepth="$depth" --size=64M \
			--io_size=$((io_kib / (depth == 1 ? 2 : 1)))k \
			--verify=crc32c --verify_fatal=1 --randseed="$RANDOM" \
			--output="$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio ($kind, depth $depth) failed"; }
		grep -q 'err= 0' "$E2E_TMP/fio.out" || { cat "$E2E_TMP/fio.out"; fail "fio ($kind) reported errors"; }
	done

	dd if="$dev" bs=1M iflag=direct status=none > "$E2E_TMP/whole"
	cmp -n "$size" "$E2E_TMP/whole" "$img" || fail "$kind device differs from the image"
	expect_eq "$(tail -c $((devsize - size)) "$E2E_TMP/whole" | tr -d '\0' | wc -c)" 0 \
		"non-zero bytes in the padded tail of $dev"
	rm -f "$E2E_TMP/whole"
	for _ in $(seq 8); do
		blk=$(((RANDOM * 32768 + RANDOM) % (devsize / 512)))
		cnt=$((1 + RANDOM % 64))
		[ $((blk + cnt)) -le $((devsize / 512)) ] || cnt=$((devsize / 512 - blk))
		# (Files, not <(...): the guest has no /dev/fd.)
		dd if="$dev" bs=512 skip="$blk" count="$cnt" iflag=direct status=none > "$E2E_TMP/got"
		dd if="$img" bs=512 skip="$blk" count="$cnt" status=none > "$E2E_TMP/want"
		expect_eq "$(stat -c %s "$E2E_TMP/got")" $((cnt * 512)) "bytes read at sector $blk"
		cmp -n "$(stat -c %s "$E2E_TMP/want")" "$E2E_TMP/got" "$E2E_TMP/want" ||
			fail "$kind: $cnt sectors at sector $blk differ"
	done
	"$UBLKCTL" del "$id" || fail "ublkctl del $id failed"
done
