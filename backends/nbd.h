/* The nbd backend's shared state: the device (struct nbdb), its connections
 * to the server (nbd_conn.c) and its requests (nbd.c). Everything runs on
 * the daemon's loop: libnbd's asynchronous API, its sockets watched through
 * cfg->loop, no thread of our own. */
#ifndef UBLKD_NBD_H
#define UBLKD_NBD_H

#include <libnbd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "backends/backend.h"
#include "common/ratelimit.h"

/* One request, from submit until done is called and libnbd let go of it. */
struct nbd_cmd {
	TAILQ_ENTRY(nbd_cmd) link;	/* on waiting, a connection's issued,
					 * or finished */
	struct nbdb *b;
	struct nbd_conn *conn;	/* where it is issued; NULL while waiting */
	struct backend_req req;
	backend_done_fn done;
	void *ctx;
	unsigned queue;
	double deadline;	/* fails with EIO when still waiting then */
	double issued_at;	/* when it was last sent to a server */
	int error;		/* the server's answer: 0 or an errno */
	bool in_lib;		/* libnbd holds it, until its free callback */
	bool ended;		/* done was called */
	bool lost;		/* answered because its connection went */
	bool fua_flush;		/* a FUA write to a server without FUA: a
				 * FLUSH follows before done */
	bool chunked;		/* a read sent with structured replies: its
				 * chunks must cover it (covered) */
	uint64_t covered;	/* bytes its data and hole chunks covered */
};
TAILQ_HEAD(nbd_cmds, nbd_cmd);

enum nbd_conn_state {
	NBD_CONN_IDLE,		/* no handle: reconnects at next_attempt */
	NBD_CONN_CONNECTING,	/* handshake under way, until deadline */
	NBD_CONN_READY,
};

/* One connection to the server. */
struct nbd_conn {
	struct nbdb *b;
	unsigned idx;
	struct nbd_handle *h;
	struct backend_watch *watch;
	enum nbd_conn_state state;
	struct nbd_cmds issued;	/* commands libnbd holds on h */
	unsigned attempts;	/* reconnections tried since it was lost */
	double next_attempt;	/* IDLE: when to connect again */
	double deadline;	/* CONNECTING: when to give up */
	double lost_at;		/* when it was lost, for the logs */
	double ready_at;	/* when its handshake last ended */
	unsigned reconnects;	/* times it came back */
	bool closing;		/* its handle is being closed */
	bool no_cork;		/* its socket refused TCP_CORK (a UNIX socket):
				 * not tried again */
	bool structured;	/* structured replies were negotiated on h */
};

/* One nbd device. */
struct nbdb {
	char *url;
	bool tls;
	bool structured;	/* --structured-replies: ask the server for them */
	bool local_files;	/* the URL may name files (tls-psk-file, ...):
				 * root's URLs only */
	double timeout;		/* seconds a request may wait for the server */
	unsigned nconn;		/* connections open (--connections, or 1
				 * when the server does not offer multi-conn) */
	struct nbd_conn *conns;	/* nconn asked for */
	unsigned nasked;
	struct backend_loop *loop;
	struct nbd_cmds waiting;	/* not issued yet, or to issue again */
	struct nbd_cmds finished;	/* answered, done not called yet */
	struct backend_timer *tick;	/* the timeout and reconnection checks */
	unsigned rr;		/* round robin over the connections */
	/* What the server advertised on the first connection (a recovered
	 * device: its record); every later one must offer as much. */
	bool known;
	uint64_t size;
	bool read_only, can_flush, can_fua, can_trim, can_zero, multi_conn;
	uint32_t block_size;
	bool want_ro;		/* --read-only */
	uint64_t want_size;	/* recovering: the size the kernel serves */
	bool caps_saved;	/* recovering: can_* are the record's, what the
				 * kernel device was set up with */
	uint32_t max_io;	/* the largest READ or WRITE the device sends:
				 * the daemon's, or less where the first server's
				 * maximum block size is (a recovered device: the
				 * record's); every later server must take it */
	/* The add waiting for the first connections (wait_ready). */
	int ready;		/* 1 connecting, 0 ready, -errno failed */
	char ready_msg[512];
	struct backend_waiter waiter;	/* the add, while ready is 1 */
	struct backend_timer *ready_timer;
	/* Failure accounting, for the logs. */
	unsigned long failed;	/* requests failed since the last log */
	double failed_logged;
	struct ratelimit refused_log;	/* requests libnbd refused to send */
	struct ratelimit refused_server_log;	/* servers refused on reconnection */
	struct ratelimit short_log;	/* structured reads short of data */
};

/* Takes the capabilities of the server on h as the device's (a recovered
 * device: only those the kernel never saw). */
void nbd_caps_take(struct nbdb *b, struct nbd_handle *h);
/* Checks that the server on h still offers every capability the device
 * uses: 0, or -EINVAL with the missing ones named in err. */
int nbd_caps_check(struct nbdb *b, struct nbd_handle *h, char *err, size_t errlen);
/* The smallest largest request a ublk device can have: a page. */
#define NBD_MAX_IO_MIN	4096

/* Takes (first: a new device's first server) or checks the server's
 * maximum block size on h against the device's largest request: 0, or
 * -EINVAL with why in err. */
int nbd_caps_max_io(struct nbdb *b, struct nbd_handle *h, bool first, char *err,
		    size_t errlen);
/* Reads the capabilities a recovered device was set up with (save's "caps"). */
void nbd_caps_restore(struct nbdb *b, const char *saved);
/* Writes the names of the device's capabilities, comma-separated, into buf. */
void nbd_caps_names(struct nbdb *b, char *buf, size_t len);
/* True when a line limited by rl may be logged now (at most one per
 * NBD_LOG_EVERY seconds), with the count of lines left out since the last
 * one as a suffix for it in more (empty when none). */
bool nbd_log_pass(struct ratelimit *rl, struct nbdb *b, char *more, size_t len);
/* Starts connecting c: 0, or -errno with a message in err. */
int nbd_conn_connect(struct nbd_conn *c, char *err, size_t errlen);
/* Drops c's handle (its commands go back to waiting) and plans the next
 * connection; why is logged. */
void nbd_conn_fail(struct nbd_conn *c, const char *why);
/* Watches what c's handle waits for now. */
void nbd_conn_rearm(struct nbd_conn *c);
/* Corks (on) or uncorks c's TCP socket: true when it took (a UNIX socket
 * has no cork: tried once per connection). */
bool nbd_conn_cork(struct nbd_conn *c, bool on);
/* Where c's handshake waits, in words for a timeout's message, into buf
 * (with what its socket received, unread or in all). */
void nbd_conn_stuck_at(const struct nbd_conn *c, char *buf, size_t len);
/* Closes c for good. */
void nbd_conn_close(struct nbd_conn *c);

/* Issues waiting commands on ready connections and ends answered ones. */
void nbd_progress(struct nbdb *b);
/* A connection became ready: checks what the server advertises against
 * the device; 0, or -errno with a message in err. */
int nbd_connected(struct nbdb *b, struct nbd_conn *c, char *err, size_t errlen);
/* Once the first connection is up, opens the others the server allows. */
void nbd_more_connections(struct nbdb *b);
/* The add's wait is over: res 0, or -errno with msg. */
void nbd_ready_end(struct nbdb *b, int res, const char *msg);

#endif
