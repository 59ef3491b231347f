#!/bin/bash
# Every bad input gets a clear error, and the daemon keeps serving.
# Run on the stable kernel only: what it checks (input checks in the daemon)
# lies above the ublk driver (test/e2e/run-suite).
# e2e-kernels: stable
. "$(dirname "$0")/lib.sh"
require_root
start_daemon

# Sends a request and checks the error code and a fragment of the message.
expect_error() {
	local line=$1 code=$2 fragment=$3 reply
	reply=$(rpc_raw "$line") || fail "no reply to: $line"
	expect_eq "$(jget .error.code <<< "$reply")" "$code" "error code for $line ($reply)"
	jget .error.message <<< "$reply" | grep -qF -- "$fragment" ||
		fail "message for $line lacks '$fragment': $reply"
}

req() { printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s}' "$1" "$2"; }

expect_error '{"jsonrpc":"2.0","id":1,"method":' -32700 ""
expect_error 'hello' -32700 ""
expect_error '[1,2]' -32600 "batch"
expect_error '{"jsonrpc":"2.0","id":1}' -32600 "method"
expect_error "$(req no_such_method '{}')" -32601 "no_such_method"
expect_error "$(req device_add '{}')" -32602 "backend"
expect_error "$(req device_add '{"backend":"tape","size":1048576}')" -32602 "unknown backend 'tape'"
expect_error "$(req device_add '{"backend":"mem"}')" -32602 "size: required"
expect_error "$(req device_add '{"backend":"mem","size":0}')" -32602 "size: must be greater than 0"
expect_error "$(req device_add '{"backend":"mem","size":1000}')" -32602 "not a multiple of the block size 512"
expect_error "$(req device_add '{"backend":"mem","size":1049088,"block_size":4096}')" \
	-32602 "not a multiple of the block size 4096"
expect_error "$(req device_add '{"backend":"mem","size":"big"}')" -32602 "size"
expect_error "$(req device_add '{"backend":"mem","size":-5}')" -32602 "size"
expect_error "$(req device_add '{"backend":"mem","size":1048576,"depth":0}')" -32602 "depth"
expect_error "$(req device_add '{"backend":"mem","size":1048576,"depth":4097}')" -32602 "depth"
expect_error "$(req device_add '{"backend":"mem","size":1048576,"block_size":1000}')" -32602 "block_size"
expect_error "$(req device_add '{"backend":"mem","size":1048576,"colour":"red"}')" -32602 "colour: unknown parameter"
expect_error "$(req device_add '{"backend":"mem","size":1048576,"path":"/x"}')" -32602 "path: unknown parameter for the mem backend"
# A backend's own parameters come from its declaration: a misspelt one is
# named, with the list the zip backend accepts.
expect_error "$(req device_add '{"backend":"zip","path":"/x.zip","chunk":"1M"}')" -32602 \
	"chunk: unknown parameter for the zip backend (expected backend, id, queues, depth, block_size, read_only, recovery, path, entry, chunk_size, cache_limit)"
expect_error "$(req device_add '{"backend":"zip","path":"/x.zip","chunk_size":"1K"}')" -32602 \
	"chunk_size: 1024 is out of range"
expect_error "$(req device_del '{"id":4242}')" -32001 "no such device"
expect_error "$(req device_info '{"id":4242}')" -32001 "no such device"
expect_error "$(req device_info '{}')" -32602 "id: required"

# Duplicate id.
dev=$("$UBLKCTL" add mem --size 16M --id 3) || fail "add --id 3"
require_blockdev "$dev"
expect_error "$(req device_add '{"backend":"mem","size":1048576,"id":3}')" -32002 "already exists"

# ublkctl turns errors into messages and exit statuses.
set +e
"$UBLKCTL" add mem --size 0 2> "$E2E_TMP/err"; st=$?
set -e
expect_eq "$st" 1 "exit status of add --size 0"
grep -q 'size' "$E2E_TMP/err" || fail "ublkctl error message lacks 'size': $(cat "$E2E_TMP/err")"
set +e
"$UBLKCTL" info 999 2> "$E2E_TMP/err"; st=$?
"$UBLKCTL" add 2> /dev/null; st2=$?
set -e
expect_eq "$st" 1 "exit status of info on an unknown id"
grep -q 'no such device' "$E2E_TMP/err" || fail "ublkctl info 999: $(cat "$E2E_TMP/err")"
expect_eq "$st2" 2 "exit status of a usage error"

# A line over the 1 MiB cap closes only that connection.
head -c 1100000 /dev/zero | tr '\0' 'x' > "$E2E_TMP/huge"
reply=$( (cat "$E2E_TMP/huge"; echo) | socat -t 30 - "UNIX-CONNECT:$UBLKD_SOCKET" || true)
expect_eq "$(jget .error.code <<< "$reply")" -32600 "error code for an oversized line"
"$UBLKCTL" list > /dev/null || fail "daemon stopped answering after an oversized line"

# A client that disconnects in the middle of device_add leaves no half-made device.
printf '%s\n' "$(req device_add '{"backend":"mem","size":33554432,"id":9}')" |
	socat -t 0 - "UNIX-CONNECT:$UBLKD_SOCKET" || true
# Give the daemon time to finish what it started, then check the result is whole.
for _ in $(seq 100); do
	state=$("$UBLKCTL" --json list | jq -r '.[] | select(.id==9) | .state')
	[ "$state" = starting ] || break
	sleep 0.1
done
case "$state" in
"") note "device_add was abandoned before it started" ;;
live) require_blockdev /dev/ublkb9
      dd if=/dev/ublkb9 of=/dev/null bs=1M count=1 iflag=direct status=none || fail "device 9 is not usable" ;;
*) fail "device 9 left in state '$state' after its client disconnected" ;;
esac

# Still serving: a new device works end to end.
dev=$("$UBLKCTL" add mem --size 16M) || fail "add after bad inputs"
require_blockdev "$dev"
echo hello | dd of="$dev" bs=4k conv=sync oflag=direct status=none
expect_eq "$(dd if="$dev" bs=4k count=1 iflag=direct status=none | tr -d '\0')" hello "data read back"
"$UBLKCTL" del --all || fail "del --all"
