/* Fault-guarded copies for the mem backend. A SIGBUS raised by a guarded copy
 * whose faulting address lies in the guarded mapping jumps back out of the
 * copy, which then fails with -EIO; any other SIGBUS gets the default action
 * (the process dies with a core, as without the handler). The jump buffer is
 * saved without the signal mask (no system call per copy); the handler runs
 * with SA_NODEFER, so jumping out of it leaves SIGBUS unblocked. */
#include "config.h"
#include "backends/mem_guard.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* The copy in progress on this thread, if any. */
static __thread sigjmp_buf *guard_env;
static __thread uintptr_t guard_lo, guard_hi;

static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static int guard_init_err;

/* Leaves a guarded copy that faulted in its mapping; otherwise restores the
 * default action so the faulting instruction, run again, kills the process. */
static void mem_guard_on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t addr = (uintptr_t)si->si_addr;
	sigjmp_buf *env = guard_env;

	(void)ctx;
	if (env && addr >= guard_lo && addr < guard_hi) {
		guard_env = NULL;
		siglongjmp(*env, 1);
	}
	signal(sig, SIG_DFL);
}

/* Installs the handler (run once). */
static void mem_guard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = mem_guard_on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		guard_init_err = -errno;
}

/* Installs the SIGBUS handler once for the process: 0 or -errno. */
int mem_guard_init(void)
{
	pthread_once(&guard_once, mem_guard_install);
	return guard_init_err;
}

/* Copies len bytes, failing with -EIO on a fault inside [lo, lo + span). */
int mem_guard_copy(void *dst, const void *src, size_t len, const void *lo, size_t span)
{
	sigjmp_buf env;

	if (sigsetjmp(env, 0)) {
		atomic_signal_fence(memory_order_seq_cst);
		return -EIO;
	}
	guard_lo = (uintptr_t)lo;
	guard_hi = (uintptr_t)lo + span;
	atomic_signal_fence(memory_order_seq_cst);
	guard_env = &env;
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, src, len);
	atomic_signal_fence(memory_order_seq_cst);
	guard_env = NULL;
	return 0;
}
