#!/bin/bash
# ublkd without root: uid 2003 runs it as the systemd user unit would (the
# socket passed by socket activation under its runtime directory), with the
# permissions the shipped udev rule gives applied by hand (the guest has no
# udevd): /dev/ublk-control mode 0666, each new /dev/ublkcN and /dev/ublkbN
# owned by the user. Its devices are UBLK_F_UNPRIVILEGED_DEV ones: mem and
# file devices are added, serve fio verify, each holds its own data, the
# block nodes belong to the user, and they are deleted. The kernel's limit
# of unprivileged devices (ublks_max) is reported by name, and the user may
# shut its own daemon down.
. "$(dirname "$0")/lib.sh"
require_root
command -v setpriv > /dev/null || fail "setpriv is missing (package util-linux)"
command -v systemd-socket-activate > /dev/null || fail "systemd-socket-activate is missing"

uid=2003
gid=$(getent group users | cut -d: -f3) || fail "no group users in the guest"
max=/sys/module/ublk_drv/parameters/ublks_max
[ -w "$max" ] || fail "$max is missing"

# Runs a command as the user.
as() {
	setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all "$@"
}

# What the udev rule does: /dev/ublk-control for everyone, and the nodes of
# the user's devices its own (a loop, as udev would on each add event). It
# forks only to chown a new node, and waits with nap: a process per turn
# costs ~70 ms under TCG, and the loop once took 27 s of this test's 34.
old_mode=$(stat -c %a /dev/ublk-control)
on_exit "chmod $old_mode /dev/ublk-control"
chmod 0666 /dev/ublk-control
(
	while :; do
		for node in /dev/ublkb[0-9]* /dev/ublkc[0-9]*; do
			# -O: still owned by us (root), as the kernel made it.
			if [ -O "$node" ]; then
				chown "$uid:$gid" "$node" 2>/dev/null || true
			fi
		done
		nap 0.02
	done
) &
udev=$!
on_exit "kill $udev 2>/dev/null || true"

run=$E2E_TMP/run-$uid
mkdir -m 0700 "$run"
chown "$uid:$gid" "$run"
chmod 0755 "$E2E_TMP"
mkdir -m 1777 "$E2E_TMP/out"
sock=$run/ublkd/ublkd.sock
as mkdir -m 0700 "$run/ublkd"
as env XDG_RUNTIME_DIR="$run" systemd-socket-activate -l "$sock" -- \
	"$UBLKD" -v --socket "$sock" --state-dir "$run/ublkd" 2> "$E2E_TMP/ublkd.log" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null || true"
on_exit 'for d in /sys/class/ublk-char/ublkc*; do [ -e "$d" ] && "$UBLKCTL" del "${d##*ublkc}" 2>/dev/null; done; true'
export UBLKD_SOCKET=$sock
wait_for "[ -S $sock ]" 30 || fail "no socket $sock"

ctl() { as env UBLKD_SOCKET="$sock" "$UBLKCTL" "$@" 2> "$E2E_TMP/err"; }
on_exit '[ "$E2E_STATUS" -eq 0 ] || tail -60 "$E2E_TMP/ublkd.log"' 
fill() { as sh -c "yes '$2' | head -c 4M | dd of=$1 bs=1M oflag=direct status=none"; }
holds() {
	[ "$(dd if="$1" bs=1M count=4 iflag=direct status=none | md5sum)" = \
	  "$(yes "$2" | head -c 4M | md5sum)" ] || fail "$1 does not hold its own data ($2)"
}

m1=$(ctl add mem --size 32M) || { cat "$E2E_TMP/err" "$E2E_TMP/ublkd.log"; fail "add mem as uid $uid"; }
m2=$(ctl add mem --size 16M) || { cat "$E2E_TMP/err"; fail "second mem device"; }
f1=$(ctl add file --path "$run/disk.img" --size 32M) || { cat "$E2E_TMP/err"; fail "add file as uid $uid"; }
ps -o user= -p "$(pgrep -f "$UBLKD -v --socket $sock" | head -1)" | grep -qx "$uid" ||
	fail "ublkd does not run as uid $uid"
for d in "$m1" "$m2" "$f1"; do
	require_blockdev "$d"
	id=${d#/dev/ublkb}
	expect_eq "$(info_field "$id" owner_uid)" "$uid" "owner_uid of $d"
	flags=$(info_field "$id" flags)
	expect_eq "$((flags & 0x20))" 32 "UNPRIVILEGED_DEV in the flags of $d ($flags)"
	expect_eq "$(info_field "$id" recovery)" none "recovery of $d"
	wait_for "[ \"\$(stat -c %u $d)\" = $uid ]" 10 || fail "$d is not owned by uid $uid"
done
grep -q "is not for a ublkd without root" "$E2E_TMP/ublkd.log" ||
	fail "ublkd did not say the devices have no recovery"
expect_eq "$(stat -c %u "$run/disk.img")" "$uid" "owner of the file ublkctl created"
fill "$m1" U1; fill "$m2" U2; fill "$f1" U3
for d in "$m1" "$f1"; do
	as fio --name=verify --filename="$d" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs=4k --iodepth=16 --offset=8M --size=16M \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --randseed="$RANDOM" \
		--verify_state_save=0 --output="$E2E_TMP/out/fio.out" || { cat "$E2E_TMP/out/fio.out"; fail "fio on $d"; }
	grep -q 'err= 0' "$E2E_TMP/out/fio.out" || { cat "$E2E_TMP/out/fio.out"; fail "fio errors on $d"; }
done
holds "$m1" U1; holds "$m2" U2; holds "$f1" U3

# The kernel's limit of unprivileged devices, named in the error.
old_max=$(cat "$max")
on_exit "echo $old_max > $max"
echo 3 > "$max"
st=0
ctl add mem --size 1M > /dev/null || st=$?
expect_eq "$st" 1 "exit status of an add past ublks_max"
grep -qF "ublks_max" "$E2E_TMP/err" || { cat "$E2E_TMP/err"; fail "the error does not name ublks_max"; }
echo "$old_max" > "$max"
holds "$m1" U1

ctl del "${m2#/dev/ublkb}" || { cat "$E2E_TMP/err" "$E2E_TMP/ublkd.log"; fail "del as uid $uid"; }
wait_for "[ ! -e $m2 ]" 10 || fail "$m2 left after its delete"
holds "$m1" U1; holds "$f1" U3
# The user may stop its own daemon; it deletes the rest.
ctl shutdown || { cat "$E2E_TMP/err"; fail "shutdown by the daemon's own user"; }
wait "$pid" || fail "ublkd exited with status $? after shutdown"
for d in "$m1" "$f1"; do
	[ ! -e "$d" ] || fail "$d left after shutdown"
done
expect_eq "$(kernel_devices)" 0 "kernel devices at the end"
