#!/bin/bash
# Four devices at once with different backends, sizes and block sizes; the
# JSON list matches; every device is written at once with a pattern of its
# own and each reads back only its own (null: zeroes); deleting one while
# fio runs on another disturbs nothing; del --all leaves no device nodes.
# Then devices of block sizes 1024 and 2048 (ublkctl takes every size the
# daemon does), each with its sector size and only its own data.
. "$(dirname "$0")/lib.sh"
require_root
start_daemon

d0=$("$UBLKCTL" add mem --size 128M) || fail "add 1"
d1=$("$UBLKCTL" add null --size 1G --block-size 4096) || fail "add 2"
d2=$("$UBLKCTL" add mem --size 64M --block-size 4096 --id 7 --depth 64) || fail "add 3"
d3=$("$UBLKCTL" add mem --size 1T --queues 2) || fail "add 4 (1 TiB sparse)"
for d in "$d0" "$d1" "$d2" "$d3"; do require_blockdev "$d"; done
expect_eq "$d2" /dev/ublkb7 "device path for --id 7"

"$UBLKCTL" --json list > "$E2E_TMP/list.json" || fail "list --json"
expect_eq "$(jget -f "$E2E_TMP/list.json" length)" 4 "number of devices listed"
expect_eq "$(jq -r '.[] | select(.block_device=="'"$d1"'") | "\(.backend) \(.size) \(.block_size)"' "$E2E_TMP/list.json")" \
	"null 1073741824 4096" "null device in the list"
expect_eq "$(jq -r '.[] | select(.id==7) | "\(.backend) \(.size) \(.block_size) \(.depth) \(.state)"' "$E2E_TMP/list.json")" \
	"mem 67108864 4096 64 live" "device 7 in the list"
expect_eq "$(jq -r '.[] | select(.block_device=="'"$d3"'") | .size' "$E2E_TMP/list.json")" \
	1099511627776 "1 TiB device size"
for d in "$d0" "$d1" "$d2" "$d3"; do
	expect_eq "$(blockdev --getsize64 "$d")" \
		"$(jq -r '.[] | select(.block_device=="'"$d"'") | .size' "$E2E_TMP/list.json")" "size of $d"
done
expect_eq "$(blockdev --getss "$d2")" 4096 "logical block size of $d2"
expect_eq "$(blockdev --getss "$d0")" 512 "logical block size of $d0"
"$UBLKCTL" list | grep -q '^ *7 */dev/ublkb7 *mem *64M' || { "$UBLKCTL" list; fail "human list lacks device 7"; }

# Every device written at once, each with its own pattern (d3 also near
# its 1 TiB end), then each read back: only its own pattern (null: zeroes).
# Prints the fio options that write or verify pattern number $1 on $2 at $3.
pattern_job() {
	echo "--name=p$1 --filename=$2 --ioengine=io_uring --direct=1 --rw=write --bs=64k"
	echo "--iodepth=8 --offset=$3 --size=16M --verify=pattern --verify_pattern=0x13c0de0$1"
}
jobs=("1 $d0 0" "2 $d0 100M" "3 $d2 0" "4 $d3 0" "5 $d3 1023G")
pids=()
for j in "${jobs[@]}"; do
	set -- $j
	# shellcheck disable=SC2046 # pattern_job prints separate options
	fio $(pattern_job "$@") --do_verify=0 --output="$E2E_TMP/p$1.out" &
	pids+=($!)
done
dd if=/dev/urandom of="$d1" bs=64k count=256 oflag=direct status=none || fail "write to null $d1"
for p in "${pids[@]}"; do
	wait "$p" || { cat "$E2E_TMP"/p*.out; fail "pattern write (fio pid $p)"; }
done
for j in "${jobs[@]}"; do
	set -- $j
	# shellcheck disable=SC2046
	fio $(pattern_job "$@") --verify_only --verify_fatal=1 --output="$E2E_TMP/v$1.out" ||
		{ cat "$E2E_TMP/v$1.out"; fail "$2 at $3 does not read back pattern $1"; }
done
expect_eq "$(dd if="$d1" bs=64k count=256 iflag=direct status=none | tr -d '\0' | wc -c)" 0 \
	"non-zero bytes read from null $d1"
# Each device counted the requests it served (null: at least dd's 256
# writes and 256 reads), none of them from a wait in a ring (that is
# --wakeup ring-wait's: 64-main-ring-wait.sh).
for d in "$d0" "$d1" "$d2" "$d3"; do
	least=1
	[ "$d" != "$d1" ] || least=512
	c=$(io_counts "${d#/dev/ublkb}") || fail "cannot read the request counts of $d"
	read -r n w <<< "$c"
	[ "$n" -ge "$least" ] || fail "$d counted $n requests served, fewer than $least"
	expect_eq "$w" 0 "requests $d served in a ring wait"
done

# fio with verify on d0 while d2 is deleted underneath.
fio --name=busy --filename="$d0" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=16 --size=64M --verify=crc32c --verify_fatal=1 --time_based=0 \
	--output="$E2E_TMP/fio.out" &
fio_pid=$!
sleep 2
"$UBLKCTL" del 7 || fail "del 7 while fio runs"
[ ! -e /dev/ublkb7 ] || fail "/dev/ublkb7 still exists"
wait "$fio_pid" || { cat "$E2E_TMP/fio.out"; fail "fio on $d0 failed while another device was deleted"; }
expect_eq "$("$UBLKCTL" --json list | jget length)" 3 "devices after deleting one"

"$UBLKCTL" del --all || fail "del --all"
expect_eq "$("$UBLKCTL" --json list | jget length)" 0 "devices after del --all"
leftover=$(ls /dev/ | grep -E '^ublk[bc][0-9]+' || true)
[ -z "$leftover" ] || fail "device nodes left after del --all: $leftover"

# Every logical block size the daemon takes, 512 to 4096, from ublkctl:
# devices of 1024 and 2048 side by side, each with its sector size and
# only its own data.
b1=$("$UBLKCTL" add mem --size 16M --block-size 1024) || fail "add --block-size 1024"
b2=$("$UBLKCTL" add mem --size 16M --block-size 2048) || fail "add --block-size 2048"
require_blockdev "$b1"
require_blockdev "$b2"
expect_eq "$(blockdev --getss "$b1") $(blockdev --getss "$b2")" "1024 2048" "logical block sizes"
write_patterns 3 "$b1" "$b2"
check_patterns 3 "with block sizes 1024 and 2048" "$b1" "$b2"
"$UBLKCTL" del --all || fail "del --all of the block-size devices"
