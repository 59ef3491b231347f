#!/bin/bash
# Six SIGKILL / restart cycles in a row under load: 4 devices of 3 backends
# (2 mem, 1 file, 1 zip) while fio writers with crc32c verification run on
# the writable ones (one fio after another per device, for as long as the
# cycles last) and a reader copies the zip device and compares it. After
# each restart all 4 are live; at the end every fio passed, no kernel device
# is left after SIGTERM, and the last daemon holds as many fds and mem
# mappings after cycle 6 as it did after cycle 1.
. "$(dirname "$0")/lib.sh"
require_root
command -v zip > /dev/null || fail "the zip command is missing (test/install-deps installs it)"

CYCLES=6
# Prints the ids of the live devices, sorted, as a JSON array.
live_ids() { "$UBLKCTL" --json list 2>/dev/null | jq -c '[.[] | select(.state == "live") | .id] | sort'; }
# Prints the daemon's open fds and its mappings of mem backing files.
daemon_resources() {
	echo "fds $(ls "/proc/$UBLKD_PID/fd" | wc -l)"
	echo "mem mappings $(grep -c 'mem-.*\.img' "/proc/$UBLKD_PID/maps" || true)"
}
# Runs fio (write, then verify crc32c) on device $1 again and again until
# $E2E_TMP/stop exists; records a failure in $E2E_TMP/failed-NAME.
fio_loop() {
	local dev=$1 name n=0
	name=$(basename "$dev")
	while [ ! -e "$E2E_TMP/stop" ]; do
		n=$((n + 1))
		if ! fio --name="$name" --filename="$dev" --ioengine=io_uring --direct=1 \
			--rw=randwrite --bs=4k --iodepth=16 --size=8M --verify=crc32c \
			--verify_fatal=1 --do_verify=1 --randseed=$RANDOM \
			--output="$E2E_TMP/fio-$name.$n.out"; then
			echo "run $n" > "$E2E_TMP/failed-$name"
			return 1
		fi
		grep -q 'err= 0' "$E2E_TMP/fio-$name.$n.out" ||
			{ echo "run $n: err" > "$E2E_TMP/failed-$name"; return 1; }
		echo "$n" > "$E2E_TMP/runs-$name"
	done
}
# Reads the zip device $1 again and again until $E2E_TMP/stop exists and
# compares each copy with the image.
zip_loop() {
	local dev=$1 n=0
	while [ ! -e "$E2E_TMP/stop" ]; do
		n=$((n + 1))
		if ! dd if="$dev" of="$E2E_TMP/zip-read" bs=64k iflag=direct status=none ||
			! cmp -s "$E2E_TMP/zip-read" "$fs/image.raw"; then
			echo "run $n" > "$E2E_TMP/failed-zip"
			return 1
		fi
		echo "$n" > "$E2E_TMP/runs-zip"
	done
}

before=$(kernel_devices)
fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 256M
head -c 8M /dev/urandom > "$fs/image.raw"
(cd "$fs" && zip -q -9 image.zip image.raw) || fail "zip failed"
start_daemon

devs=()
for args in "mem --size 32M" "mem --size 32M --queues 2" \
	"file --path $fs/disk.img --size 32M" "zip --path $fs/image.zip"; do
	dev=$("$UBLKCTL" add $args) || fail "add $args"
	require_blockdev "$dev"
	devs+=("$dev")
done
ids=$(for dev in "${devs[@]}"; do echo "${dev#/dev/ublkb}"; done | sort -n | jq -cs .)
expect_eq "$(live_ids)" "$ids" "live devices before the cycles"

pids=()
for dev in "${devs[@]:0:3}"; do
	fio_loop "$dev" &
	pids+=($!)
done
zip_loop "${devs[3]}" &
pids+=($!)
# (No wait at exit: the daemon's teardown deletes the devices, which ends them.)
on_exit "touch $E2E_TMP/stop"

sleep 2
for ((c = 1; c <= CYCLES; c++)); do
	kill_daemon
	sleep 1
	start_daemon
	wait_for "[ \"\$(live_ids)\" = '$ids' ]" 60 ||
		fail "cycle $c: not every device is live after the restart ($(live_ids), expected $ids)"
	if [ "$c" -eq 1 ]; then
		daemon_resources > "$E2E_TMP/resources.1"
	fi
	for f in "$E2E_TMP"/failed-*; do
		[ -e "$f" ] || continue
		cat "$E2E_TMP"/fio-*.out 2>/dev/null | tail -n 40
		fail "cycle $c: a writer or reader failed: $(basename "$f") $(cat "$f")"
	done
	sleep 2
done
daemon_resources > "$E2E_TMP/resources.$CYCLES"
note "after cycle 1: $(tr '\n' ' ' < "$E2E_TMP/resources.1")"
note "after cycle $CYCLES: $(tr '\n' ' ' < "$E2E_TMP/resources.$CYCLES")"
if ! cmp -s "$E2E_TMP/resources.1" "$E2E_TMP/resources.$CYCLES"; then
	ls -l "/proc/$UBLKD_PID/fd"
	fail "the daemon after cycle $CYCLES holds other fds or mappings than after cycle 1"
fi

touch "$E2E_TMP/stop"
for pid in "${pids[@]}"; do
	wait "$pid" || true
done
for f in "$E2E_TMP"/failed-*; do
	[ -e "$f" ] || continue
	cat "$E2E_TMP"/fio-*.out 2>/dev/null | tail -n 40
	fail "a writer or reader failed: $(basename "$f") $(cat "$f")"
done
for dev in "${devs[@]}"; do
	name=$(basename "$dev")
	[ "$name" != "$(basename "${devs[3]}")" ] || name=zip
	[ -s "$E2E_TMP/runs-$name" ] || fail "no complete run on $dev"
	note "$dev: $(cat "$E2E_TMP/runs-$name") complete run(s) across the cycles"
done

stop_daemon || fail "ublkd exited with status $? after SIGTERM"
expect_eq "$(kernel_devices)" "$before" "kernel ublk devices after SIGTERM (as before the test)"
