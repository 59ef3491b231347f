/* The state record store: one JSON file per device under DIR/devices. */
#include "config.h"
#include "daemon/state.h"
#include "common/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room for "ublkb" + 10 digits + ".json.tmp" or ".json.bad". */
#define NAME_LEN 32

/* What a directory entry is to the store. */
enum name_kind { NAME_OTHER, NAME_RECORD, NAME_TMP };

static int state_fd = -1;	/* DIR/devices, open between state_init and state_shutdown */
static char *state_path;	/* DIR/devices, for messages */

/* Formats the file name of id's record, followed by suffix. */
static void record_name(char *buf, uint32_t id, const char *suffix)
{
	snprintf(buf, NAME_LEN, "ublkb%" PRIu32 ".json%s", id, suffix);
}

/* Fills err with the message, logs it as an error and returns ret. */
__attribute__((format(printf, 4, 5)))
static int fail(int ret, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	log_error("state: %s", err);
	return ret;
}

/* Creates a directory (0700) unless it exists. */
static int make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	int ret = -errno;

	return fail(ret, err, errlen, "cannot create %s: %s", path, strerror(-ret));
}

/* Locks the open DIR/devices (fd) for this process: 0, -EBUSY when another
 * process holds it, or another -errno. */
static int lock_dir(int fd, const char *dir, const char *path, char *err, size_t errlen)
{
	int ret;

	/* LOCK_NB never sleeps, so no EINTR to retry. */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	ret = -errno;
	if (ret == -EWOULDBLOCK)
		return fail(-EBUSY, err, errlen,
			    "another ublkd uses the state directory %s (it holds the lock on %s); "
			    "each daemon needs a --state-dir of its own", dir, path);
	return fail(ret, err, errlen, "cannot lock %s: %s", path, strerror(-ret));
}

/* Creates DIR/devices (0700) if missing, opens it and locks it. */
int state_init(const char *dir, char *err, size_t errlen)
{
	char *path;
	int ret;

	state_shutdown();
	if (asprintf(&path, "%s/devices", dir) < 0)
		return fail(-ENOMEM, err, errlen, "out of memory");
	ret = make_dir(path, err, errlen);	/* DIR is main's, with its mode */
	if (ret == 0) {
		state_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (state_fd < 0) {
			ret = -errno;
			fail(ret, err, errlen, "cannot open %s: %s", path, strerror(-ret));
		}
	}
	if (ret == 0) {
		ret = lock_dir(state_fd, dir, path, err, errlen);
		if (ret < 0) {
			close(state_fd);
			state_fd = -1;
		}
	}
	if (ret < 0) {
		free(path);
		return ret;
	}
	state_path = path;
	log_debug("state: records in %s", path);
	return 0;
}

/* Writes all of buf to fd, looping on short writes. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes text to the new file tmp and makes its contents durable. */
static int write_tmp(const char *tmp, const char *text, size_t len)
{
	int fd = openat(state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret;

	if (fd < 0)
		return -errno;
	ret = write_all(fd, text, len);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	return ret;
}

/* Builds the record as stored: version and id, then the caller's other members. */
static struct json_object *record_copy(uint32_t id, struct json_object *record)
{
	struct json_object *copy = json_object_new_object();

	if (!copy)
		return NULL;
	json_object_object_add(copy, "version", json_object_new_int(STATE_VERSION));
	json_object_object_add(copy, "id", json_object_new_int64(id));
	json_object_object_foreach(record, key, val) {
		if (strcmp(key, "version") != 0 && strcmp(key, "id") != 0)
			json_object_object_add(copy, key, json_object_get(val));
	}
	return copy;
}

/* Writes {"version":1,"id":ID, ...record's members...} atomically and durably. */
int state_save(uint32_t id, struct json_object *record, char *err, size_t errlen)
{
	char name[NAME_LEN], tmp[NAME_LEN];
	struct json_object *copy;
	const char *text;
	size_t len;
	int ret;

	record_name(name, id, "");
	record_name(tmp, id, ".tmp");
	if (state_fd < 0)
		return fail(-EBADF, err, errlen, "%s: the state store is not open", name);
	if (!json_object_is_type(record, json_type_object))
		return fail(-EINVAL, err, errlen, "%s: the record is not a JSON object", name);
	copy = record_copy(id, record);
	text = copy ? json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PLAIN) : NULL;
	if (!text) {
		json_object_put(copy);
		return fail(-ENOMEM, err, errlen, "%s: out of memory", name);
	}
	len = strlen(text);
	if (len > STATE_MAX_BYTES) {
		json_object_put(copy);
		return fail(-EFBIG, err, errlen, "%s: the record has %zu bytes, more than %d",
			    name, len, STATE_MAX_BYTES);
	}
	ret = write_tmp(tmp, text, len);
	json_object_put(copy);
	if (ret < 0) {
		unlinkat(state_fd, tmp, 0);
		return fail(ret, err, errlen, "cannot write %s/%s: %s", state_path, tmp, strerror(-ret));
	}
	if (renameat(state_fd, tmp, state_fd, name) < 0) {
		ret = -errno;
		unlinkat(state_fd, tmp, 0);
		return fail(ret, err, errlen, "cannot rename %s/%s to %s: %s",
			    state_path, tmp, name, strerror(-ret));
	}
	if (fsync(state_fd) < 0) {
		ret = -errno;
		return fail(ret, err, errlen, "cannot sync %s after writing %s: %s",
			    state_path, name, strerror(-ret));
	}
	log_debug("state: saved %s/%s (%zu bytes)", state_path, name, len);
	return 0;
}

/* Removes the record of id; 0 also when there was none. */
int state_remove(uint32_t id)
{
	char name[NAME_LEN], err[256];
	int ret;

	record_name(name, id, "");
	if (state_fd < 0)
		return fail(-EBADF, err, sizeof(err), "%s: the state store is not open", name);
	if (unlinkat(state_fd, name, 0) < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return 0;
		return fail(ret, err, sizeof(err), "cannot remove %s/%s: %s",
			    state_path, name, strerror(-ret));
	}
	if (fsync(state_fd) < 0) {
		ret = -errno;
		return fail(ret, err, sizeof(err), "cannot sync %s after removing %s: %s",
			    state_path, name, strerror(-ret));
	}
	log_debug("state: removed %s/%s", state_path, name);
	return 0;
}

/* Renames name to name.bad, replacing an older one. Logged at debug level
 * only: the caller logs why, in the one line the record gets (records.c). */
static int move_aside(const char *name, const char *why)
{
	char bad[NAME_LEN + 4], err[256];
	int ret;

	snprintf(bad, sizeof(bad), "%s.bad", name);
	if (renameat(state_fd, name, state_fd, bad) < 0 || fsync(state_fd) < 0) {
		ret = -errno;
		return fail(ret, err, sizeof(err), "cannot move %s/%s aside (%s): %s",
			    state_path, name, why, strerror(-ret));
	}
	log_debug("state: %s/%s moved aside to %s: %s", state_path, name, bad, why);
	return 0;
}

/* Moves the record of id aside to ublkbID.json.bad, logging why. */
int state_move_aside(uint32_t id, const char *why)
{
	char name[NAME_LEN];

	if (state_fd < 0)
		return -EBADF;
	record_name(name, id, "");
	return move_aside(name, why);
}

/* Says what a directory entry is; sets *id for a record. */
static enum name_kind name_kind(const char *name, uint32_t *id)
{
	size_t len = strlen(name);
	char canon[NAME_LEN];
	unsigned long long v;

	if (len > 4 && strcmp(name + len - 4, ".tmp") == 0)
		return NAME_TMP;
	if (strncmp(name, "ublkb", 5) != 0 || !isdigit((unsigned char)name[5]))
		return NAME_OTHER;
	errno = 0;
	v = strtoull(name + 5, NULL, 10);
	if (errno || v > UINT32_MAX)
		return NAME_OTHER;
	record_name(canon, (uint32_t)v, "");
	if (strcmp(name, canon) != 0)	/* ublkb05.json, ublkb5.json.bad, ... */
		return NAME_OTHER;
	*id = (uint32_t)v;
	return NAME_RECORD;
}

/* Orders ids for qsort. */
static int id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Lists the records' ids in order into *ids and removes *.tmp files; returns the count or -errno. */
static int list_records(uint32_t **ids)
{
	int fd = openat(state_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	uint32_t id;
	int ret = 0;

	*ids = NULL;
	if (!d) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		log_error("state: cannot read %s: %s", state_path, strerror(-ret));
		return ret;
	}
	while (ret == 0 && (errno = 0, de = readdir(d))) {
		enum name_kind kind = name_kind(de->d_name, &id);

		if (kind == NAME_TMP && unlinkat(state_fd, de->d_name, 0) == 0)
			log_info("state: removed %s/%s, left by an interrupted write",
				 state_path, de->d_name);
		if (kind != NAME_RECORD)
			continue;
		if (n == cap) {
			uint32_t *more = realloc(*ids, (cap = cap ? 2 * cap : 16) * sizeof(**ids));

			if (!more) {
				ret = -ENOMEM;
				break;
			}
			*ids = more;
		}
		(*ids)[n++] = id;
	}
	if (ret == 0 && errno) {
		ret = -errno;
		log_error("state: cannot read %s: %s", state_path, strerror(-ret));
	}
	closedir(d);
	if (ret < 0) {
		free(*ids);
		*ids = NULL;
		return ret;
	}
	if (n > 1)	/* qsort of a NULL array is undefined, even of 0 items */
		qsort(*ids, n, sizeof(**ids), id_cmp);
	return (int)n;
}

/* Reads at most STATE_MAX_BYTES + 1 bytes of name into buf; returns the length or -errno. */
static ssize_t read_bounded(const char *name, char *buf)
{
	int fd = openat(state_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len = 0;
	int ret = 0;

	if (fd < 0)
		return -errno;
	while (len < STATE_MAX_BYTES + 1) {
		ssize_t n = read(fd, buf + len, STATE_MAX_BYTES + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ret = -errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return ret < 0 ? ret : (ssize_t)len;
}

/* Parses JSON text of len bytes (buf has room for a NUL after it); NULL with why on failure. */
static struct json_object *parse_text(char *buf, size_t len, char *why, size_t whylen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;
	enum json_tokener_error e;
	size_t end;

	if (!tok) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	buf[len] = '\0';
	obj = json_tokener_parse_ex(tok, buf, (int)len + 1);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj && e == json_tokener_error_parse_eof)
		snprintf(why, whylen, "truncated: the JSON ends early, after %zu bytes", len);
	else if (!obj)
		snprintf(why, whylen, "not JSON: %s at byte %zu", json_tokener_error_desc(e), end);
	while (obj && end < len && isspace((unsigned char)buf[end]))
		end++;
	if (obj && end < len) {
		snprintf(why, whylen, "not JSON: more data after the value, at byte %zu", end);
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* Checks a parsed record of id; returns it, or NULL with why (and drops it). */
static struct json_object *record_check(uint32_t id, struct json_object *rec,
					char *why, size_t whylen)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_is_type(rec, json_type_object))
		snprintf(why, whylen, "not a JSON object but %s",
			 json_type_to_name(json_object_get_type(rec)));
	else if (!json_object_object_get_ex(rec, "id", &v) || !json_object_is_type(v, json_type_int))
		snprintf(why, whylen, "no integer \"id\"");
	else if ((n = json_object_get_int64(v)) != id)
		snprintf(why, whylen, "\"id\" %" PRId64 " does not match the file name", n);
	else if (!json_object_object_get_ex(rec, "version", &v) ||
		 !json_object_is_type(v, json_type_int))
		snprintf(why, whylen, "no integer \"version\" (expected %d)", STATE_VERSION);
	else if ((n = json_object_get_int64(v)) != STATE_VERSION)
		snprintf(why, whylen, "\"version\" %" PRId64 " is not supported (expected %d)",
			 n, STATE_VERSION);
	else
		return rec;
	json_object_put(rec);
	return NULL;
}

/* Reads the record of id from name into buf into *rec: 0, -ENOENT when it
 * vanished, -EINVAL with why for a bad file, another -errno with why when
 * it cannot be read. */
static int record_read(uint32_t id, const char *name, char *buf, struct json_object **rec,
		       char *why, size_t whylen)
{
	ssize_t len = read_bounded(name, buf);

	*rec = NULL;
	if (len < 0) {
		snprintf(why, whylen, "cannot read: %s", strerror((int)-len));
		return len == -EINVAL ? -EIO : (int)len;
	}
	if (len > STATE_MAX_BYTES)
		snprintf(why, whylen, "larger than %d bytes", STATE_MAX_BYTES);
	else if (len == 0)
		snprintf(why, whylen, "empty file");
	else if ((*rec = parse_text(buf, (size_t)len, why, whylen)))
		*rec = record_check(id, *rec, why, whylen);
	return *rec ? 0 : -EINVAL;
}

/* Calls found for every usable record in id order and bad for every other; moves bad ones aside. */
int state_load_all(void (*found)(void *arg, uint32_t id, struct json_object *record),
		   void (*bad)(void *arg, const char *file, const char *why), void *arg)
{
	char name[NAME_LEN], why[160];
	uint32_t *ids;
	char *buf;
	int n, count = 0;

	if (state_fd < 0)
		return -EBADF;
	n = list_records(&ids);
	if (n < 0)
		return n;
	buf = malloc(STATE_MAX_BYTES + 2);	/* one byte to see "too large", one for a NUL */
	if (!buf) {
		free(ids);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		struct json_object *rec;
		int ret;

		record_name(name, ids[i], "");
		ret = record_read(ids[i], name, buf, &rec, why, sizeof(why));
		if (ret == 0) {
			if (found)
				found(arg, ids[i], rec);
			json_object_put(rec);
			count++;
			continue;
		}
		if (ret == -ENOENT)
			continue;
		if (ret == -EINVAL)
			move_aside(name, why);
		else	/* EIO, EMFILE, ... may pass: report it, keep the file */
			log_error("state: %s/%s: %s", state_path, name, why);
		if (bad)
			bad(arg, name, why);
	}
	free(buf);
	free(ids);
	return count;
}

/* Frees what state_init set up. */
void state_shutdown(void)
{
	if (state_fd >= 0)
		close(state_fd);
	state_fd = -1;
	free(state_path);
	state_path = NULL;
}
