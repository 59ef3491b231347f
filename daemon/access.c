/* Who may do what through the control socket (access.h). */
#include "config.h"
#include "daemon/access.h"

#include <errno.h>
#include <stdio.h>

static struct {
	struct access_quota quota;
	uint32_t self;
} access_state = {
	.quota = { ACCESS_DEFAULT_MAX_DEVICES, ACCESS_DEFAULT_MAX_MEM },
};

/* Sets the quota and the daemon's own uid. */
void access_init(const struct access_quota *quota, uint32_t self_uid)
{
	access_state.quota = *quota;
	access_state.self = self_uid;
}

/* The quota in force. */
const struct access_quota *access_quota(void)
{
	return &access_state.quota;
}

/* True if uid may do anything. */
bool access_is_root(uint32_t uid)
{
	return uid == 0;
}

/* True if uid may act on the whole daemon. */
bool access_daemon_wide(uint32_t uid)
{
	return uid == 0 || uid == access_state.self;
}

/* True if uid may delete or change a device owned by owner. */
bool access_may_change(uint32_t uid, uint32_t owner)
{
	return uid == 0 || uid == owner;
}

/* Checks uid's quota for one more device of mem bytes. */
int access_quota_check(uint32_t uid, const struct access_usage *use, uint64_t mem,
		       char *err, size_t errlen)
{
	const struct access_quota *q = &access_state.quota;

	if (access_is_root(uid))
		return 0;
	if (use->devices >= q->max_devices) {
		snprintf(err, errlen, "quota: uid %u has %u device(s), the most a user may have "
			 "(ublkd --max-user-devices %u); delete one first", uid, use->devices,
			 q->max_devices);
		return -EDQUOT;
	}
	if (mem && (mem > q->max_mem || use->mem > q->max_mem - mem)) {
		snprintf(err, errlen, "quota: uid %u has %llu bytes of mem devices; %llu more "
			 "would pass the limit of %llu (ublkd --max-user-mem)", uid,
			 (unsigned long long)use->mem, (unsigned long long)mem,
			 (unsigned long long)q->max_mem);
		return -EDQUOT;
	}
	return 0;
}
