#!/bin/bash
# Every mem device has a backing file of its own (issue 10): two, then four
# mem devices added without --id, written at once with a different pattern
# each over their whole size, each read back with only its own pattern;
# their backing files differ. A smaller mem device added after a larger one
# does not shrink it: the larger one is written beyond the smaller size and
# the daemon lives on.
# Run on the stable kernel only: what it checks (each mem device's own backing
# file) lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root
start_daemon

size=64M
devs=()
# Adds a mem device of SIZE ($1) and appends its path to devs.
add_mem() {
	local d
	d=$("$UBLKCTL" add mem --size "$1") || fail "add mem --size $1"
	require_blockdev "$d"
	devs+=("$d")
}

# Writes device number $1 of devs whole with its own pattern, in the
# background; the fio pid goes to pids.
write_pattern() {
	local i=$1
	fio --name="w$i" --filename="${devs[i]}" --ioengine=io_uring --direct=1 \
		--rw=write --bs=128k --iodepth=16 --size="$size" \
		--verify=pattern --verify_pattern="0x5a5a00$(printf %02x "$((i + 1))")" \
		--do_verify=0 --output="$E2E_TMP/w$i.out" &
	pids+=($!)
}

# Waits for the fio runs in pids; fails naming the one that failed.
wait_writers() {
	local p
	for p in "${pids[@]}"; do
		wait "$p" || { cat "$E2E_TMP"/w*.out; fail "a pattern write (fio pid $p) failed"; }
	done
	pids=()
}

# Reads device number $1 back: all of it must hold its own pattern only.
verify_pattern() {
	local i=$1
	fio --name="v$i" --filename="${devs[i]}" --ioengine=io_uring --direct=1 \
		--rw=write --bs=128k --iodepth=16 --size="$size" \
		--verify=pattern --verify_pattern="0x5a5a00$(printf %02x "$((i + 1))")" \
		--verify_only --verify_fatal=1 --output="$E2E_TMP/v$i.out" ||
		{ cat "$E2E_TMP/v$i.out"; fail "${devs[i]} does not read back its own pattern"; }
	grep -q 'err= 0' "$E2E_TMP/v$i.out" || { cat "$E2E_TMP/v$i.out"; fail "verify of ${devs[i]} reported errors"; }
}

# Fails unless the devices' backing files are all different, exist, and
# each holds about the device's size of memory.
check_backing_files() {
	local files
	"$UBLKCTL" --json list >"$E2E_TMP/list.json" || fail "list --json"
	files=$(jq -r '.[] | select(.backend=="mem") | .backing_file' "$E2E_TMP/list.json")
	expect_eq "$(sort -u <<<"$files" | wc -l)" "${#devs[@]}" "distinct backing files of ${#devs[@]} mem devices"
	while read -r f; do
		[ -f "$f" ] || fail "backing file $f does not exist"
	done <<<"$files"
	jq -e '[.[] | select(.backend=="mem") | .memory_used >= 64*1048576] | all' \
		"$E2E_TMP/list.json" >/dev/null || { cat "$E2E_TMP/list.json"; fail "a device holds less memory than was written"; }
}

pids=()
note "two mem devices, written at once"
add_mem "$size"
add_mem "$size"
write_pattern 0
write_pattern 1
wait_writers
note "two more, written at once while the first two are read back"
add_mem "$size"
add_mem "$size"
write_pattern 2
write_pattern 3
verify_pattern 0
verify_pattern 1
wait_writers
for i in 0 1 2 3; do verify_pattern "$i"; done
check_backing_files

note "a smaller mem device after a larger one; the larger written beyond it"
small=$("$UBLKCTL" add mem --size 16M) || fail "add mem --size 16M"
require_blockdev "$small"
fio --name=beyond --filename="${devs[0]}" --ioengine=io_uring --direct=1 \
	--rw=randwrite --bs=4k --iodepth=8 --offset=16M --size=48M --io_size=8M \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --output="$E2E_TMP/beyond.out" ||
	{ cat "$E2E_TMP/beyond.out"; fail "writing ${devs[0]} beyond 16 MiB failed"; }
kill -0 "$UBLKD_PID" || fail "ublkd died"
dd if=/dev/urandom of="$small" bs=1M count=16 oflag=direct status=none || fail "writing $small"
for i in 1 2 3; do verify_pattern "$i"; done
"$UBLKCTL" info "${small#/dev/ublkb}" >/dev/null || fail "info of $small"

files=$("$UBLKCTL" --json list | jq -r '.[] | select(.backend=="mem") | .backing_file')
expect_eq "$(sort -u <<<"$files" | wc -l)" 5 "distinct backing files of 5 mem devices"
"$UBLKCTL" del --all || fail "del --all"
while read -r f; do
	[ ! -e "$f" ] || fail "backing file $f is left after del --all"
done <<<"$files"
