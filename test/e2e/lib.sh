# shellcheck shell=bash
# lib.sh: sourced by every end-to-end test (test/e2e/NN-*.sh), which runs as
# root inside the test guest (test/vm/run) under test/e2e/run-suite.
#
#   . "$(dirname "$0")/lib.sh"
#
# Sets `set -euo pipefail`. Exports UBLKD and UBLKCTL (the binaries in
# $UBLKD_BUILDDIR, which must be the absolute path of the configured build
# directory), E2E_NAME (the test's name), E2E_SRCDIR (test/e2e) and E2E_TMP
# (a private temporary directory, removed when the test exits).
#
# Helpers: fail, skip, note, expect_eq, require_root, require_blockdev,
# wait_for, on_exit (teardown hooks, run in reverse order at exit),
# start_daemon, stop_daemon, kill_daemon, state_of, info_field,
# expect_on_io_threads, kernel_devices, nap (a pause without a process) and
# jget (`jq -r PATH` without jq's start-up cost, for plain paths).
# Exit status 77 means "skipped".
#
# A script other than a test may source it too (bench/guest does); it may set
# E2E_DAEMON_LOG (where start_daemon writes the daemon's stderr, default
# $E2E_TMP/ublkd.log) and E2E_STOP_TIMEOUT (how many seconds stop_daemon
# waits after SIGTERM, default 30) before it starts the daemon.

set -euo pipefail

E2E_NAME=$(basename "$0" .sh)
E2E_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export E2E_NAME E2E_SRCDIR

E2E_FAILED=0
# Print "FAIL: MSG" on stderr and exit 1 (inside a teardown hook: return 1,
# so that the remaining hooks still run and the test still fails). With
# --later first, return 0 and go on instead: the script exits 1 at its end
# (bench/guest: one failed pair must not stop the others); E2E_FAILED is 1
# from then on.
fail() {
	local later=
	if [ "${1:-}" = --later ]; then
		later=1
		shift
	fi
	printf 'FAIL: %s\n' "$*" >&2
	if [ -n "${_e2e_exiting:-}" ]; then
		return 1
	fi
	if [ -n "$later" ]; then
		E2E_FAILED=1
		return 0
	fi
	exit 1
}

# Print "SKIP: MSG" on stderr and exit 77 (run-suite counts it as skipped,
# or as failed when CI is set or UBLKD_E2E_STRICT=1).
skip() {
	printf 'SKIP: %s\n' "$*" >&2
	exit 77
}

# Print an informational message.
note() {
	printf 'note: %s\n' "$*"
}

# Fail unless ACTUAL ($1) equals EXPECTED ($2); WHAT ($3) names the value.
expect_eq() {
	[ $# -eq 3 ] || fail "expect_eq needs ACTUAL EXPECTED WHAT, got $# arguments"
	if [ "$1" != "$2" ]; then
		fail "$3: expected '$2', got '$1'"
	fi
}

# Fail unless `ublkd ARGS...` (the rest of the arguments) refuses them: exit
# status 2 within 10 s (a daemon that took them would serve on) and a
# message on stderr that contains MESSAGE ($1).
expect_refused() {
	local what=$1 out st=0
	shift
	out=$(timeout 10 "$UBLKD" --socket "$E2E_TMP/refused.sock" \
		--state-dir "$E2E_TMP/refused" "$@" 2>&1 > /dev/null) || st=$?
	expect_eq "$st" 2 "exit status of ublkd $*"
	grep -q -- "$what" <<< "$out" || fail "no clear refusal of ublkd $*: '$out', not '$what'"
}

# Skip the test unless it runs as root.
require_root() {
	[ "$(id -u)" -eq 0 ] || skip "$E2E_NAME needs root"
}

# Succeeds if this build of ublkd has backend $1 (ublkctl add --help lists
# it). The help is captured before grep reads it: piped into grep -q under
# pipefail, ublkctl's second write could find grep gone, die of SIGPIPE,
# and fail the check (it did, once, in the 7.3 guest).
has_backend() {
	local help
	help=$("$UBLKCTL" add --help) || fail "ublkctl add --help failed"
	grep -q "^$1 backend" <<< "$help"
}

# Skip the test unless this build of ublkd has backend $1.
require_backend() {
	has_backend "$1" || skip "ublkd was built without the $1 backend"
}

# Fail unless PATH ($1) is a block device (a missing device node would
# otherwise let dd, fio or mkfs write a regular file of that name).
require_blockdev() {
	[ -b "$1" ] || fail "$1 is not a block device"
}

# Poll every INTERVAL ($3, default 0.1) seconds until the shell command CMD
# ($1) succeeds; give up after TIMEOUT ($2) seconds (fractions allowed):
# print a note and return 1.
# Example: wait_for '[ -b /dev/ublkb0 ]' 10 || fail "no /dev/ublkb0"
wait_for() {
	[ $# -eq 2 ] || [ $# -eq 3 ] || fail "wait_for needs CMD TIMEOUT [INTERVAL], got $# arguments"
	# Count sleeps: the guest's wall clock jumps under TCG.
	local tries interval=${3:-0.1}
	tries=$(awk -v t="$2" -v i="$interval" 'BEGIN { printf "%d", t / i + 1e-9 }')
	while ! eval "$1"; do
		if [ "$tries" -le 0 ]; then
			note "timed out after $2 s waiting for: $1"
			return 1
		fi
		tries=$((tries - 1))
		sleep "$interval"
	done
}

_e2e_hooks=()
# Register a teardown command (a shell string, run with eval) for when the
# test exits; hooks run in reverse order of registration, all of them even
# if some fail. $E2E_STATUS holds the test's exit status meanwhile.
on_exit() {
	[ $# -ge 1 ] || fail "on_exit needs a command"
	_e2e_hooks+=("$*")
}

# EXIT trap: run the hooks, remove $E2E_TMP, exit with the test's status
# (1 if it passed but called fail --later, or a hook failed).
_e2e_exit() {
	E2E_STATUS=$?
	if [ "$E2E_FAILED" = 1 ] && [ "$E2E_STATUS" -eq 0 ]; then
		E2E_STATUS=1
	fi
	_e2e_exiting=1
	trap - EXIT
	set +e
	local i
	for ((i = ${#_e2e_hooks[@]} - 1; i >= 0; i--)); do
		if ! eval "${_e2e_hooks[i]}"; then
			printf 'FAIL: teardown step failed: %s\n' "${_e2e_hooks[i]}" >&2
			if [ "$E2E_STATUS" -eq 0 ] || [ "$E2E_STATUS" -eq 77 ]; then
				E2E_STATUS=1
			fi
		fi
	done
	rm -rf "$E2E_TMP"
	exit "$E2E_STATUS"
}

if [ -z "${UBLKD_BUILDDIR:-}" ]; then
	fail "UBLKD_BUILDDIR is not set (it must be the absolute path of the configured build directory)"
fi
case "$UBLKD_BUILDDIR" in
/*) ;;
*) fail "UBLKD_BUILDDIR must be an absolute path, got '$UBLKD_BUILDDIR'" ;;
esac
[ -f "$UBLKD_BUILDDIR/config.status" ] ||
	fail "UBLKD_BUILDDIR=$UBLKD_BUILDDIR is not a configured build directory (no config.status)"
export UBLKD_BUILDDIR
export UBLKD=$UBLKD_BUILDDIR/daemon/ublkd
export UBLKCTL=$UBLKD_BUILDDIR/client/ublkctl
export JGET=$UBLKD_BUILDDIR/test/e2e/jget
# Print fields of the JSON document on stdin (or in -f FILE) as `jq -r
# PATH` does, for plain paths and `length` (test/e2e/jget.c). jq 1.6 takes
# 0.5-0.7 s to start in the guest; jget a few milliseconds.
jget() { "$JGET" "$@"; }

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/e2e-$E2E_NAME.XXXXXX") || fail "cannot create a temporary directory"
export E2E_TMP
E2E_DAEMON_LOG=$E2E_TMP/ublkd.log
E2E_STOP_TIMEOUT=30
# Each test's daemons keep their state (device records, mem files) here, so
# a daemon started again in the same test finds what the last one left.
E2E_STATE_DIR=$E2E_TMP/state
trap _e2e_exit EXIT
# timeout(1) and ^C send signals: exit through the EXIT trap so hooks run.
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

UBLKD_PID=
_e2e_daemon_hooked=

# Start the daemon: $UBLKD --socket $E2E_TMP/ublkd.sock --state-dir
# $E2E_STATE_DIR -v ARGS... with its stderr appended to $E2E_DAEMON_LOG; export UBLKD_SOCKET and UBLKD_PID; wait up to
# 30 s until `$UBLKCTL list` succeeds. At exit the daemon gets SIGTERM (and
# the test fails if it needs SIGKILL after $E2E_STOP_TIMEOUT s or exits
# non-zero), and if the test failed the daemon log's tail is printed and the
# log is copied to $UBLKD_RESULTS/e2e/NAME.ublkd.log (unless it is written
# under $UBLKD_RESULTS already).
start_daemon() {
	[ -x "$UBLKD" ] || fail "daemon $UBLKD not found or not executable (build the tree first)"
	[ -x "$UBLKCTL" ] || fail "client $UBLKCTL not found or not executable (build the tree first)"
	[ -z "$UBLKD_PID" ] || fail "start_daemon: a daemon is already running (pid $UBLKD_PID)"
	export UBLKD_SOCKET=$E2E_TMP/ublkd.sock
	if [ -z "$_e2e_daemon_hooked" ]; then
		_e2e_daemon_hooked=1
		on_exit _e2e_daemon_log_on_failure
		on_exit _e2e_daemon_teardown
	fi
	"$UBLKD" --socket "$UBLKD_SOCKET" --state-dir "$E2E_STATE_DIR" -v "$@" \
		2>>"$E2E_DAEMON_LOG" &
	UBLKD_PID=$!
	export UBLKD_PID
	local i status
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$UBLKD_PID" 2>/dev/null; then
			status=0
			wait "$UBLKD_PID" || status=$?
			UBLKD_PID=
			fail "ublkd exited with status $status while starting"
		fi
		if "$UBLKCTL" list >/dev/null 2>&1; then
			note "ublkd running (pid $UBLKD_PID, socket $UBLKD_SOCKET)"
			return 0
		fi
		sleep 0.1
	done
	fail "ublkd (pid $UBLKD_PID) did not answer '$UBLKCTL list' within 30 s"
}

# Makes a FSTYPE (ext4 or xfs) file system on a loop device over a sparse
# image of SIZE (truncate syntax) and mounts it at DIR; further arguments go
# to losetup (e.g. --sector-size 4096). Sets SCRATCH_LOOP to the loop device
# and SCRATCH_IMG to the image.
# Call it before start_daemon: teardown then stops the daemon before the
# file system goes away.
scratch_fs() {
	local dir=$1 type=$2 size=$3 img
	shift 3
	img=$E2E_TMP/scratch-$(basename "$dir").img
	SCRATCH_IMG=$img
	truncate -s "$size" "$img" || fail "truncate $img"
	SCRATCH_LOOP=$(losetup -f --show "$@" "$img") || fail "losetup $* $img"
	on_exit "losetup -d $SCRATCH_LOOP"
	case $type in
	ext4) mkfs.ext4 -q -F "$SCRATCH_LOOP" ;;
	xfs) mkfs.xfs -q -f "$SCRATCH_LOOP" ;;
	*) fail "scratch_fs: unknown file system type '$type'" ;;
	esac || fail "mkfs.$type on $SCRATCH_LOOP"
	mkdir -p "$dir"
	mount "$SCRATCH_LOOP" "$dir" || fail "mount $SCRATCH_LOOP on $dir"
	on_exit "umount $dir"
}

# Writes under DIR a tree of NDIRS directories of 4 files of assorted sizes
# with random content, plus a 64 MiB file, and their checksums to SUMS.
tree_write() {
	local dir=$1 sums=$2 ndirs=$3 d i
	for ((d = 0; d < ndirs; d++)); do
		mkdir -p "$dir/d$d/sub"
		for i in 1 2 3 4; do
			head -c $((RANDOM * 37 + i * 4096)) /dev/urandom > "$dir/d$d/sub/f$i" ||
				fail "writing $dir/d$d/sub/f$i"
		done
	done
	head -c 64M /dev/urandom > "$dir/big" || fail "writing $dir/big"
	(cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$sums"
	expect_eq "$(wc -l < "$sums")" $((ndirs * 4 + 1)) "files in the tree under $dir"
}

# Checks every file listed in SUMS under DIR against its checksum.
tree_check() {
	local dir=$1 sums=$2
	(cd "$dir" && sha256sum --quiet -c "$sums") || fail "checksums differ under $dir"
	expect_eq "$(cd "$dir" && find . -type f | wc -l)" "$(wc -l < "$sums")" \
		"files under $dir against the checksum list"
}

# Makes ext4 on DEV, mounts it at MNT, writes a tree of NDIRS directories
# (tree_write), unmounts, checks it with fsck.ext4 -fn, drops every cached
# page so reads come from the device, mounts it again and checks every
# checksum (tree_check). DEV stays mounted at MNT (unmounted at exit).
ext4_roundtrip() {
	local dev=$1 mnt=$2 ndirs=$3
	mkdir -p "$mnt"
	mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 on $dev"
	mount "$dev" "$mnt" || fail "mount $dev"
	on_exit "umount $mnt 2>/dev/null || true"
	tree_write "$mnt" "$E2E_TMP/sums" "$ndirs"
	umount "$mnt" || fail "umount $mnt"
	fsck.ext4 -fn "$dev" > "$E2E_TMP/fsck.out" 2>&1 ||
		{ cat "$E2E_TMP/fsck.out"; fail "fsck.ext4 -fn on $dev found problems"; }
	blockdev --flushbufs "$dev"
	echo 3 > /proc/sys/vm/drop_caches
	mount "$dev" "$mnt" || fail "second mount of $dev"
	tree_check "$mnt" "$E2E_TMP/sums"
}

# Kills the daemon with SIGKILL and forgets it (its devices stay in the
# kernel for the next daemon to recover).
kill_daemon() {
	[ -n "$UBLKD_PID" ] || fail "kill_daemon: no daemon running"
	kill -KILL "$UBLKD_PID"
	wait "$UBLKD_PID" 2> /dev/null || true
	UBLKD_PID=
}

# The python3 for test scripts: Debian's own, as one earlier in PATH may be
# a wrapper that is slow to start (pyenv's shim took about 9 s per start in
# a TCG guest, Debian's python3 about 0.7 s).
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3) || PYTHON=python3

# Prints the state of device ID ($1) as the daemon lists it (empty if it
# does not list it).
state_of() { "$UBLKCTL" --json info "$1" 2>/dev/null | jget .state; }

# Prints field KEY ($2) of the description of device ID ($1) (ublkctl
# --json info).
info_field() { "$UBLKCTL" --json info "$1" | jget ".$2"; }

# Prints device $1's io_count and ring_wait_io_count, read at once.
io_counts() {
	"$UBLKCTL" --json info "$1" | jq -r '"\(.io_count) \(.ring_wait_io_count)"'
}

# Fails unless every queue of device DEV ($1, /dev/ublkbN) is served by an
# io thread; $2, if given, ends the message (when it was looked at).
expect_on_io_threads() {
	expect_eq "$("$UBLKCTL" --json info "${1#/dev/ublkb}" |
		jq -c '[.io_threads[] | . != null] | all')" true "every queue of $1 on an io thread${2:-}"
}

# Waits as wait_for (TIMEOUT $2, INTERVAL $3) until device ID ($1) is live.
wait_live() {
	[ $# -eq 2 ] || [ $# -eq 3 ] || fail "wait_live needs ID TIMEOUT [INTERVAL], got $# arguments"
	local id=$1
	shift
	wait_for "[ \"\$(state_of $id)\" = live ]" "$@"
}

# The fio options of restart_under_load's writers (after fio_bg's own).
RESTART_FIO_ARGS=(--rw=randwrite --bs=4k --iodepth=32 --offset=16M --size=16M)

# SIGKILL to the daemon while fio_bg writes each device given (with
# RESTART_FIO_ARGS), then a new daemon with the options in $1 (words split
# on spaces); waits until each of those devices is live again. fio_wait
# then checks the writes.
restart_under_load() {
	local opts=$1 i
	shift
	local devs=("$@")
	for i in "${!devs[@]}"; do
		fio_bg "kill$i" "${devs[i]}" "${RESTART_FIO_ARGS[@]}"
	done
	sleep 3
	note "SIGKILL to ublkd (pid $UBLKD_PID) under load"
	kill_daemon
	sleep 2
	# shellcheck disable=SC2086 # the options are words
	start_daemon $opts
	for i in "${devs[@]}"; do
		wait_live "${i#/dev/ublkb}" 120 || fail "$i is not live after the restart"
	done
}

# Starts in the background, on each block device given, fio random 4 KiB
# writes at depth 32 ($VERIFY_SIZE, default 32M) with a crc32c header in
# each block, read back and verified after the write phase; their pids go
# to FIO_PIDS and their output to $E2E_TMP/fio-NAME.out.
start_verify_writers() {
	local dev name
	FIO_PIDS=()
	for dev in "$@"; do
		name=$(basename "$dev")
		fio --name="$name" --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite \
			--bs=4k --iodepth=32 --size="${VERIFY_SIZE:-32M}" --verify=crc32c --verify_fatal=1 \
			--do_verify=1 --randseed=$RANDOM --output="$E2E_TMP/fio-$name.out" &
		FIO_PIDS+=($!)
	done
}

# Waits for the writers of start_verify_writers; fails, saying across what
# ($1), unless each exited 0 with no error and its verification passed.
wait_verify_writers() {
	local pid out
	for pid in "${FIO_PIDS[@]}"; do
		wait "$pid" || { cat "$E2E_TMP"/fio-*.out; fail "fio (pid $pid) failed across $1"; }
	done
	for out in "$E2E_TMP"/fio-*.out; do
		grep -q 'err= 0' "$out" || { cat "$out"; fail "fio reported errors across $1 ($out)"; }
	done
}

# Runs fio job NAME ($1) on device $2 in the background with the rest of
# the arguments, crc32c-verified after its writes; its pid goes to PIDS,
# its output to $E2E_TMP/NAME.out (fio_wait checks them all).
PIDS=()
fio_bg() {
	local name=$1 dev=$2
	shift 2
	fio --allow_file_create=0 --name="$name" --filename="$dev" --ioengine=io_uring --direct=1 \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --randseed=$RANDOM \
		--output="$E2E_TMP/$name.out" "$@" &
	PIDS+=($!)
}

# Waits for the jobs in PIDS; each must exit 0 and every $E2E_TMP/*.out
# say err= 0, else it fails saying across what ($1). Empties both.
fio_wait() {
	local pid out
	for pid in "${PIDS[@]}"; do
		wait "$pid" || { cat "$E2E_TMP"/*.out; fail "fio (pid $pid) failed: $1"; }
	done
	for out in "$E2E_TMP"/*.out; do
		grep -q 'err= 0' "$out" || { cat "$out"; fail "fio reported errors: $1 ($out)"; }
	done
	rm -f "$E2E_TMP"/*.out
	PIDS=()
}

# Writes a new 1 MiB random pattern $E2E_TMP/patI to device I of the
# rest of the arguments, at SEEK MiB ($1).
write_patterns() {
	local seek=$1 i
	shift
	local devs=("$@")
	for i in "${!devs[@]}"; do
		head -c 1M /dev/urandom > "$E2E_TMP/pat$i"
		dd if="$E2E_TMP/pat$i" of="${devs[i]}" bs=1M seek="$seek" oflag=direct status=none ||
			fail "writing the pattern of ${devs[i]}"
	done
}

# Fails unless device I of the rest of the arguments holds its own pattern
# $E2E_TMP/patI at SKIP MiB ($1); WHEN ($2) says at what point.
check_patterns() {
	local skip=$1 when=$2 i
	shift 2
	local devs=("$@")
	for i in "${!devs[@]}"; do
		dd if="${devs[i]}" of="$E2E_TMP/back$i" bs=1M skip="$skip" count=1 iflag=direct \
			status=none || fail "reading the pattern of ${devs[i]} $when"
		cmp -s "$E2E_TMP/pat$i" "$E2E_TMP/back$i" || fail "${devs[i]} does not hold its own data $when"
	done
}

# SIGTERM to the daemon while fio reads and writes every device given: it
# must exit 0 in time, deleting them all from the kernel.
sigterm_under_load() {
	local i d pids=()
	local devs=("$@")
	for i in "${!devs[@]}"; do
		fio --allow_file_create=0 --name="term$i" --filename="${devs[i]}" --ioengine=io_uring \
			--direct=1 --rw=randrw --bs=4k --iodepth=32 --size=16M --time_based --runtime=60 \
			--output="$E2E_TMP/term$i.log" &
		pids+=($!)
	done
	sleep 2
	stop_daemon || fail "ublkd exited with status $? after SIGTERM under load"
	# The fio jobs fail once their devices are gone; only they are waited
	# for (a test's servers run in the background too).
	wait "${pids[@]}" || true
	for d in "${devs[@]}"; do
		[ ! -b "$d" ] || fail "$d left behind after SIGTERM"
		# A fio job that (re)opens its file after the node is gone
		# creates a regular file of that name in /dev.
		rm -f "$d"
	done
	expect_eq "$(kernel_devices)" 0 "kernel ublk devices after SIGTERM"
}

# Prints the thread ids of the running daemon whose name matches the
# pattern $1 (ublkd-io[0-9]* for its io threads).
threads_named() {
	local task
	for task in /proc/"$UBLKD_PID"/task/*; do
		if grep -qx "$1" "$task/comm" 2>/dev/null; then basename "$task"; fi
	done
}

# Sleeps $1 seconds (fractions allowed) without starting a process: read
# -t on a FIFO that no one writes ($E2E_TMP/nap, made on first use). A
# process costs ~70 ms under TCG, more than the pauses of a sampling loop.
nap() {
	local fifo=$E2E_TMP/nap
	[ -p "$fifo" ] || mkfifo "$fifo" 2>/dev/null || [ -p "$fifo" ] ||
		fail "cannot make the FIFO $fifo"
	read -r -t "$1" _ <>"$fifo" || true
}

# Sets TASK_WAIT to what thread $1 of the running daemon is blocked in:
# ring for io_uring_enter (it blocks there only waiting in a ring:
# submitting never blocks), loop for epoll_wait or epoll_pwait, else the
# system call's number, running (runnable or on a CPU), or gone. No
# process is made: one costs ~70 ms of a vCPU under TCG, and tests sample
# this ten times a second while the thread they watch needs that CPU.
task_wait_get() {
	local nr _rest
	{ read -r nr _rest < "/proc/$UBLKD_PID/task/$1/syscall"; } 2>/dev/null || nr=gone
	case $nr in
	426) TASK_WAIT=ring ;;
	232|281) TASK_WAIT=loop ;;
	*) TASK_WAIT=$nr ;;
	esac
}

# Prints what thread $1 of the running daemon is blocked in (task_wait_get).
task_wait() {
	task_wait_get "$1"
	echo "$TASK_WAIT"
}

# Waits up to 10 s until command $1 prints $2; fails otherwise, saying what
# $3 waited for and what $1 printed last.
expect_output() {
	local now
	for _ in $(seq 50); do
		now=$($1)
		[ "$now" = "$2" ] && return 0
		sleep 0.2
	done
	fail "$3: '$now', not '$2'"
}

# Prints true if the ublk driver's features, as the running daemon logged
# them, have bit $1 (UBLK_F_*), else false.
driver_has() {
	local features
	features=$(sed -n 's/.*ublk driver features \(0x[0-9a-f]*\).*/\1/p' "$E2E_DAEMON_LOG" | head -n 1)
	[ -n "$features" ] || fail "the daemon did not log the driver's features"
	if (( features & (1 << $1) )); then echo true; else echo false; fi
}

# Fails unless bit $2 of device $1's negotiated flags (UBLK_F_ name $4) is
# set exactly when $3 is true.
expect_flag() {
	local dev=$1 bit=$2 want=$3 name=$4 flags
	flags=$(info_field "${dev#/dev/ublkb}" flags)
	if [ "$want" = true ]; then
		(( flags & (1 << bit) )) || fail "$dev: flags $flags lack $name"
	else
		(( !(flags & (1 << bit)) )) || fail "$dev: flags $flags have $name"
	fi
}

# Prints "on" when the guest CPU has ERMS (see test/vm/README.md), else "off".
cpu_erms() { if grep -qw erms /proc/cpuinfo; then echo on; else echo off; fi; }

# Counts the kernel's ublk devices (/sys/class/ublk-char entries).
kernel_devices() { find /sys/class/ublk-char -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# Prints the CPU time (utime + stime, in clock ticks) summed over the
# /proc stat files $@: a process's /proc/PID/stat, or its threads'
# /proc/PID/task/TID/stat.
stat_ticks() {
	local file line sum=0 f
	for file in "$@"; do
		read -r line < "$file"
		# After the ")" of the command name: utime is the 12th field, stime the 13th.
		read -ra f <<< "${line##*) }"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# Sends one raw request line ($1) to the daemon's socket and prints the
# reply line.
rpc_raw() {
	printf '%s\n' "$1" | socat -t 30 - "UNIX-CONNECT:$UBLKD_SOCKET"
}

# Stop the daemon: SIGTERM, wait up to $E2E_STOP_TIMEOUT s (then SIGKILL and
# fail); return the daemon's exit status (so under set -e write
# `stop_daemon || st=$?`).
stop_daemon() {
	[ -n "$UBLKD_PID" ] || fail "stop_daemon: no daemon running"
	local pid=$UBLKD_PID status=0
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_for "! kill -0 $pid 2>/dev/null" "$E2E_STOP_TIMEOUT" > /dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		UBLKD_PID=
		fail "ublkd (pid $pid) was still running $E2E_STOP_TIMEOUT s after SIGTERM; sent SIGKILL"
		return 1
	fi
	wait "$pid" || status=$?
	UBLKD_PID=
	return "$status"
}

# Teardown hook of start_daemon: stop a daemon that is still running.
_e2e_daemon_teardown() {
	[ -n "$UBLKD_PID" ] || return 0
	local status=0
	stop_daemon || status=$?
	if [ "$status" -ne 0 ]; then
		fail "ublkd exited with status $status after SIGTERM"
	fi
}

# Teardown hook of start_daemon: show and keep the daemon log if the test failed.
_e2e_daemon_log_on_failure() {
	if [ "$E2E_STATUS" -eq 0 ] || [ ! -f "$E2E_DAEMON_LOG" ]; then
		return 0
	fi
	# Its warnings and errors first: the tail may be only polling.
	echo "---- warnings and errors in the ublkd log (the last 15) ----" >&2
	grep -a '^<[0-4]>' "$E2E_DAEMON_LOG" | tail -n 15 >&2 || true
	echo "---- last 30 lines of the ublkd log ($E2E_DAEMON_LOG) ----" >&2
	tail -n 30 "$E2E_DAEMON_LOG" >&2
	if [ -n "${UBLKD_RESULTS:-}" ] && [[ "$E2E_DAEMON_LOG" != "$UBLKD_RESULTS"/* ]]; then
		mkdir -p "$UBLKD_RESULTS/e2e" &&
			cp "$E2E_DAEMON_LOG" "$UBLKD_RESULTS/e2e/$E2E_NAME.ublkd.log" &&
			echo "---- full log: $UBLKD_RESULTS/e2e/$E2E_NAME.ublkd.log ----" >&2
	fi
	return 0
}
