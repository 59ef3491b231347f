/* Making a ring refuse every submit in a unit test (see ring_refusal.h). */
#include "config.h"
#include "test/unit/ring_refusal.h"

#include <check.h>
#include <fcntl.h>
#include <unistd.h>

/* Puts /dev/null at ring_fd, keeping the ring open. */
void ring_refusal_start(struct ring_refusal *r, int ring_fd)
{
	r->ring_fd = ring_fd;
	r->saved = dup(ring_fd);
	r->null = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(r->saved, 0);
	ck_assert_int_ge(r->null, 0);
	ck_assert_int_eq(dup2(r->null, ring_fd), ring_fd);
}

/* Puts the ring back at its fd number. */
void ring_refusal_stop(struct ring_refusal *r)
{
	ck_assert_int_eq(dup2(r->saved, r->ring_fd), r->ring_fd);
	close(r->saved);
	close(r->null);
}
