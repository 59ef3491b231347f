/* Copies to and from a shared file mapping that fail, instead of killing the
 * daemon, when the mapping faults (SIGBUS: the file was truncated under it,
 * or its file system could not supply a page). */
#ifndef UBLKD_MEM_GUARD_H
#define UBLKD_MEM_GUARD_H

#include <stddef.h>

/* Installs the SIGBUS handler once for the process: 0 or -errno. */
int mem_guard_init(void);
/* Copies len bytes from src to dst, where the mapping [lo, lo + span) may
 * fault: 0, or -EIO when a fault inside it stopped the copy (dst then holds
 * part of the data). A fault elsewhere kills the process as SIGBUS would. */
int mem_guard_copy(void *dst, const void *src, size_t len, const void *lo, size_t span);

#endif
