/* The capabilities an nbd device takes from its server (nbd.h). */
#include "config.h"
#include "backends/nbd.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* A capability the device takes from the server on its first connection
 * and requires on every later one: its name (in the record and the logs),
 * the flag of struct nbdb that keeps it, and how libnbd reads it. */
struct nbd_cap {
	const char *name;
	size_t field;		/* offset of a bool in struct nbdb */
	int (*get)(struct nbd_handle *h);
	bool several_only;	/* required only with several connections */
	bool from_server;	/* a recovered device takes the server's, not
				 * the record's: the kernel never sees it */
};

static const struct nbd_cap nbd_caps[] = {
	{ "flush", offsetof(struct nbdb, can_flush), nbd_can_flush, false, false },
	{ "fua", offsetof(struct nbdb, can_fua), nbd_can_fua, false, false },
	{ "trim", offsetof(struct nbdb, can_trim), nbd_can_trim, false, false },
	{ "zero", offsetof(struct nbdb, can_zero), nbd_can_zero, false, false },
	/* A FLUSH on one connection covers the writes answered on another
	 * only with multi-conn. */
	{ "multi_conn", offsetof(struct nbdb, multi_conn), nbd_can_multi_conn, true, true },
};
#define NBD_NCAPS	(sizeof(nbd_caps) / sizeof(nbd_caps[0]))

/* Where b keeps the capability cap. */
static bool *nbd_cap_flag(struct nbdb *b, const struct nbd_cap *cap)
{
	return (bool *)((char *)b + cap->field);
}

/* Takes the capabilities of the server on h as the device's: all of them
 * on a new device, on a recovered one only those the kernel never saw
 * (the others are the record's, what the kernel device was set up with). */
void nbd_caps_take(struct nbdb *b, struct nbd_handle *h)
{
	for (size_t i = 0; i < NBD_NCAPS; i++)
		if (!b->caps_saved || nbd_caps[i].from_server)
			*nbd_cap_flag(b, &nbd_caps[i]) = nbd_caps[i].get(h) == 1;
}

/* Checks that the server on h still offers every capability the device
 * uses (multi-conn: while it has several connections): 0, or -EINVAL with
 * the missing ones named in err. */
int nbd_caps_check(struct nbdb *b, struct nbd_handle *h, char *err, size_t errlen)
{
	char missing[128] = "";
	size_t n = 0;

	for (size_t i = 0; i < NBD_NCAPS && n < sizeof(missing); i++) {
		const struct nbd_cap *cap = &nbd_caps[i];

		if (!*nbd_cap_flag(b, cap) || (cap->several_only && b->nconn < 2) ||
		    cap->get(h) == 1)
			continue;
		n += snprintf(missing + n, sizeof(missing) - n, "%s%s", n ? ", " : "", cap->name);
	}
	if (!n)
		return 0;
	snprintf(err, errlen, "the server no longer offers %s, which this device uses: "
		 "refused", missing);
	return -EINVAL;
}

/* Takes (first: a new device's first server) or checks the server's
 * maximum block size on h against the device's largest request. The NBD
 * protocol lets a server fail or drop a larger request, so a first server
 * lowers it (the kernel then splits requests to fit), and every later
 * server must take it: 0, or -EINVAL with why in err. */
int nbd_caps_max_io(struct nbdb *b, struct nbd_handle *h, bool first, char *err,
		    size_t errlen)
{
	int64_t max = nbd_get_block_size(h, LIBNBD_SIZE_MAXIMUM);

	if (max <= 0 || (uint64_t)max >= b->max_io)
		return 0;
	if (!first) {
		snprintf(err, errlen, "the server's maximum block size is now %" PRId64 " bytes, "
			 "less than the device's largest request (%u bytes): refused", max,
			 b->max_io);
		return -EINVAL;
	}
	if (max < NBD_MAX_IO_MIN) {
		snprintf(err, errlen, "the server's maximum block size is %" PRId64 " bytes, less "
			 "than the %d bytes a ublk device's request may have", max, NBD_MAX_IO_MIN);
		return -EINVAL;
	}
	b->max_io = (uint32_t)(max / NBD_MAX_IO_MIN * NBD_MAX_IO_MIN);
	return 0;
}

/* Reads the capabilities a recovered device was set up with (save's
 * "caps": their names, comma-separated) into b; names it does not know
 * are left out. */
void nbd_caps_restore(struct nbdb *b, const char *saved)
{
	for (size_t i = 0; i < NBD_NCAPS; i++) {
		size_t len = strlen(nbd_caps[i].name);
		const char *p = saved;

		while ((p = strstr(p, nbd_caps[i].name)) &&
		       !((p == saved || p[-1] == ',') && (p[len] == ',' || !p[len])))
			p += len;
		*nbd_cap_flag(b, &nbd_caps[i]) = p != NULL;
	}
	b->caps_saved = true;
}

/* Writes the names of the device's capabilities, comma-separated, into buf. */
void nbd_caps_names(struct nbdb *b, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (size_t i = 0; i < NBD_NCAPS && n < len; i++)
		if (*nbd_cap_flag(b, &nbd_caps[i]))
			n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", nbd_caps[i].name);
}
