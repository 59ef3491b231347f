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
	void *arg;
};

struct control_opts {
	const char *socket_path;   /* NULL: UBLKD_DEFAULT_SOCKET */
	const char *socket_group;  /* NULL: socket mode 0600; else chgrp + 0660 */
	const struct control_handler *handler;	/* required; copied */
};

/* Starts serving the control socket on loop; 0 or -errno (logged with the
 * reason; -EINVAL without both handler callbacks). Uses the socket passed by
 * the service manager when there is one, else binds socket_path. */
int control_start(struct ev_loop *loop, const struct control_opts *opts);
/* Stops accepting, closes every connection, unlinks the socket file we bound. */
void control_stop(struct ev_loop *loop);

/* Below: what a handler may do with the connection a line came from. */

/* Queues line (len bytes, a newline is added) for the peer; 0, or -ENOTCONN
 * when the connection is closed. */
int control_conn_send(struct control_conn *conn, const char *line, size_t len);
/* The credentials of the peer, read at accept. */
const struct control_peer *control_conn_peer(const struct control_conn *conn);
/* True until the connection is closed. */
bool control_conn_connected(const struct control_conn *conn);
/* Keeps conn valid (though maybe closed) until the matching release. */
void control_conn_hold(struct control_conn *conn);
/* Drops a hold; frees conn if it is closed and this was the last. */
void control_conn_release(struct control_conn *conn);

#endif
