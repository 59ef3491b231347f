#!/bin/bash
# A full tmpfs fails writes, not the daemon (issue 10): the state directory
# is a 32 MiB tmpfs holding an 8 MiB mem device (written whole first) and a
# 64 MiB one. Writing 48 MiB to the large one fails with I/O errors past
# what the tmpfs holds; the kernel logs block I/O errors and nothing worse;
# ublkd keeps serving both devices (what was written before reads back, the
# small one passes a verify), device info shows memory_used and tmpfs_free,
# --reserve refuses a size the tmpfs cannot hold, and del works.
# Run on the stable kernel only: what it checks (the mem backend on a full
# tmpfs) lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root

state=$E2E_TMP/state
mkdir -p "$state"
mount -t tmpfs -o size=32M ublkd-e2e "$state" || fail "cannot mount a 32 MiB tmpfs"
on_exit "umount '$state'"
start_daemon --state-dir "$state"
kbefore=$(dmesg | wc -l)

small=$("$UBLKCTL" add mem --size 8M) || fail "add mem --size 8M"
big=$("$UBLKCTL" add mem --size 64M) || fail "add mem --size 64M"
require_blockdev "$small"
require_blockdev "$big"
fio --name=small --filename="$small" --ioengine=io_uring --direct=1 --rw=write \
	--bs=64k --size=8M --verify=crc32c --do_verify=1 --verify_fatal=1 \
	--output="$E2E_TMP/small.out" || { cat "$E2E_TMP/small.out"; fail "writing $small"; }

note "the first 16 MiB of $big fit"
fio --name=fits --filename="$big" --ioengine=io_uring --direct=1 --rw=write \
	--bs=64k --size=16M --verify=pattern --verify_pattern=0x0b16da7a --do_verify=0 \
	--output="$E2E_TMP/fits.out" || { cat "$E2E_TMP/fits.out"; fail "writing 16 MiB to $big"; }
note "16 to 48 MiB do not (32 MiB tmpfs, 24 MiB used): write it 1 MiB at a time"
ok=0 failed=0 order=
for ((mib = 16; mib < 48; mib++)); do
	if dd if=/dev/urandom of="$big" bs=1M count=1 seek="$mib" oflag=direct \
		status=none 2>>"$E2E_TMP/dd.err"; then
		ok=$((ok + 1)) order+=o
	else
		failed=$((failed + 1)) order+=x
	fi
done
note "1 MiB writes from 16 MiB on: $order (o written, x I/O error)"
[ "$failed" -ge 20 ] || fail "only $failed of 32 writes past the tmpfs limit failed"
[ "$ok" -ge 4 ] || fail "only $ok of the 1 MiB writes that fit succeeded"
[[ "$order" =~ ^o+x+$ ]] || fail "writes failed out of order: $order"
grep -q 'No space left on device' "$E2E_TMP/dd.err" || { cat "$E2E_TMP/dd.err"; fail "dd saw no ENOSPC"; }
dmesg | tail -n +"$((kbefore + 1))" >"$E2E_TMP/dmesg.txt"
grep -E "ublkb${big#/dev/ublkb}" "$E2E_TMP/dmesg.txt" | grep -Eiq 'error' ||
	{ cat "$E2E_TMP/dmesg.txt"; fail "no block I/O error for $big in dmesg"; }
if grep -Eq 'Oops|BUG:|general protection|segfault|Call Trace' "$E2E_TMP/dmesg.txt"; then
	cat "$E2E_TMP/dmesg.txt"
	fail "the kernel logged a crash"
fi
kill -0 "$UBLKD_PID" || fail "ublkd died"
grep -q 'fails with ENOSPC' "$E2E_TMP/ublkd.log" || fail "ublkd did not log the failed writes"
expect_eq "$(grep -c 'fails with ENOSPC' "$E2E_TMP/ublkd.log")" 1 "ENOSPC log lines in the first minute ($failed failed writes)"

note "ublkd still serves both devices"
fio --name=back --filename="$big" --ioengine=io_uring --direct=1 --rw=write \
	--bs=64k --size=16M --verify=pattern --verify_pattern=0x0b16da7a --verify_only \
	--verify_fatal=1 --output="$E2E_TMP/back.out" || { cat "$E2E_TMP/back.out"; fail "the first 16 MiB of $big"; }
fio --name=small --filename="$small" --ioengine=io_uring --direct=1 --rw=write \
	--bs=64k --size=8M --verify=crc32c --verify_only --verify_fatal=1 \
	--output="$E2E_TMP/small2.out" || { cat "$E2E_TMP/small2.out"; fail "verify of $small after the failures"; }
dd if=/dev/urandom of="$small" bs=4k count=16 oflag=direct status=none || fail "rewriting $small"

"$UBLKCTL" --json info "${big#/dev/ublkb}" >"$E2E_TMP/info.json" || fail "info $big"
jq -e '.memory_used >= 16*1048576 and .memory_used <= 32*1048576 and .tmpfs_free < 1048576 and .reserve == false' \
	"$E2E_TMP/info.json" >/dev/null || { cat "$E2E_TMP/info.json"; fail "memory_used/tmpfs_free of $big"; }
if "$UBLKCTL" add mem --size 16M --reserve 2>"$E2E_TMP/reserve.err"; then
	fail "add mem --reserve larger than the free tmpfs space succeeded"
fi
grep -q 'reserve: the device needs 16777216 bytes' "$E2E_TMP/reserve.err" ||
	{ cat "$E2E_TMP/reserve.err"; fail "the --reserve refusal does not say why"; }

"$UBLKCTL" del "${big#/dev/ublkb}" || fail "del $big"
note "with the space back, a reserved device takes its memory at once"
res=$("$UBLKCTL" add mem --size 16M --reserve) || fail "add mem --reserve after del"
require_blockdev "$res"
expect_eq "$("$UBLKCTL" --json info "${res#/dev/ublkb}" | jq '.memory_used >= 16*1048576 and .reserve')" true \
	"memory_used of a reserved device"
"$UBLKCTL" del --all || fail "del --all"
expect_eq "$(find "$state" -type f | wc -l)" 0 "files left in the state directory"
