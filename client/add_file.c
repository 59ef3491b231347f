/* Opening the backend's file for ublkd, as the user (add_file.h). */
#include "config.h"
#include "client/add_file.h"
#include "client/backend_options.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Records a failure about the file, message from fmt; returns -err. */
static int add_file_fail(struct failure *f, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int add_file_fail(struct failure *f, int err, const char *fmt, ...)
{
	va_list ap;

	failure_set(f, FAILURE_FILE, err, NULL, NULL);
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	return -err;
}

/* The params key of the backend's PATH option, or NULL when it has none. */
static const char *add_file_key(struct json_object *params)
{
	struct json_object *v;
	const struct backend_options *b;

	if (!json_object_object_get_ex(params, "backend", &v) ||
	    !(b = backend_options_find(json_object_get_string(v))))
		return NULL;
	for (const struct option_def *o = b->options; o->name; o++)
		if (o->type == OPTION_PATH)
			return o->key;
	return NULL;
}

/* True if params holds the flag key set to true. */
static bool add_file_flag(struct json_object *params, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(params, key, &v) && json_object_get_boolean(v);
}

/* The size param in bytes, or 0 when absent or not yet a number. */
static uint64_t add_file_size(struct json_object *params)
{
	struct json_object *v;

	if (!json_object_object_get_ex(params, "size", &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return (uint64_t)json_object_get_int64(v);
}

/* Creates the missing file for --size, empty, mode 0600. */
static int add_file_create(struct add_file *af, uint64_t size, bool read_only,
			   struct failure *f)
{
	int fd;

	if (!size)
		return add_file_fail(f, ENOENT, "%s does not exist (give a size to create it)",
				     af->path);
	if (read_only)
		return add_file_fail(f, ENOENT, "%s does not exist, and a read-only device does "
				     "not create it", af->path);
	fd = open(af->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return add_file_fail(f, errno, "cannot create %s: %s", af->path, strerror(errno));
	close(fd);
	af->created = true;
	return 0;
}

/* Opens the file as the user: for writing unless read-only (falling back to
 * reading, which ublkd then refuses for a writable device with its reason);
 * a block device opened for writing exclusively, as ublkd would. */
static int add_file_open_fd(struct add_file *af, bool read_only, struct failure *f)
{
	struct stat st;
	int flags = O_CLOEXEC | O_NOCTTY;

	if (stat(af->path, &st) == 0 && S_ISBLK(st.st_mode) && !read_only)
		flags |= O_EXCL;
	af->fd = read_only ? -1 : open(af->path, flags | O_RDWR);
	if (af->fd < 0 && !read_only && errno == EBUSY)
		return add_file_fail(f, EBUSY, "%s is in use (mounted, or held by another program)",
				     af->path);
	if (af->fd < 0 && (read_only || errno == EACCES || errno == EPERM || errno == EROFS ||
			   errno == EISDIR))
		af->fd = open(af->path, (flags & ~O_EXCL) | O_RDONLY);
	if (af->fd < 0)
		return add_file_fail(f, errno, "cannot open %s: %s", af->path, strerror(errno));
	return 0;
}

/* Gives a regular file the size asked for when it is smaller, as the user. */
static int add_file_extend(struct add_file *af, uint64_t size, bool read_only,
			   struct failure *f)
{
	struct stat st;

	if (!size || read_only || fstat(af->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size >= size)
		return 0;
	if (ftruncate(af->fd, (off_t)size) < 0)
		return add_file_fail(f, errno, "cannot extend %s to %llu bytes: %s", af->path,
				     (unsigned long long)size, strerror(errno));
	af->extended = !af->created;
	af->old_size = (uint64_t)st.st_size;
	return 0;
}

/* Opens the backend's file named in params and passes it as "fd": 0. */
int add_file_open(struct json_object *params, struct add_file *af, struct failure *f)
{
	const char *key = add_file_key(params);
	bool read_only = add_file_flag(params, "read_only");
	uint64_t size = add_file_size(params);
	struct json_object *v;
	int ret;

	memset(af, 0, sizeof(*af));
	af->fd = -1;
	if (!key || !json_object_object_get_ex(params, key, &v) ||
	    !json_object_is_type(v, json_type_string) || json_object_get_string(v)[0] != '/')
		return 0;	/* ublkd says what is wrong */
	af->path = strdup(json_object_get_string(v));
	if (!af->path)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "opening the file", NULL);
	if (access(af->path, F_OK) < 0 && errno == ENOENT) {
		ret = add_file_create(af, size, read_only, f);
		if (ret < 0)
			return ret;
	}
	ret = add_file_open_fd(af, read_only, f);
	if (ret == 0)
		ret = add_file_extend(af, size, read_only, f);
	if (ret < 0) {
		add_file_finish(af, true);
		return ret;
	}
	json_object_object_del(params, key);
	json_object_object_add(params, "fd", json_object_new_int(0));
	return 0;
}

/* Closes the descriptor; after a failed add undoes what was made. */
void add_file_finish(struct add_file *af, bool failed)
{
	if (failed && af->created && af->path)
		unlink(af->path);
	else if (failed && af->extended && af->fd >= 0 &&
		 ftruncate(af->fd, (off_t)af->old_size) < 0)
		fprintf(stderr, "ublkctl: cannot shrink %s back to %llu bytes: %s\n", af->path,
			(unsigned long long)af->old_size, strerror(errno));
	if (af->fd >= 0)
		close(af->fd);
	af->fd = -1;
	free(af->path);
	af->path = NULL;
	af->created = af->extended = false;
}
