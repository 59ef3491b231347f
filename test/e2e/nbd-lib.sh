# shellcheck shell=bash
# nbd-lib.sh: NBD servers for the nbd backend's tests, sourced after lib.sh.
# Servers listen on 127.0.0.1 (the guest's init brings lo up) and are killed
# at exit.
#
#   nbd_serve NAME PORT COMMAND...   start a server (nbdkit or qemu-nbd
#                                    ARGS, listening on PORT) and wait for it
#                                    (NBD_EXPORT names the export probed,
#                                    NBD_PROBE_URL the whole URL)
#   nbd_kill NAME                    SIGKILL it (mid-run failures)
#   nbd_add ARGS...                  ublkctl add nbd ARGS..., once more if
#                                    the server went silent (see below)
#   nbd_allocated URL                bytes the export has allocated
#                                    (nbdinfo --map: not hole, not zero)

declare -A NBD_PIDS=()

# Starts server NAME: COMMAND... in the background; waits until PORT answers.
nbd_serve() {
	local name=$1 port=$2
	shift 2
	command -v "$1" > /dev/null || skip "$1 is not installed (test/install-deps)"
	"$@" > "$E2E_TMP/server-$name.log" 2>&1 &
	NBD_PIDS[$name]=$!
	on_exit "nbd_kill $name"
	on_exit "_nbd_log_on_failure $name"
	wait_for "nbdinfo --size '${NBD_PROBE_URL:-nbd://127.0.0.1:$port/${NBD_EXPORT:-}}' > /dev/null 2>&1" 20 0.2 ||
		{ cat "$E2E_TMP/server-$name.log"; fail "server $name did not answer on port $port"; }
}

# Teardown hook: if the test failed, say whether server NAME still ran and
# show the end of its log (a server that died or stopped answering is
# otherwise invisible behind the daemon's "connection refused").
_nbd_log_on_failure() {
	local name=$1 pid=${NBD_PIDS[$1]:-}
	[ "$E2E_STATUS" -ne 0 ] || return 0
	if [ -z "$pid" ]; then
		echo "---- server $name: stopped by the test ----" >&2
	elif kill -0 "$pid" 2> /dev/null; then
		echo "---- server $name (pid $pid): running; threads $(ls /proc/"$pid"/task | wc -l), fds $(ls /proc/"$pid"/fd | wc -l) ----" >&2
	else
		local st=0
		wait "$pid" 2> /dev/null || st=$?
		echo "---- server $name (pid $pid): EXITED with status $st ----" >&2
	fi
	tail -n 20 "$E2E_TMP/server-$name.log" >&2 2> /dev/null || true
	return 0
}

# Prints the device of `ublkctl add nbd ARGS...`. An add that failed only
# because the server took the connection and then sent not one byte (TCP
# counted none received: the server's stall, not ours) is noted and made
# once more; any other failure, among them bytes that arrived and were left
# unread, stands.
nbd_add() {
	local err=$E2E_TMP/nbd-add.err
	"$UBLKCTL" add nbd "$@" 2> "$err" && return 0
	if grep -q "no answer to the handshake.*TCP: 0 bytes received" "$err"; then
		note "the server sent nothing on a connection it took; adding again: $(cat "$err")" >&2
		"$UBLKCTL" add nbd "$@"
		return
	fi
	cat "$err" >&2
	return 1
}

# Kills server NAME and waits for it.
nbd_kill() {
	local pid=${NBD_PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2> /dev/null || true
	wait "$pid" 2> /dev/null || true
	NBD_PIDS[$1]=
}

# Prints the bytes of an export that are allocated and not known zero.
nbd_allocated() {
	nbdinfo --map --totals "$1" | awk '$3 == 0 || $4 == "data" { s += $1 } END { print s + 0 }'
}
