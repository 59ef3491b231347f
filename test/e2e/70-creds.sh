#!/bin/bash
# Who may do what: two users of the socket group (uids 2001 and 2002, group
# users) and root share one ublkd. A user never has the daemon open a path:
# a path sent by hand is refused with -32602, ublkctl opens the file itself
# and passes the descriptor, and a file the user cannot open cannot be used
# at all. Each device belongs to whoever added it: its node is chowned to
# that user, list shows the owner, only the owner or root deletes it,
# del --all of a user deletes only that user's, shutdown is root's. The
# quota holds each user to 3 devices and 48 MiB of mem devices. Every
# device is checked for its own data only. Last, a user's file device comes
# back after a crash with the file reopened with the user's rights, and
# one whose file the user can no longer open does not.
# Run on the stable kernel only: what it checks (who may do what in the
# daemon) lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
. "$E2E_SRCDIR/creds-lib.sh"
require_root
# Writes 4 MiB of pattern $2 at the start of device $1 (as uid $3).
fill() { as "$3" sh -c "yes '$2' | head -c 4M | dd of=$1 bs=1M oflag=direct status=none"; }
# Checks device $1 holds pattern $2 (as root).
holds() {
	[ "$(dd if="$1" bs=1M count=4 iflag=direct status=none | md5sum)" = \
	  "$(yes "$2" | head -c 4M | md5sum)" ] || fail "$1 does not hold its own data ($2)"
}

start_daemon --socket-group "$grp" --max-user-devices 3 --max-user-mem 48M
chmod 0755 "$E2E_TMP"
mkdir -m 1777 "$E2E_TMP/out"
mkdir -m 0700 "$E2E_TMP/private" "$E2E_TMP/a" "$E2E_TMP/b"
chown "$ua:$gid" "$E2E_TMP/a"
chown "$ub:$gid" "$E2E_TMP/b"
head -c 1M /dev/urandom > "$E2E_TMP/private/secret.img"
truncate -s 8M "$E2E_TMP/rootonly.img"
chmod 0600 "$E2E_TMP/rootonly.img"
expect_eq "$(stat -c %a "$UBLKD_SOCKET")" 660 "mode of the socket"

# A path from a user is refused by the daemon, whatever it names.
for path in "$E2E_TMP/private/evil.img" "$E2E_TMP/a/mine.img"; do
	reply=$(as "$ua" socat -t 30 - "UNIX-CONNECT:$UBLKD_SOCKET" <<< \
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\",\"params\":{\"backend\":\"file\",\"path\":\"$path\",\"size\":1048576}}")
	expect_eq "$(jget .error.code <<< "$reply")" -32602 "error code of a path from uid $ua ($reply)"
	jget .error.message <<< "$reply" | grep -qF "ublkd opens no file for uid $ua" ||
		fail "the refusal does not say why: $reply"
done
[ ! -e "$E2E_TMP/private/evil.img" ] || fail "the daemon created a file for a user"
grep -q "refused a request of uid=$ua pid=[0-9]*: path: ublkd opens no file" "$E2E_TMP/ublkd.log" ||
	fail "the refusal is not logged with the peer's uid and pid"
# What the user cannot open cannot be used at all, through ublkctl either.
expect_refused "$ua" "$E2E_TMP/private/evil.img: Permission denied" \
	add file --path "$E2E_TMP/private/evil.img" --size 1M
[ ! -e "$E2E_TMP/private/evil.img" ] || fail "a user's add created a file in a private directory"
expect_refused "$ua" "cannot open $E2E_TMP/private/secret.img: Permission denied" \
	add file --path "$E2E_TMP/private/secret.img"
expect_refused "$ua" "cannot open $E2E_TMP/rootonly.img: Permission denied" \
	add file --path "$E2E_TMP/rootonly.img" --size 16M
expect_eq "$(stat -c %s "$E2E_TMP/rootonly.img")" $((8 << 20)) "size of a file a user may not write"
loop=$(losetup -f --show "$E2E_TMP/rootonly.img")
on_exit "losetup -d $loop"
expect_refused "$ua" "cannot open $loop: Permission denied" add file --path "$loop"
expect_eq "$("$UBLKCTL" --json list | jget length)" 0 "devices after the refused adds"

# Each user's own files, passed as descriptors: created by ublkctl as the user.
adev=$(ctl "$ua" add file --path "$E2E_TMP/a/a.img" --size 64M) || { cat "$E2E_TMP/err"; fail "add file as $ua"; }
require_blockdev "$adev"
expect_eq "$(stat -c %u "$E2E_TMP/a/a.img")" "$ua" "owner of the file ublkctl created"
amem=$(ctl "$ua" add mem --size 16M) || { cat "$E2E_TMP/err"; fail "add mem as $ua"; }
bdev=$(ctl "$ub" add file --path "$E2E_TMP/b/b.img" --size 32M) || { cat "$E2E_TMP/err"; fail "add file as $ub"; }
bmem=$(ctl "$ub" add mem --size 16M) || { cat "$E2E_TMP/err"; fail "add mem as $ub"; }
rmem=$("$UBLKCTL" add mem --size 16M) || fail "add mem as root"
for d in "$adev" "$amem" "$bdev" "$bmem" "$rmem"; do
	require_blockdev "$d"
done
for d in "$adev" "$amem"; do
	expect_eq "$(info_field "${d#/dev/ublkb}" owner_uid)" "$ua" "owner_uid of $d"
	expect_eq "$(stat -c %u:%a "$d")" "$ua:600" "owner and mode of $d"
done
for d in "$bdev" "$bmem"; do
	expect_eq "$(info_field "${d#/dev/ublkb}" owner_uid)" "$ub" "owner_uid of $d"
	expect_eq "$(stat -c %u:%a "$d")" "$ub:600" "owner and mode of $d"
done
expect_eq "$(info_field "${rmem#/dev/ublkb}" owner_uid)" 0 "owner_uid of root's $rmem"
expect_eq "$(stat -c %u "$rmem")" 0 "owner of root's $rmem"
expect_eq "$(info_field "${adev#/dev/ublkb}" path)" "$E2E_TMP/a/a.img" "path of a passed file"
# A user cannot open another's node.
as "$ub" dd if="$adev" of=/dev/null bs=4k count=1 status=none 2> /dev/null &&
	fail "uid $ub could read $adev of uid $ua"

# The owners in list, as the users see it.
ctl "$ua" list > "$E2E_TMP/list" || fail "list as $ua"
head -1 "$E2E_TMP/list" | grep -q 'STATE *OWNER$' || { cat "$E2E_TMP/list"; fail "list has no OWNER column"; }
for pair in "$adev $ua" "$amem $ua" "$bdev $ub" "$bmem $ub" "$rmem 0"; do
	set -- $pair
	grep -Eq "^ *${1#/dev/ublkb} $1 .* $2\$" "$E2E_TMP/list" ||
		{ cat "$E2E_TMP/list"; fail "list does not show $1 owned by $2"; }
done

# Each user's data, on its own devices; fio verify on each user's file device.
fill "$adev" A1 "$ua"; fill "$amem" A2 "$ua"; fill "$bdev" B1 "$ub"; fill "$bmem" B2 "$ub"
fill "$rmem" R0 0
for d in "$adev:$ua" "$bdev:$ub"; do
	as "${d#*:}" fio --name=verify --filename="${d%:*}" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs=4k --iodepth=16 --offset=8M --size=16M \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --randseed="$RANDOM" \
		--verify_state_save=0 --output="$E2E_TMP/out/fio-${d#*:}.out" || { cat "$E2E_TMP/out/fio-${d#*:}.out"; fail "fio on ${d%:*} as uid ${d#*:}"; }
	grep -q 'err= 0' "$E2E_TMP/out/fio-${d#*:}.out" || { cat "$E2E_TMP/out/fio-${d#*:}.out"; fail "fio errors on ${d%:*}"; }
done
holds "$adev" A1; holds "$amem" A2; holds "$bdev" B1; holds "$bmem" B2; holds "$rmem" R0
cmp -n $((4 << 20)) "$adev" "$E2E_TMP/a/a.img" || fail "$adev and its file differ"

# Nobody but the owner (or root) deletes a device; shutdown is root's.
expect_refused "$ua" "device ${bdev#/dev/ublkb} belongs to uid $ub; only its owner or root may delete it" \
	del "${bdev#/dev/ublkb}"
expect_refused "$ua" "device ${rmem#/dev/ublkb} belongs to uid 0" del "${rmem#/dev/ublkb}"
expect_refused "$ub" "belongs to uid $ua" del "${amem#/dev/ublkb}"
expect_refused "$ua" "only root (or ublkd's own user) may shut ublkd down" shutdown
# rbd is root's: librados would read what a configuration names as root.
# Refused without a configuration (ublkd's default) and with the user's own.
if has_backend rbd; then
	printf '[global]\nmon_host = 127.0.0.1\nkeyring = /etc/ceph/ceph.client.admin.keyring\n' \
		> "$E2E_TMP/a/ceph.conf"
	chown "$ua" "$E2E_TMP/a/ceph.conf"
	rbd_why="rbd: only root (or ublkd's own user) may add rbd devices: librados would read"
	expect_refused "$ua" "$rbd_why" add rbd --pool rbd --image x
	expect_refused "$ua" "$rbd_why" add rbd --pool rbd --image x --conf "$E2E_TMP/a/ceph.conf"
	grep -q "refused a request of uid=$ua pid=[0-9]*: $rbd_why" "$E2E_DAEMON_LOG" ||
		fail "the rbd refusal is not in the log with the peer's uid"
else
	note "ublkd was built without rbd: no rbd refusal to check"
fi
expect_eq "$("$UBLKCTL" --json list | jget length)" 5 "devices after refused deletes and shutdown"

# The quota: 3 devices, 48 MiB of mem per user; root has none.
expect_refused "$ub" "quota: uid $ub has 16777216 bytes of mem devices; 50331648 more would pass the limit of 50331648" \
	add mem --size 48M
bnull=$(ctl "$ub" add null --size 1M) || { cat "$E2E_TMP/err"; fail "third device of $ub"; }
expect_refused "$ub" "quota: uid $ub has 3 device(s), the most a user may have (ublkd --max-user-devices 3)" \
	add null --size 1M
r2=$("$UBLKCTL" add mem --size 64M) || fail "root is held to no quota"

# del --all of a user deletes that user's devices only.
ctl "$ub" del --all || { cat "$E2E_TMP/err"; fail "del --all as $ub"; }
for d in "$bdev" "$bmem" "$bnull"; do
	[ ! -e "$d" ] || fail "$d of uid $ub left after its del --all"
done
expect_eq "$("$UBLKCTL" --json list | jq -c '[.[].owner_uid] | sort')" "[0,0,$ua,$ua]" \
	"owners left after del --all of uid $ub"
holds "$adev" A1; holds "$amem" A2; holds "$rmem" R0
ctl "$ua" del "${amem#/dev/ublkb}" || { cat "$E2E_TMP/err"; fail "uid $ua deletes its own device"; }
"$UBLKCTL" del "${adev#/dev/ublkb}" "${r2#/dev/ublkb}" || fail "root deletes a user's device"

# Recovery: a user's file devices are taken over by the next daemon with the
# file reopened as the user; one whose file the user can no longer open
# is not recovered (the daemon, root, could open it).
r1=$(ctl "$ua" add file --path "$E2E_TMP/a/r1.img" --size 16M) || { cat "$E2E_TMP/err"; fail "add r1"; }
r2=$(ctl "$ua" add file --path "$E2E_TMP/a/r2.img" --size 16M) || { cat "$E2E_TMP/err"; fail "add r2"; }
fill "$r1" RA "$ua"; fill "$r2" RB "$ua"
rec=$E2E_STATE_DIR/devices/ublkb${r1#/dev/ublkb}.json
expect_eq "$(jget -f "$rec" .owner_uid):$(jget -f "$rec" .params.path)" "$ua:$E2E_TMP/a/r1.img" \
	"owner and path in the record of $r1"
kill_daemon
chmod 000 "$E2E_TMP/a/r2.img"
start_daemon --socket-group "$grp"
wait_live "${r1#/dev/ublkb}" 30 || fail "$r1 not recovered"
holds "$r1" RA
expect_eq "$(info_field "${r1#/dev/ublkb}" owner_uid)" "$ua" "owner of the recovered $r1"
expect_eq "$(stat -c %u "$r1")" "$ua" "owner of the recovered node $r1"
wait_for "grep -q 'device ${r2#/dev/ublkb}.*its owner, uid $ua, cannot open it now' $E2E_TMP/ublkd.log" 30 ||
	fail "the daemon did not refuse to reopen $r2 for its owner"
"$UBLKCTL" --json info "${r2#/dev/ublkb}" > /dev/null 2>&1 && fail "$r2 was recovered with a file its owner cannot open"
ctl "$ua" del --all || { cat "$E2E_TMP/err"; fail "del --all as $ua"; }
# Root's device, recovered too, is left by that del --all.
expect_eq "$("$UBLKCTL" --json list | jq -c '[.[].id]')" "[${rmem#/dev/ublkb}]" "devices after del --all of uid $ua"
holds "$rmem" R0
"$UBLKCTL" del "${rmem#/dev/ublkb}" || fail "del of root's device"
expect_eq "$("$UBLKCTL" --json list | jget length)" 0 "devices at the end"
