/* The devices' state records: what a later daemon needs to take each
 * device over. A device that goes live (added or recovered) is written as
 * its device_add params plus what its backend saved (mem: its backing
 * file); a device whose kernel device is deleted loses its record. At
 * start, before the daemon serves its socket, every record is read back
 * through the same device_add parser and its device recovered; one that
 * cannot be is deleted from the kernel and its record moved aside, each
 * with one log line saying why. Kernel devices without a record are left
 * alone (another server may own them) and logged. */
#include "config.h"
#include "daemon/records.h"
#include "daemon/add_creds.h"
#include "daemon/add_spec.h"
#include "daemon/device_json.h"
#include "daemon/state.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One device being recovered. */
struct records_item {
	struct records_item *next;
	uint32_t id;
	struct json_object *record;	/* owned */
};

#define RECORDS_MAX_PURGE	64	/* unreadable records whose devices go */

static struct {
	struct records_item *pending;	/* read, not recovered yet */
	uint32_t purge[RECORDS_MAX_PURGE];	/* ids of unreadable records */
	unsigned npurge;
	unsigned running;		/* recoveries not answered yet */
	unsigned recovered, failed;
	void (*done)(void *arg);
	void *done_arg;
} records;

/* The sink a backend's save writes its values into: a JSON object. */
struct records_report {
	struct backend_report ops;	/* first: the backend sees only this */
	struct json_object *obj;
};

/* Adds a saved text value. */
static void records_text(struct backend_report *r, const char *key, const char *value)
{
	json_object_object_add(((struct records_report *)r)->obj, key,
			       json_object_new_string(value));
}

/* Adds a saved number, as text. */
static void records_number(struct backend_report *r, const char *key, uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	records_text(r, key, buf);
}

/* Adds a saved flag, as text. */
static void records_flag(struct backend_report *r, const char *key, bool value)
{
	records_text(r, key, value ? "true" : "false");
}

/* Adds a saved real number, as text. */
static void records_real(struct backend_report *r, const char *key, double value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.17g", value);
	records_text(r, key, buf);
}

/* Builds the record of a live device: {params: device_add's, flags: what
 * ADD_DEV answered (for whoever reads the record), saved: {...}}. */
static struct json_object *records_build(struct device *dev)
{
	struct records_report saved = {
		.ops = { records_text, records_number, records_flag, records_real },
		.obj = json_object_new_object(),
	};
	struct json_object *rec = json_object_new_object();
	struct json_object *params = json_object_new_object();
	struct device_view v;

	device_view(dev, &v);
	json_object_object_add(params, "backend", json_object_new_string(v.backend->name));
	json_object_object_add(params, "id", json_object_new_int64(v.id));
	json_object_object_add(params, "queues", json_object_new_int64(v.queues));
	json_object_object_add(params, "depth", json_object_new_int64(v.depth));
	json_object_object_add(params, "block_size", json_object_new_int64(v.geo->block_size));
	json_object_object_add(params, "read_only", json_object_new_boolean(v.read_only));
	json_object_object_add(params, "recovery",
			       json_object_new_string(device_recovery_name(v.recovery)));
	device_json_args(params, &v, true);
	device_save(dev, &saved.ops);
	json_object_object_add(rec, "params", params);
	json_object_object_add(rec, "owner_uid", json_object_new_int64(v.owner_uid));
	json_object_object_add(rec, "owner_gid", json_object_new_int64(v.owner_gid));
	json_object_object_add(rec, "flags", json_object_new_int64((int64_t)v.flags));
	json_object_object_add(rec, "saved", saved.obj);
	return rec;
}

/* Writes or removes a device's record as it goes live or goes. */
static void records_on_event(void *arg, struct device *dev, enum device_event ev)
{
	uint32_t id = device_id(dev);
	struct json_object *rec;
	struct device_view v;
	char err[256];

	(void)arg;
	if (ev == DEVICE_EV_GONE) {
		state_remove(id);
		return;
	}
	device_view(dev, &v);
	if (v.recovery == DEVICE_RECOVERY_NONE)
		return;	/* it dies with the daemon: nothing to recover */
	rec = records_build(dev);
	if (state_save(id, rec, err, sizeof(err)) < 0)
		log_error("device %u: cannot save its state record: %s; a restart will not "
			  "recover it", id, err);
	json_object_put(rec);
}

/* Prepares the records in state_dir and starts watching the devices. */
int records_init(const char *state_dir, char *err, size_t errlen)
{
	int ret = state_init(state_dir, err, errlen);

	if (ret == 0)
		device_observe(records_on_event, NULL);
	return ret;
}

/* Stops watching the devices and releases the records' directory. */
void records_shutdown(void)
{
	device_observe(NULL, NULL);
	state_shutdown();
}

/* Calls done once no recovery is pending or running. */
static void records_maybe_done(void)
{
	void (*done)(void *arg) = records.done;

	if (records.pending || records.running || !done)
		return;
	records.done = NULL;
	if (records.recovered || records.failed)
		log_info("recovery: %u device(s) recovered, %u could not be", records.recovered,
			 records.failed);
	done(records.done_arg);
}

/* A recovery ended: on failure the record is moved aside (the kernel device
 * is already deleted, if there was one). */
static void records_recovered(void *arg, struct device *dev, int err, const char *msg)
{
	struct records_item *item = arg;

	(void)dev;
	if (err) {
		log_error("device %u cannot be recovered: %s; its record is moved aside",
			  item->id, msg ? msg : strerror(-err));
		state_move_aside(item->id, msg ? msg : strerror(-err));
		records.failed++;
	} else {
		records.recovered++;
	}
	json_object_put(item->record);
	free(item);
	records.running--;
	records_maybe_done();
}

/* Reads the saved values of a record into saved (borrowed strings). */
static int records_saved(struct json_object *rec, struct backend_saved *saved, char *err,
			 size_t errlen)
{
	struct json_object *obj = NULL;
	unsigned n = 0;

	saved[0].key = NULL;
	if (!json_object_object_get_ex(rec, "saved", &obj))
		return 0;	/* the backend saved nothing */
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "saved: expected an object");
		return -EINVAL;
	}
	json_object_object_foreach(obj, key, val) {
		if (n >= BACKEND_MAX_SAVED || !json_object_is_type(val, json_type_string)) {
			snprintf(err, errlen, "saved: more than %d values, or one not a string",
				 BACKEND_MAX_SAVED);
			return -EINVAL;
		}
		saved[n].key = key;
		saved[n].value = json_object_get_string(val);
		n++;
	}
	saved[n].key = NULL;
	return 0;
}

/* Reads the owner of a record into spec (none: root, as records written
 * before owners were kept) and, for an owner other than root, opens the
 * backend's file with the owner's rights: a recovered device gives its
 * user no file it could not open itself. *fd is that file, or -1. */
static int records_owner(struct json_object *rec, struct device_spec *spec, int *fd,
			 char *err, size_t errlen)
{
	struct json_object *v;
	struct backend_arg *a;
	int64_t id[2] = { 0, 0 };
	const char *keys[2] = { "owner_uid", "owner_gid" };

	*fd = -1;
	for (int i = 0; i < 2; i++) {
		if (!json_object_object_get_ex(rec, keys[i], &v))
			continue;
		id[i] = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || id[i] < 0 || id[i] > UINT32_MAX - 1) {
			snprintf(err, errlen, "%s: expected a uid or gid", keys[i]);
			return -EINVAL;
		}
	}
	spec->owner_uid = (uint32_t)id[0];
	spec->owner_gid = (uint32_t)id[1];
	if (!spec->owner_uid || spec->path_index < 0 || !spec->args[spec->path_index].given)
		return 0;
	a = &spec->args[spec->path_index];
	*fd = add_creds_open_as(a->text, spec->cfg.read_only, spec->owner_uid, spec->owner_gid);
	if (*fd < 0) {
		snprintf(err, errlen, "%s: its owner, uid %u, cannot open it now: %s", a->text,
			 spec->owner_uid, strerror(-*fd));
		return *fd;
	}
	a->passed = true;
	a->fd = *fd;
	return 0;
}

static void records_purge(uint32_t id, bool ours_only);

/* Starts recovering one record's device, or moves the record aside. */
static void records_start(struct records_item *item)
{
	struct backend_saved saved[BACKEND_MAX_SAVED + 1];
	struct json_object *params = NULL;
	struct device_spec spec;
	char err[512] = "";
	int ret = -EINVAL, fd = -1;

	if (!json_object_object_get_ex(item->record, "params", &params))
		snprintf(err, sizeof(err), "no params");
	else if ((ret = add_spec_read(params, &spec, err, sizeof(err))) == 0 &&
		 spec.id != item->id) {
		snprintf(err, sizeof(err), "params give id %u", spec.id);
		ret = -EINVAL;
	}
	if (ret == 0 && spec.recovery == DEVICE_RECOVERY_NONE) {
		snprintf(err, sizeof(err), "recovery none");
		ret = -EINVAL;
	}
	if (ret == 0)
		ret = records_saved(item->record, saved, err, sizeof(err));
	if (ret == 0)
		ret = records_owner(item->record, &spec, &fd, err, sizeof(err));
	if (ret < 0) {
		log_error("device %u: its record cannot be used (%s); moved aside", item->id, err);
		state_move_aside(item->id, err);
		records.failed++;
		/* Its I/O would wait for this daemon forever: the kernel
		 * device goes, if it is the one the record was written for. */
		records_purge(item->id, true);
		json_object_put(item->record);
		free(item);
		return;
	}
	records.running++;
	log_info("device %u: recovering (%s backend)", item->id, spec.backend->name);
	device_recover(&spec, saved, records_recovered, item);
	if (fd >= 0)
		close(fd);	/* device_recover kept a copy */
}

/* Keeps a record found at start, in id order, for recovery: arg points at
 * the list's tail link. */
static void records_found(void *arg, uint32_t id, struct json_object *record)
{
	struct records_item ***tail = arg;
	struct records_item *item = calloc(1, sizeof(*item));

	if (!item) {
		log_error("device %u: out of memory for its recovery", id);
		return;
	}
	item->id = id;
	item->record = json_object_get(record);
	**tail = item;
	*tail = &item->next;
}

/* A kernel device without a usable record is deleted (or was not there). */
static void records_purged(void *arg, struct device *dev, int err, const char *msg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;

	(void)dev;
	if (err == -ENODEV)
		log_info("device %u: the kernel has no such device either", id);
	else if (err)
		log_error("device %u: cannot delete it from the kernel: %s", id,
			  msg ? msg : strerror(-err));
	records.running--;
	records_maybe_done();
}

/* Deletes kernel device id, which no usable record describes; with
 * ours_only only if it was added for recovery (a record's). */
static void records_purge(uint32_t id, bool ours_only)
{
	records.running++;
	device_purge(id, ours_only, records_purged, (void *)(uintptr_t)id);
}

/* A record that cannot be read (moved aside by the state store): its
 * device, named by the file, cannot be served again, so it is deleted. */
static void records_bad(void *arg, const char *file, const char *why)
{
	const char *base = strrchr(file, '/');
	unsigned id;
	char end;

	(void)arg;
	log_error("state record %s cannot be used (%s); moved aside", file, why);
	records.failed++;
	if (sscanf(base ? base + 1 : file, "ublkb%u.jso%c", &id, &end) != 2 || end != 'n')
		return;
	if (records.npurge < RECORDS_MAX_PURGE)
		records.purge[records.npurge++] = id;
	else
		log_error("device %u: too many unreadable records; left in the kernel", id);
}

/* Handles the kernel's ublk devices that have no record here: left alone
 * and logged (another server may own them), or with adopt deleted. */
static void records_orphans(bool adopt)
{
	DIR *d = opendir("/sys/class/ublk-char");
	struct dirent *e;
	unsigned id;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (sscanf(e->d_name, "ublkc%u", &id) != 1 || device_find(id))
			continue;
		if (adopt) {
			log_warn("device %u: the kernel has it and this daemon has no record of it; "
				 "deleting it (--adopt-orphans)", id);
			records_purge(id, false);
			continue;
		}
		log_warn("device %u: the kernel has it but this daemon has no record of it in "
			 "its state directory; leaving it alone (another server may own it)", id);
	}
	closedir(d);
}

/* Recovers every device with a record, deletes those whose record cannot
 * be read, and with adopt deletes kernel devices without a record; done(arg)
 * is called once all have ended (maybe before this returns). */
void records_recover_all(bool adopt, void (*done)(void *arg), void *arg)
{
	struct records_item **tail = &records.pending, *item;
	int n;

	records.done = done;
	records.done_arg = arg;
	records.npurge = 0;
	records.recovered = records.failed = 0;
	n = state_load_all(records_found, records_bad, &tail);
	if (n < 0)
		log_errno(n, "cannot read the state records");
	else if (n > 0)
		log_info("recovery: %d state record(s) found", n);
	while ((item = records.pending)) {
		records.pending = item->next;
		records_start(item);
	}
	for (unsigned i = 0; i < records.npurge; i++)
		if (!device_find(records.purge[i]))
			records_purge(records.purge[i], true);
	records_orphans(adopt);
	records_maybe_done();
}
