/* The control socket: a UNIX stream socket carrying one request line and
 * one reply line at a time, served on the daemon's libev loop. What a line
 * means is the business of the handler it is given (rpc.c, wired in main.c). */
#ifndef UBLKD_CONTROL_H
#define UBLKD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <ev.h>

struct control_conn;

/* Who is at the other end of a connection (SO_PEERCRED). */
struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* What the layer above does with a connection's lines. */
struct control_handler {
	/* Required. Handles one request line: line[len] is NUL, no newline,
	 * never blank. It may hold conn to answer later. */
	void (*line)(void *arg, struct control_conn *conn, const char *line, size_t len);
	/* Required. Answers a line over UBLKD_MAX_LINE; why says so. The
	 * connection is closed once that answer is sent. */
	void (*too_long)(void *arg, struct control_conn *conn, const char *why);
	/* Required. Answers a connection refused before its first request
	 * (one past max_connections); why says so. It is closed once sent. */
	void (*refused)(void *arg, struct control_conn *conn, const char *why);
	void *arg;
};

/* Descriptors a client may pass (SCM_RIGHTS) that a connection holds until
 * the request line they came with is handled, and all connections
 * together; more are closed unread. A request uses at most
 * CONTROL_MAX_FDS of its own; the line handler takes what it uses and
 * the rest are closed once it returns. */
#define CONTROL_MAX_FDS		4
#define CONTROL_MAX_FDS_TOTAL	64

/* The defaults of the bounds in struct control_opts. */
#define CONTROL_DEFAULT_MAX_CONNECTIONS	64
#define CONTROL_DEFAULT_IDLE_TIMEOUT	60.0
#define CONTROL_DEFAULT_BUDGET		(32u * 1024 * 1024)

struct control_opts {
	const char *socket_path;   /* NULL: UBLKD_DEFAULT_SOCKET */
	const char *socket_group;  /* NULL: socket mode 0600; else chgrp + 0660 */
	const struct control_handler *handler;	/* required; copied */
	/* Connections served at once; the next one is refused.
	 * 0: CONTROL_DEFAULT_MAX_CONNECTIONS. */
	unsigned int max_connections;
	/* Seconds a connection may go without a request line while none of
	 * its calls is pending; 0: CONTROL_DEFAULT_IDLE_TIMEOUT, < 0: never. */
	double idle_timeout;
	/* Bytes of buffered requests and replies of all connections together;
	 * past it the connection holding most is closed.
	 * 0: CONTROL_DEFAULT_BUDGET. */
	size_t budget;
};

/* Starts serving the control socket on loop; 0 or -errno (logged with the
 * reason; -EINVAL without the handler callbacks). Uses the socket passed by
 * the service manager when there is one, else binds socket_path; either way
 * it holds the lock file socket_path.lock (flock) until control_stop, so at
 * most one daemon serves a path (-EADDRINUSE when another holds it). */
int control_start(struct ev_loop *loop, const struct control_opts *opts);
/* Stops accepting, closes every connection, unlinks the socket file we
 * bound, then releases the lock file. */
void control_stop(struct ev_loop *loop);

/* Below: what a handler may do with the connection a line came from. */

/* Queues line (len bytes, a newline is added) for the peer; 0, or -ENOTCONN
 * when the connection is closed. */
int control_conn_send(struct control_conn *conn, const char *line, size_t len);
/* The credentials of the peer, read at accept. */
const struct control_peer *control_conn_peer(const struct control_conn *conn);
/* True until the connection is closed. */
bool control_conn_connected(const struct control_conn *conn);
/* Only while the line handler runs: the number of descriptors that came
 * with the line (in the order sent), and in *dropped (may be NULL) how many
 * more were closed unread since the line before (past the bounds). */
unsigned control_conn_fds(const struct control_conn *conn, unsigned *dropped);
/* Only while the line handler runs: takes the i-th descriptor of the line
 * (the caller closes it); -EBADF if there is none or it was taken. */
int control_conn_take_fd(struct control_conn *conn, unsigned i);
/* Keeps conn valid (though maybe closed) until the matching release. */
void control_conn_hold(struct control_conn *conn);
/* Drops a hold; frees conn if it is closed and this was the last. */
void control_conn_release(struct control_conn *conn);

#endif
