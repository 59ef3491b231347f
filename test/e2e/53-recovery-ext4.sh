#!/bin/bash
# ext4 across a daemon crash: ext4 on a file device, mounted; a writer
# appends numbered records to a file, fsyncs after each and logs every
# record it has fsynced to a log outside the device. ublkd is killed with
# SIGKILL mid-writing and started again; the writer must go on without an
# I/O error. After umount, fsck.ext4 -fn must be clean and the file must
# hold every record the writer logged as fsynced.
. "$(dirname "$0")/lib.sh"
require_root

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 256M
start_daemon

# Prints the number of the last record the writer logged as fsynced (0: none).
last_fsynced() { tail -n 1 "$E2E_TMP/fsynced" 2>/dev/null || echo 0; }
# Appends "record N" to FILE ($1) for N = 1, 2, ... with an fsync (sync
# FILE) after each, logging N to $E2E_TMP/fsynced once it is fsynced, until
# $E2E_TMP/stop exists; on an error writes it to $E2E_TMP/writer-error.
writer() {
	local file=$1 n=0
	while [ ! -e "$E2E_TMP/stop" ]; do
		n=$((n + 1))
		if ! printf 'record %d\n' "$n" >> "$file" 2> "$E2E_TMP/writer.err" ||
			! sync "$file" 2>> "$E2E_TMP/writer.err"; then
			echo "record $n: $(cat "$E2E_TMP/writer.err")" > "$E2E_TMP/writer-error"
			return 1
		fi
		echo "$n" >> "$E2E_TMP/fsynced"
	done
}

dev=$("$UBLKCTL" add file --path "$fs/disk.img" --size 128M) || fail "add file"
require_blockdev "$dev"
id=${dev#/dev/ublkb}
mnt=$E2E_TMP/mnt
mkdir -p "$mnt"
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 on $dev"
mount "$dev" "$mnt" || fail "mount $dev"
on_exit "umount $mnt 2>/dev/null || true"

writer "$mnt/records" &
writer_pid=$!
on_exit "touch $E2E_TMP/stop"
wait_for '[ "$(last_fsynced)" -ge 20 ]' 60 || fail "the writer did not fsync 20 records"

at_kill=$(last_fsynced)
note "SIGKILL to ublkd (pid $UBLKD_PID) after record $at_kill was fsynced"
kill_daemon
# While no daemon serves the device no fsync may complete (REISSUE: the
# kernel holds the I/O); one may have completed just before the kill and be
# logged just after it.
dead_from=$(last_fsynced)
sleep 2
dead_to=$(last_fsynced)
[ $((dead_to - dead_from)) -le 1 ] ||
	fail "records $dead_from..$dead_to were fsynced while no daemon served the device"
start_daemon
wait_live "$id" 60 || fail "device $id is not live after the restart"
at_restart=$(last_fsynced)
note "record $at_restart fsynced when the daemon was back"
wait_for "[ \"\$(last_fsynced)\" -ge $((at_restart + 20)) ] || [ -e $E2E_TMP/writer-error ]" 60 ||
	fail "the writer did not go on after the restart (last fsynced record $(last_fsynced))"
[ ! -e "$E2E_TMP/writer-error" ] || fail "the writer failed: $(cat "$E2E_TMP/writer-error")"
touch "$E2E_TMP/stop"
wait "$writer_pid" || fail "the writer failed: $(cat "$E2E_TMP/writer-error" 2>/dev/null)"
last=$(last_fsynced)
note "the writer fsynced $last records, $at_kill of them before the kill"

umount "$mnt" || fail "umount $mnt"
fsck.ext4 -fn "$dev" > "$E2E_TMP/fsck.out" 2>&1 ||
	{ cat "$E2E_TMP/fsck.out"; fail "fsck.ext4 -fn on $dev found problems after the restart"; }
mount -o ro "$dev" "$mnt" || fail "mounting $dev again"
seq -f 'record %g' 1 "$last" > "$E2E_TMP/expected"
head -n "$last" "$mnt/records" > "$E2E_TMP/got"
cmp "$E2E_TMP/expected" "$E2E_TMP/got" ||
	fail "the file does not hold every fsynced record 1..$last ($(wc -l < "$mnt/records") lines)"
umount "$mnt" || fail "umount $mnt"
