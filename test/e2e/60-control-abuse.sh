#!/bin/bash
# The control socket under the amplification attack of issue 15 does not
# starve the devices: ten clients each send 1 MiB of spaces, a newline and
# four million lines "x", and never read. fio randread 4 KiB at depth 32 on
# a mem device must keep at least 80% of its IOPS without the attack: five
# rounds of each, alternating in this boot, and the median over rounds of
# each round's ratio (a round's two runs are next to each other, so drift
# of the guest's speed between rounds cancels out; CI once saw per-round
# ratios 0.70, 0.87, 0.91 whose medians of IOPS gave 0.79). daemon_info
# is answered during each attacked round. The attacker and the prober are
# test/control-abuse (python3, seen in the guest through the overlay).
# Run on the stable kernel only: what it checks (the control socket's bounds)
# lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root
command -v "$PYTHON" > /dev/null || fail "python3 is not visible in the guest"
ABUSE=$E2E_SRCDIR/../control-abuse
[ -r "$ABUSE" ] || fail "$ABUSE not found"
RUNTIME=8
ROUNDS=5
MIN_RATIO=0.80

start_daemon
dev=$("$UBLKCTL" add mem --size 256M) || fail "ublkctl add mem failed"
require_blockdev "$dev"
# Written once, so that the reads find memory rather than holes.
fio --name=fill --filename="$dev" --ioengine=io_uring --direct=1 --rw=write \
	--bs=1M --iodepth=8 --size=256M --output="$E2E_TMP/fill.out" ||
	{ cat "$E2E_TMP/fill.out"; fail "fio fill failed"; }

# Prints the IOPS of one randread run.
randread_iops() {
	fio --name=rr --filename="$dev" --ioengine=io_uring --direct=1 --rw=randread \
		--bs=4k --iodepth=32 --size=256M --time_based --runtime="$RUNTIME" \
		--randseed="$RANDOM" --output-format=json --output="$E2E_TMP/fio.json" ||
		{ cat "$E2E_TMP/fio.json"; fail "fio randread failed"; }
	jq '.jobs[0].read.iops | floor' "$E2E_TMP/fio.json"
}

attack_pid=
# Stops the attacker if it runs.
stop_attack() {
	if [ -n "$attack_pid" ]; then
		kill "$attack_pid" 2>/dev/null || true
		wait "$attack_pid" 2>/dev/null || true
		attack_pid=
	fi
}
on_exit stop_attack

# Prints the median of its arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

base=() attacked=()
for ((round = 1; round <= ROUNDS; round++)); do
	base+=("$(randread_iops)")
	# The attacker starts up first (python is slow to start under TCG) and
	# attacks when told, as fio starts: the daemon's work on the attack
	# falls into the measured run.
	go=$E2E_TMP/go.$round
	"$PYTHON" "$ABUSE" attack amplify "$UBLKD_SOCKET" 10 "$go" &
	attack_pid=$!
	wait_for "[ -e $go.ready ]" 120 || fail "the attacker did not start"
	touch "$go"
	attacked+=("$(randread_iops)")
	kill -0 "$attack_pid" 2>/dev/null || fail "the attacker exited early"
	probe=$("$PYTHON" "$ABUSE" probe "$UBLKD_SOCKET" 20) ||
		fail "daemon_info not answered during the attack"
	note "round $round: ${base[-1]} IOPS without, ${attacked[-1]} under attack;" \
		"daemon_info median and worst ms: $probe"
	stop_attack
done
# Each of the ten connections had its lines paused on its replies.
paused=$(grep -c 'pausing requests' "$E2E_DAEMON_LOG" || true)
[ "$paused" -ge 10 ] || fail "the attack did not reach the daemon: $paused pauses logged"

ratios=()
for ((i = 0; i < ROUNDS; i++)); do
	ratios+=("$(awk -v a="${attacked[i]}" -v b="${base[i]}" 'BEGIN { printf "%.3f", a / b }')")
done
ratio=$(median "${ratios[@]}")
ratio=$(awk -v r="$ratio" 'BEGIN { printf "%.2f", r }')
echo "control-abuse: fio randread 4k QD32 on mem: median $(median "${base[@]}") IOPS without," \
	"$(median "${attacked[@]}") under the amplification attack; per-round ratios" \
	"${ratios[*]}: median $ratio (at least $MIN_RATIO)"
awk -v r="$ratio" -v m="$MIN_RATIO" 'BEGIN { exit !(r >= m) }' ||
	fail "IOPS under attack fell to $ratio of those without (less than $MIN_RATIO)"
"$UBLKCTL" del "${dev#/dev/ublkb}" || fail "ublkctl del failed"
