# shellcheck shell=bash
# creds-lib.sh: two users of the socket group for the tests of who may do
# what, sourced after lib.sh.
#
#   as UID COMMAND...                  run as UID in the socket group only
#   ctl UID ARGS...                    ublkctl ARGS as UID, stderr to $E2E_TMP/err
#   expect_refused UID FRAGMENT ARGS...  ublkctl ARGS as UID fails with FRAGMENT

command -v setpriv > /dev/null || fail "setpriv is missing (package util-linux)"

# shellcheck disable=SC2034 # ub: the second user, for the tests that use it
ua=2001 ub=2002 grp=users
gid=$(getent group "$grp" | cut -d: -f3) || fail "no group $grp in the guest"

# Runs a command as uid $1 in the socket group, with nothing else.
as() {
	local uid=$1
	shift
	setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all \
		env UBLKD_SOCKET="$UBLKD_SOCKET" "$@"
}
# Runs ublkctl as uid $1; its stderr goes to $E2E_TMP/err.
ctl() {
	local uid=$1
	shift
	as "$uid" "$UBLKCTL" "$@" 2> "$E2E_TMP/err"
}
# Expects ublkctl as uid $1 ARGS... to fail with FRAGMENT ($2) on stderr.
expect_refused() {
	local uid=$1 fragment=$2 st=0
	shift 2
	ctl "$uid" "$@" > /dev/null || st=$?
	expect_eq "$st" 1 "exit status of ublkctl $* as uid $uid"
	grep -qF -- "$fragment" "$E2E_TMP/err" ||
		{ cat "$E2E_TMP/err"; fail "ublkctl $* as uid $uid: no '$fragment' in the error"; }
}
