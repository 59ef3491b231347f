#!/bin/bash
# ublkd --user-copy auto (the default): mem devices are added with
# UBLK_F_USER_COPY (Linux 6.5+, so on every kernel the suite boots), and
# the kernel copies each READ and WRITE straight between the request's
# pages and the device's tmpfs mapping (pwrite and pread on /dev/ublkcN):
# one copy instead of two through the daemon's buffers. user_copy says so.
# null devices take it where they are not zero copy (6.12; e2e 27 checks
# their reads), file devices never.
# Four mem devices at once (one with 2 queues, one --reserve, one written
# only sparsely so its reads mix holes and data) are written with fio
# crc32c verification (4 KiB at depth 1 and 32, 128 KiB sequential), each
# reads back only its own pattern. A read of a mostly-hole region returns
# zeroes. SIGKILL under load, a new daemon with --user-copy off and
# --io-threads 2: the devices keep user copy (the kernel device keeps its
# flags), now on io threads, and their data; a mem device added by that
# daemon copies (user_copy false) and holds its data too. SIGTERM under
# load deletes them all.
. "$(dirname "$0")/lib.sh"
require_root

expect_refused "--user-copy: 'sometimes' is not auto or off" --user-copy sometimes

fs=$E2E_TMP/fs
scratch_fs "$fs" ext4 256M
start_daemon
uc=$(driver_has 7)	# UBLK_F_USER_COPY
expect_eq "$uc" true "UBLK_F_USER_COPY in the driver of kernel $(uname -r)"
zc=$(driver_has 11)	# UBLK_F_AUTO_BUF_REG: null devices are zero copy

m0=$("$UBLKCTL" add mem --size 128M --queues 2) || fail "add mem m0"
m1=$("$UBLKCTL" add mem --size 128M) || fail "add mem m1"
m2=$("$UBLKCTL" add mem --size 128M --reserve) || fail "add mem m2"
m3=$("$UBLKCTL" add mem --size 128M) || fail "add mem m3"
n0=$("$UBLKCTL" add null --size 128M) || fail "add null"
f0=$("$UBLKCTL" add file --path "$fs/f.img" --size 64M) || fail "add file"
devs=("$m0" "$m1" "$m2" "$m3")
for d in "${devs[@]}" "$n0" "$f0"; do
	require_blockdev "$d"
done

# Prints the user_copy field of device $1.
user_copy_of() { info_field "${1#/dev/ublkb}" user_copy; }
for d in "${devs[@]}"; do
	expect_eq "$(user_copy_of "$d")" true "user_copy of mem device $d"
	expect_flag "$d" 7 true UBLK_F_USER_COPY
done
if [ "$zc" = true ]; then nuc=false; else nuc=true; fi
expect_eq "$(user_copy_of "$n0")" "$nuc" "user_copy of null device $n0 (zero copy $zc)"
expect_flag "$n0" 7 "$nuc" UBLK_F_USER_COPY
expect_eq "$(user_copy_of "$f0")" false "user_copy of file device $f0"
expect_flag "$f0" 7 false UBLK_F_USER_COPY

# Every device at once, each in its own regions; m3 gets only its 4 KiB
# jobs, so its reads below cross holes.
for i in 0 1 2; do
	d=${devs[i]}
	fio_bg "d$i-qd1" "$d" --rw=randwrite --bs=4k --iodepth=1 --offset=0 --size=2M
	fio_bg "d$i-qd32" "$d" --rw=randwrite --bs=4k --iodepth=32 --offset=16M --size=8M
	fio_bg "d$i-seq" "$d" --rw=write --bs=128k --iodepth=8 --offset=64M --size=8M
done
fio_bg "d3-sparse" "$m3" --rw=randwrite --bs=4k --iodepth=32 --offset=16M --size=16M \
	--number_ios=512
fio_wait "the first round"

# Every other 4 KiB block of 1 MiB at 100 MiB on m3, then one read of it
# all: pages of data and holes in every request.
head -c 4096 /dev/urandom > "$E2E_TMP/blk"
for ((b = 0; b < 256; b += 2)); do
	dd if="$E2E_TMP/blk" of="$m3" bs=4096 seek=$((100 * 256 + b)) oflag=direct status=none ||
		fail "writing block $b of m3"
done
dd if="$m3" of="$E2E_TMP/mixed" bs=1M skip=100 count=1 iflag=direct status=none ||
	fail "reading the mixed region of m3"
for ((b = 0; b < 256; b++)); do
	if ((b % 2)); then
		cmp -s -n 4096 -i $((b * 4096)):0 "$E2E_TMP/mixed" /dev/zero ||
			fail "m3: block $b, never written, does not read as zeroes"
	else
		cmp -s -n 4096 -i $((b * 4096)):0 "$E2E_TMP/mixed" "$E2E_TMP/blk" ||
			fail "m3: block $b does not read what was written"
	fi
done

write_patterns 40 "${devs[@]}"
check_patterns 40 "after the first round" "${devs[@]}"

# SIGKILL under load; a new daemon with --user-copy off recovers them onto
# its io threads as the kernel keeps them, user copy included.
restart_under_load "--user-copy off --io-threads 2" "${devs[@]}"
for d in "${devs[@]}"; do
	expect_eq "$(user_copy_of "$d")" true "user_copy of $d after the recovery"
	expect_on_io_threads "$d" " after the recovery"
done
fio_wait "the SIGKILL and recovery"
check_patterns 40 "after the recovery" "${devs[@]}"

# A device this daemon adds copies through its buffers, and works.
m4=$("$UBLKCTL" add mem --size 64M) || fail "add mem m4 with --user-copy off"
require_blockdev "$m4"
expect_eq "$(user_copy_of "$m4")" false "user_copy of $m4 from a daemon with --user-copy off"
fio_bg "m4" "$m4" --rw=randwrite --bs=4k --iodepth=32 --size=16M
fio_bg "m0-again" "$m0" --rw=randwrite --bs=4k --iodepth=32 --offset=16M --size=16M
fio_wait "a copying and a user-copy device side by side"
all=("${devs[@]}" "$m4")
write_patterns 48 "${all[@]}"
check_patterns 48 "with a copying device beside them" "${all[@]}"

sigterm_under_load "${all[@]}" "$n0" "$f0"
! grep -E 'command refused|outside the device or buffer|fails with EIO' "$E2E_DAEMON_LOG" ||
	fail "the daemon logged user-copy errors"
