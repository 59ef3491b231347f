/* Making a ring refuse every submit in a unit test: /dev/null takes the
 * ring's fd number (io_uring_enter then fails with EOPNOTSUPP) while a
 * duplicate keeps the ring itself open, until the fd is put back. */
#ifndef UBLKD_TEST_RING_REFUSAL_H
#define UBLKD_TEST_RING_REFUSAL_H

/* A refusal in progress. */
struct ring_refusal {
	int ring_fd;	/* the ring's fd number, /dev/null meanwhile */
	int saved;	/* the ring, kept open */
	int null;	/* /dev/null */
};

/* Puts /dev/null at ring_fd, keeping the ring open. */
void ring_refusal_start(struct ring_refusal *r, int ring_fd);
/* Puts the ring back at its fd number. */
void ring_refusal_stop(struct ring_refusal *r);

#endif
