#!/bin/bash
# Four devices at once with different backends, sizes and block sizes; the
# JSON list matches; deleting one while fio runs on another disturbs nothing;
# del --all leaves no device nodes.
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
expect_eq "$(jq length "$E2E_TMP/list.json")" 4 "number of devices listed"
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

# fio with verify on d0 while d2 is deleted underneath.
fio --name=busy --filename="$d0" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k \
	--iodepth=16 --size=64M --verify=crc32c --verify_fatal=1 --time_based=0 \
	--output="$E2E_TMP/fio.out" &
fio_pid=$!
sleep 2
"$UBLKCTL" del 7 || fail "del 7 while fio runs"
[ ! -e /dev/ublkb7 ] || fail "/dev/ublkb7 still exists"
wait "$fio_pid" || { cat "$E2E_TMP/fio.out"; fail "fio on $d0 failed while another device was deleted"; }
expect_eq "$("$UBLKCTL" --json list | jq length)" 3 "devices after deleting one"

"$UBLKCTL" del --all || fail "del --all"
expect_eq "$("$UBLKCTL" --json list | jq length)" 0 "devices after del --all"
leftover=$(ls /dev/ | grep -E '^ublk[bc][0-9]+' || true)
[ -z "$leftover" ] || fail "device nodes left after del --all: $leftover"
