/* The recovery modes a device may be added with: what each is called and
 * which UBLK_F_* flags ADD_DEV gets for it, one row each. */
#include "config.h"
#include "daemon/device.h"

#include <errno.h>
#include <string.h>

/* The recovery modes: name and ADD_DEV flags, one row each. */
static const struct {
	const char *name;
	uint64_t flags;
} device_recovery_modes[] = {
	[DEVICE_RECOVERY_NONE] = { "none", 0 },
	[DEVICE_RECOVERY_REISSUE] = { "reissue",
		UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE },
	[DEVICE_RECOVERY_FAIL_IO] = { "fail-io",
		UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_FAIL_IO },
};

/* Names a recovery mode. */
const char *device_recovery_name(enum device_recovery mode)
{
	return device_recovery_modes[mode].name;
}

/* Finds a recovery mode by name: 0, or -EINVAL. */
int device_recovery_parse(const char *name, enum device_recovery *mode)
{
	for (size_t i = 0; i < sizeof(device_recovery_modes) / sizeof(device_recovery_modes[0]); i++) {
		if (strcmp(device_recovery_modes[i].name, name) == 0) {
			*mode = (enum device_recovery)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The UBLK_F_* flags ADD_DEV is given for a recovery mode. */
uint64_t device_recovery_flags(enum device_recovery mode)
{
	return device_recovery_modes[mode].flags;
}
