/* The table of backends, found by name. */
#include "config.h"
#include "backends/backend.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern const struct backend_ops backend_null;
extern const struct backend_ops backend_mem;
extern const struct backend_ops backend_zip;
extern const struct backend_ops backend_file;
#ifdef HAVE_NBD
extern const struct backend_ops backend_nbd;
#endif
#ifdef HAVE_RBD
extern const struct backend_ops backend_rbd;
#endif

static const struct backend_ops *const backends_table[] = {
	&backend_null,
	&backend_mem,
	&backend_zip,
	&backend_file,
#ifdef HAVE_NBD
	&backend_nbd,
#endif
#ifdef HAVE_RBD
	&backend_rbd,
#endif
};

const uint8_t backend_zeroes[BACKEND_ZERO_BYTES];

/* Has mv copy len bytes of zeroes into a READ's request, in pieces. */
int backend_move_zeroes(struct backend_mover *mv, uint64_t len)
{
	enum { PIECES = 16 };
	struct iovec iov[PIECES];

	while (len) {
		uint64_t bytes = 0;
		int n = 0;
		long got;

		for (; n < PIECES && len; n++) {
			size_t piece = len < BACKEND_ZERO_BYTES ? (size_t)len : BACKEND_ZERO_BYTES;

			iov[n].iov_base = (void *)(uintptr_t)backend_zeroes;
			iov[n].iov_len = piece;
			bytes += piece;
			len -= piece;
		}
		got = mv->copy(mv, iov, n);
		if (got != (long)bytes)
			return -EIO;
	}
	return 0;
}

/* Fills geo for a backend that keeps the requested size and block size. */
void backends_plain_geometry(const struct backend_config *cfg, struct backend_geometry *geo)
{
	geo->size = cfg->size;
	geo->block_size = cfg->block_size;
	geo->read_only = cfg->read_only;
	geo->volatile_cache = false;
	geo->max_discard_bytes = 1U << 30;
	geo->max_write_zeroes_bytes = 1U << 30;
}

/* Finds a backend by name, or NULL. */
const struct backend_ops *backends_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends_table) / sizeof(backends_table[0]); i++)
		if (strcmp(backends_table[i]->name, name) == 0)
			return backends_table[i];
	return NULL;
}

/* The i-th backend of the table, or NULL past its end. */
const struct backend_ops *backends_at(size_t i)
{
	return i < sizeof(backends_table) / sizeof(backends_table[0]) ? backends_table[i] : NULL;
}

/* wait_ready for a backend whose readiness is state. */
int backend_wait_ready(struct backend_waiter *w, int state, const char *msg,
		       backend_ready_fn cb, void *arg, char *err, size_t errlen)
{
	if (state < 0)
		snprintf(err, errlen, "%s", msg);
	if (state == 1) {
		w->cb = cb;
		w->arg = arg;
	}
	return state;
}

/* Tells whoever waits in w, once, res and msg. */
void backend_waiter_tell(struct backend_waiter *w, int res, const char *msg)
{
	struct backend_waiter now = *w;

	w->cb = NULL;
	w->arg = NULL;
	if (now.cb)
		now.cb(now.arg, res, msg);
}

/* Counts the rows of a params table. */
size_t backend_param_count(const struct backend_param *params)
{
	size_t n = 0;

	while (params && params[n].name)
		n++;
	return n;
}

/* Names of the request ops, for log lines. */
static const char *const backend_req_op_names[] = {
	[BACKEND_REQ_READ] = "read",
	[BACKEND_REQ_WRITE] = "write",
	[BACKEND_REQ_FLUSH] = "flush",
	[BACKEND_REQ_DISCARD] = "discard",
	[BACKEND_REQ_WRITE_ZEROES] = "write-zeroes",
};

/* The name of a request's op, for log lines. */
const char *backend_req_op_name(enum backend_req_op op)
{
	return backend_req_op_names[op];
}

/* The value saved under key for a recovered device, or NULL. */
const char *backend_saved_get(const struct backend_config *cfg, const char *key)
{
	for (const struct backend_saved *s = cfg->saved; s && s->key; s++)
		if (strcmp(s->key, key) == 0)
			return s->value;
	return NULL;
}

/* Lists the backend names, comma separated, for error messages. */
const char *backends_names(void)
{
	static char names[256];

	if (!names[0]) {
		for (size_t i = 0; i < sizeof(backends_table) / sizeof(backends_table[0]); i++) {
			if (i)
				strcat(names, ", ");
			strcat(names, backends_table[i]->name);
		}
	}
	return names;
}
