/* The state record store: one JSON file per device, written atomically. */
#ifndef UBLKD_STATE_H
#define UBLKD_STATE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* The largest record read or written, in bytes. */
#define STATE_MAX_BYTES (64 * 1024)
/* The record format written by state_save and accepted by state_load_all. */
#define STATE_VERSION 1

/* Where records live: DIR/devices/ublkbID.json (DIR is ublkd's --state-dir).
 * Functions return 0 or -errno. */

/* Creates DIR/devices (0700) if missing (DIR must exist), opens it and
 * locks it (flock) until state_shutdown: -EBUSY, with a message naming
 * DIR, while another process (a second ublkd) holds it, so that two
 * daemons never recover, or delete, each other's devices. */
int state_init(const char *dir, char *err, size_t errlen);
/* Writes {"version":1,"id":ID, ...record's members...} atomically and
 * durably to ublkbID.json; record is not modified. -EFBIG over
 * STATE_MAX_BYTES. On a failure no .tmp is left and the old record stays,
 * except when only the last step, the fsync of the directory, fails: the
 * new record is then in place but may not survive a power loss. */
int state_save(uint32_t id, struct json_object *record, char *err, size_t errlen);
/* Removes the record of id; 0 also when there was none. */
int state_remove(uint32_t id);
/* Calls found(arg, id, record) for every readable record in id order (the
 * record is borrowed for the call), and bad(arg, file, why) for every file
 * that cannot be used: not JSON, truncated, not an object, no integer "id",
 * an id that does not match its name, a "version" other than 1, larger than
 * STATE_MAX_BYTES. A bad file is moved aside to NAME.bad (replacing an
 * older NAME.bad) so the next start does not meet it again; why says what
 * was wrong, and bad() logs it (the move itself is logged at debug level
 * only, or as an error when it fails). A file that cannot be read (EIO, EMFILE, ...) is reported
 * through bad() too but left in place: the error may pass. Stray files (*.tmp left by a crash, other names) are removed
 * (*.tmp) or ignored. Returns the number of records found, or -errno when
 * the directory cannot be read. */
int state_load_all(void (*found)(void *arg, uint32_t id, struct json_object *record),
		   void (*bad)(void *arg, const char *file, const char *why), void *arg);
/* Moves the record of id aside to ublkbID.json.bad (a record that can no
 * longer be used); the caller logs why (here only at debug level). */
int state_move_aside(uint32_t id, const char *why);
/* Frees what state_init set up. */
void state_shutdown(void);

#endif
