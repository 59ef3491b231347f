#!/bin/bash
# Archives the zip backend cannot serve give a clear error and leave no
# device: truncated, corrupt deflate data, damaged directory, not a ZIP, a
# missing entry, several files without --entry, bzip2, encrypted. A stored
# member whose data no longer matches its CRC-32 is served but reported.
# Run on the stable kernel only: what it checks (the zip backend's archive
# checks) lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root
command -v zip > /dev/null || fail "the zip command is missing (test/install-deps installs it)"
start_daemon

cd "$E2E_TMP" || fail "cannot enter $E2E_TMP"
seq 1 300000 > disk.img
head -c 100000 /dev/urandom > other.img
zip -q -9 good.zip disk.img

# Expects `ublkctl add zip ARGS...` to fail with each FRAGMENT in its
# message, and no device left behind.
expect_add_error() {
	local args=$1 frag
	shift
	# shellcheck disable=SC2086
	if "$UBLKCTL" add zip $args > add.out 2> add.err; then
		fail "add zip $args succeeded: $(cat add.out)"
	fi
	for frag in "$@"; do
		grep -qF -- "$frag" add.err || fail "add zip $args: message lacks '$frag': $(cat add.err)"
	done
	note "add zip $args: $(cat add.err)"
	expect_eq "$("$UBLKCTL" --json list | jget length)" 0 "devices left after add zip $args"
	expect_eq "$(find /dev -maxdepth 1 -name 'ublkb*' | wc -l)" 0 "ublkb nodes after add zip $args"
}

head -c $(($(stat -c %s good.zip) / 2)) good.zip > truncated.zip
expect_add_error "--path $E2E_TMP/truncated.zip" truncated.zip "truncated"

# (No process substitution: the guest has no /dev/fd.)
# The first block of the deflate stream: make its type 3, which does not exist.
cp good.zip badstream.zip
read -r nlen elen <<< "$(od -An -tu2 -j26 -N4 badstream.zip)"
off=$((30 + nlen + elen))
byte=$(od -An -tu1 -j"$off" -N1 badstream.zip | tr -d ' ')
printf '%b' "\\$(printf '%03o' $((byte | 6)))" | dd of=badstream.zip bs=1 seek="$off" conv=notrunc status=none
expect_add_error "--path $E2E_TMP/badstream.zip" "corrupt deflate data" "'disk.img'"

# A central directory entry whose signature is gone.
cp good.zip baddir.zip
cdoff=$(grep -obUaP 'PK\x01\x02' baddir.zip | head -1 | cut -d: -f1)
[ -n "$cdoff" ] || fail "no central directory entry found in good.zip"
printf 'XX' | dd of=baddir.zip bs=1 seek="$cdoff" conv=notrunc status=none
expect_add_error "--path $E2E_TMP/baddir.zip" baddir.zip

expect_add_error "--path $E2E_TMP/disk.img" "is not a zip archive"
expect_add_error "--path $E2E_TMP/nothere.zip" "cannot open" "No such file"
expect_add_error "--path $E2E_TMP/good.zip --entry nope.img" "no member named 'nope.img'" "'disk.img'"
zip -q two.zip disk.img other.img
expect_add_error "--path $E2E_TMP/two.zip" "holds 2 files" "--entry"
zip -q -Z bzip2 bzip2.zip disk.img
expect_add_error "--path $E2E_TMP/bzip2.zip" "bzip2" "'disk.img'"
zip -q -P secret enc.zip disk.img
expect_add_error "--path $E2E_TMP/enc.zip" "encrypted" "'disk.img'"

# The daemon still serves: the other member of two.zip works.
dev=$("$UBLKCTL" add zip --path "$E2E_TMP/two.zip" --entry other.img) || fail "add other.img failed"
require_blockdev "$dev"
cmp -n 100000 "$dev" other.img || fail "other.img differs"
"$UBLKCTL" del --all || fail "del --all failed"

# A stored member with one byte changed: served, and reported as a mismatch.
zip -q -0 stored.zip disk.img
read -r nlen elen <<< "$(od -An -tu2 -j26 -N4 stored.zip)"
printf 'Z' | dd of=stored.zip bs=1 seek=$((30 + nlen + elen + 123456)) conv=notrunc status=none
dev=$("$UBLKCTL" add zip --path "$E2E_TMP/stored.zip") || fail "add of the damaged stored.zip failed"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
wait_for "[ \"\$(info_field $id crc_check)\" != pending ]" 60 ||
	fail "the CRC-32 check of $dev is still pending"
expect_eq "$(info_field "$id" crc_check)" mismatch "crc_check of the damaged member"
grep -q "CRC-32 mismatch" "$E2E_TMP/ublkd.log" || fail "no CRC-32 mismatch in the daemon log"
"$UBLKCTL" del --all || fail "del --all failed"
