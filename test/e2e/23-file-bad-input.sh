#!/bin/bash
# Bad inputs to `ublkctl add file` are clear errors naming the path and the
# reason, leave no device behind, never shrink or half-create a file, and
# the daemon keeps serving. A file that cannot be opened for writing is
# served only with --read-only.
# Run on the stable kernel only: what it checks (the file backend's input
# checks) lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root

# ext4 on a loop device with 4 KiB sectors: direct I/O there needs 4 KiB.
fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 256M --sector-size 4096
loop=$SCRATCH_LOOP
start_daemon

# Runs `ublkctl add file ARGS...` expecting failure with FRAGMENT ($1) in
# the message, and checks that no device was left.
expect_add_error() {
	local fragment=$1 st=0
	shift
	"$UBLKCTL" add file "$@" > "$E2E_TMP/out" 2> "$E2E_TMP/err" || st=$?
	[ "$st" -ne 0 ] || fail "add file $* succeeded: $(cat "$E2E_TMP/out")"
	expect_eq "$st" 1 "exit status of add file $*"
	grep -qF -- "$fragment" "$E2E_TMP/err" ||
		fail "add file $*: the error lacks '$fragment': $(cat "$E2E_TMP/err")"
	note "add file $*: $(cat "$E2E_TMP/err")"
	expect_eq "$("$UBLKCTL" --json list | jget length)" 0 "devices after a failed add file $*"
	compgen -G "/dev/ublkb*" > /dev/null && fail "a block device was left: $(echo /dev/ublkb*)"
	return 0
}

expect_add_error "path: required"
# The daemon refuses a relative path (its working directory is not the
# caller's); ublkctl resolves one against its own working directory.
reply=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"device_add","params":{"backend":"file","path":"disk.img","size":1048576}}') ||
	fail "no reply to a device_add with a relative path"
expect_eq "$(jget .error.code <<< "$reply")" -32602 "error code for a relative path ($reply)"
jget .error.message <<< "$reply" | grep -qF "is a relative path" ||
	fail "the error for a relative path lacks 'is a relative path': $reply"
[ ! -e disk.img ] || fail "a refused relative path created $PWD/disk.img"
dev=$(cd "$fs" && "$UBLKCTL" add file --path rel.img --size 1M) || fail "add file with a relative path"
expect_eq "$(info_field "${dev#/dev/ublkb}" path)" "$fs/rel.img" \
	"path of a device added with a relative path"
"$UBLKCTL" del "${dev#/dev/ublkb}" || fail "del ${dev}"
expect_add_error "$fs/nope.img does not exist" --path "$fs/nope.img"
expect_add_error "$fs/nope.img does not exist" --path "$fs/nope.img" --size 1M --read-only
[ ! -e "$fs/nope.img" ] || fail "a failed add created $fs/nope.img"
expect_add_error "cannot create $fs/no-dir/x.img" --path "$fs/no-dir/x.img" --size 1M
expect_add_error "$fs is a directory" --path "$fs"
expect_add_error "/dev/null is not a regular file or a block device" --path /dev/null
expect_add_error "$loop is in use" --path "$loop"

head -c 5096 /dev/zero > "$fs/odd.img"
expect_add_error "$fs/odd.img: the size 5096 is not a multiple of the block size 4096" --path "$fs/odd.img"
head -c 100 /dev/zero > "$fs/tiny.img"
expect_add_error "$fs/tiny.img is 100 bytes, smaller than one block" --path "$fs/tiny.img"
: > "$fs/empty.img"
expect_add_error "$fs/empty.img is 0 bytes, smaller than one block" --path "$fs/empty.img"
expect_add_error "not a multiple of the block size 512" --path "$fs/odd.img" --size 1000

# Shrinking is refused, naming both sizes, and the file keeps its size.
truncate -s 2M "$fs/big.img"
expect_add_error "$fs/big.img is 2097152 bytes, larger than the size 1048576" --path "$fs/big.img" --size 1M
expect_eq "$(stat -c %s "$fs/big.img")" 2097152 "size of a file add refused to shrink"
expect_add_error "smaller than the size 4194304, and a read-only device does not extend it" \
	--path "$fs/big.img" --size 4M --read-only
expect_eq "$(stat -c %s "$fs/big.img")" 2097152 "size of a file add refused to extend"

# A file created for --size is removed again when the add fails: 1 MiB +
# 512 is a multiple of 512 (the client's check) but not of 4096, which this
# file system's direct I/O needs.
expect_add_error "not a multiple of the block size 4096" --path "$fs/new.img" --size $(((1 << 20) + 512))
[ ! -e "$fs/new.img" ] || fail "a failed add left $fs/new.img ($(stat -c %s "$fs/new.img") bytes)"

# Not writable (immutable): a clear error, unless --read-only.
truncate -s 4M "$fs/ro.img"
chattr +i "$fs/ro.img" || fail "chattr +i"
on_exit "chattr -i $fs/ro.img"
expect_add_error "cannot open $fs/ro.img for writing" --path "$fs/ro.img"
dev=$("$UBLKCTL" add file --path "$fs/ro.img" --read-only) || fail "add file --read-only"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
expect_eq "$(blockdev --getro "$dev")" 1 "read-only flag of $dev"
expect_eq "$(info_field "$id" read_only)" true "read_only in info"
expect_eq "$(info_field "$id" discard)" false "discard on a read-only device"
dd if="$dev" of=/dev/null bs=1M iflag=direct status=none || fail "reading the read-only device"
if dd if=/dev/zero of="$dev" bs=4k count=1 oflag=direct status=none 2> /dev/null; then
	fail "a write to the read-only device succeeded"
fi
"$UBLKCTL" del "$id" || fail "del"

# Still serving: a good add works.
dev=$("$UBLKCTL" add file --path "$fs/good.img" --size 8M) || fail "add after bad inputs"
require_blockdev "$dev"
expect_eq "$(blockdev --getss "$dev")" 4096 "logical block size on a 4 KiB-sector file system"
"$UBLKCTL" del --all || fail "del --all"

# A file created for --size is removed again when the kernel refuses the
# device after the backend opened it: a second daemon holds id 7, so our
# ADD_DEV with --id 7 fails in the kernel.
"$UBLKD" --socket "$E2E_TMP/other.sock" 2> "$E2E_TMP/other.log" &
other=$!
on_exit "kill $other 2>/dev/null; wait $other 2>/dev/null"
wait_for "\"$UBLKCTL\" --socket $E2E_TMP/other.sock list > /dev/null 2>&1" 30 || fail "second daemon did not start"
"$UBLKCTL" --socket "$E2E_TMP/other.sock" add null --size 1M --id 7 > /dev/null ||
	fail "add null --id 7 on the second daemon"
st=0
"$UBLKCTL" add file --path "$fs/kernel-refused.img" --size 1M --id 7 2> "$E2E_TMP/err" || st=$?
expect_eq "$st" 1 "exit status of an add the kernel refused"
grep -qF "device id 7 is already in use by another ublk server" "$E2E_TMP/err" ||
	fail "the error for an id in use lacks the reason: $(cat "$E2E_TMP/err")"
expect_eq "$("$UBLKCTL" --json list | jget length)" 0 "devices after an add the kernel refused"
[ ! -e "$fs/kernel-refused.img" ] ||
	fail "an add the kernel refused left $fs/kernel-refused.img"
grep -qF "removed $fs/kernel-refused.img" "$E2E_TMP/ublkd.log" ||
	fail "the daemon log does not say it removed $fs/kernel-refused.img"
# ... and one it extended for --size gets its old size back.
truncate -s 512K "$fs/kernel-refused.img"
"$UBLKCTL" add file --path "$fs/kernel-refused.img" --size 1M --id 7 2> /dev/null &&
	fail "add file --id 7 succeeded while the second daemon holds id 7"
expect_eq "$(stat -c %s "$fs/kernel-refused.img")" 524288 \
	"size of a file extended for an add the kernel refused"
"$UBLKCTL" --socket "$E2E_TMP/other.sock" del 7 || fail "del 7 on the second daemon"
kill -TERM "$other"
wait "$other" || fail "the second daemon exited with status $?"
