/* The devices' state records (records.c): written as devices go live,
 * removed as they go, read back at start to recover every device. */
#ifndef UBLKD_RECORDS_H
#define UBLKD_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/device.h"

/* Prepares the records in state_dir (its devices/ directory) and starts
 * watching the devices: 0, or -errno with a message. */
int records_init(const char *state_dir, char *err, size_t errlen);
/* Stops watching the devices and releases the records' directory. */
void records_shutdown(void);
/* Recovers every device with a record, deletes the kernel devices whose
 * record cannot be read, and with adopt those without a record; done(arg)
 * is called once all have ended (maybe before this returns). */
void records_recover_all(bool adopt, void (*done)(void *arg), void *arg);

#endif
