/* RLIMIT_MEMLOCK for io_uring rings on kernels that still charge it. */
#include "config.h"
#include "daemon/memlock.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

/* Raises RLIMIT_MEMLOCK as far as allowed; logs when it stays limited. */
void memlock_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
	if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		log_debug("RLIMIT_MEMLOCK raised to unlimited");
		return;
	}
	int err = errno;

	getrlimit(RLIMIT_MEMLOCK, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_MEMLOCK, &rl);
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	log_warn("RLIMIT_MEMLOCK stays at %llu KiB (%s): io_uring setup may fail with "
		 "ENOMEM on older kernels; raise LimitMEMLOCK= in the unit or run as root",
		 (unsigned long long)rl.rlim_cur / 1024, strerror(err));
}
