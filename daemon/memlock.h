/* RLIMIT_MEMLOCK for io_uring rings on kernels that still charge it. */
#ifndef UBLKD_MEMLOCK_H
#define UBLKD_MEMLOCK_H

/* Raises RLIMIT_MEMLOCK as far as allowed; logs when it stays limited. */
void memlock_raise(void);

#endif
