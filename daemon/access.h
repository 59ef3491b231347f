/* Who may do what through the control socket: the rules, kept apart from
 * the methods that apply them so they can be tested alone. uid 0 may do
 * anything; another uid never has the daemon open a path for it, changes
 * only the devices it added, and is held to a quota of devices and of
 * bytes of mem devices. Daemon-wide actions are root's (or, when ublkd
 * runs without root, its own user's). */
#ifndef UBLKD_ACCESS_H
#define UBLKD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The defaults of the quota (ublkd --max-user-devices, --max-user-mem). */
#define ACCESS_DEFAULT_MAX_DEVICES	8
#define ACCESS_DEFAULT_MAX_MEM		(1ULL << 30)

/* The quota of each uid but root's. */
struct access_quota {
	unsigned max_devices;	/* devices one uid may have at once */
	uint64_t max_mem;	/* bytes of mem devices one uid may have */
};

/* What one uid has now. */
struct access_usage {
	unsigned devices;
	uint64_t mem;
};

/* Sets the quota and the daemon's own uid (its euid). */
void access_init(const struct access_quota *quota, uint32_t self_uid);
/* The quota in force. */
const struct access_quota *access_quota(void);
/* True if uid may do anything (root). */
bool access_is_root(uint32_t uid);
/* True if uid may act on the whole daemon (shut it down): root, or the
 * daemon's own uid when the daemon is not root. */
bool access_daemon_wide(uint32_t uid);
/* True if uid may delete or change a device owned by owner. */
bool access_may_change(uint32_t uid, uint32_t owner);
/* Checks that uid may add one more device of mem bytes (0: not a mem
 * device) on top of use: 0, or -EDQUOT with a message naming the limit. */
int access_quota_check(uint32_t uid, const struct access_usage *use, uint64_t mem,
		       char *err, size_t errlen);

#endif
