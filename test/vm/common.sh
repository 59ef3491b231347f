# shellcheck shell=bash
# Helpers shared by the test/vm scripts. Sourced, never run.
#
# Everything downloaded or built lives under $UBLKD_VM_CACHE
# (default /var/cache/ublkd-vm), never in the source tree:
#   apt/FLAVOUR/      private apt sources list, lists and state for one suite
#                     (apt/kublk/: trixie + trixie-backports, bench/fetch-kublk)
#   FLAVOUR.kver      the kernel release last resolved for that flavour
#   debs/             downloaded kernel packages (and linux-source, liburing-dev)
#   kernels/KVER/     unpacked packages (root/), vmlinuz link, kver file
#   initramfs/        built initramfs images, KVER-HASH.cpio.gz
#   lock              flock(1) lock serialising downloads and builds

VM_CACHE=${UBLKD_VM_CACHE:-/var/cache/ublkd-vm}
VM_PROG=${VM_PROG:-ublkd-vm}

# Print a progress or error message on stderr, prefixed with the tool name.
vm_log() {
	printf '%s: %s\n' "$VM_PROG" "$*" >&2
}

# Print an error message and exit with status $VM_DIE_STATUS (default 1).
vm_die() {
	vm_log "error: $*"
	exit "${VM_DIE_STATUS:-1}"
}

# Check that a kernel flavour name is one we know; die otherwise.
vm_check_flavour() {
	case "$1" in
	stable | backports) ;;
	*) vm_die "unknown kernel '$1' (expected 'stable' or 'backports')" ;;
	esac
}

# Print the Debian suite that a kernel flavour is taken from.
vm_suite_of() {
	case "$1" in
	stable) echo trixie ;;
	backports) echo trixie-backports ;;
	esac
}

# Take the cache lock on file descriptor 9 (waits for other runs to finish
# downloading or building). The lock is released when the shell exits.
vm_lock_cache() {
	mkdir -p "$VM_CACHE" || vm_die "cannot create cache directory $VM_CACHE"
	exec 9>"$VM_CACHE/lock" || vm_die "cannot open $VM_CACHE/lock"
	flock 9 || vm_die "cannot lock $VM_CACHE/lock"
}

# Run apt-get or apt-cache ($2) with the private sources list and state of
# directory $1 (holding sources.list): the system's apt configuration and
# state are never read or changed.
vm_apt() {
	local aptdir=$1 tool=$2
	shift 2
	"$tool" -q \
		-o Dir::Etc::sourcelist="$aptdir/sources.list" \
		-o Dir::Etc::sourceparts=/dev/null \
		-o Dir::Etc::preferences=/dev/null \
		-o Dir::Etc::preferencesparts=/dev/null \
		-o Dir::State::Lists="$aptdir/lists" \
		-o Dir::State::status="$aptdir/status" \
		-o Dir::Cache="$aptdir/cache" \
		-o APT::Sandbox::User=root \
		"$@"
}
