/* The control socket: a UNIX stream socket speaking line-delimited JSON-RPC
 * 2.0 (see common/protocol.h), served on the daemon's libev loop. */
#ifndef UBLKD_CONTROL_H
#define UBLKD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <ev.h>

#include "daemon/rpc.h"

struct control_opts {
	const char *socket_path;   /* NULL: UBLKD_DEFAULT_SOCKET */
	const char *socket_group;  /* NULL: socket mode 0600; else chgrp + 0660 */
};

/* Starts serving the control socket on loop; 0 or -errno (logged with the
 * reason). Uses the socket passed by the service manager when there is one,
 * else binds socket_path. */
int control_start(struct ev_loop *loop, const struct control_opts *opts);
/* Stops accepting, closes every connection, unlinks the socket file we bound. */
void control_stop(struct ev_loop *loop);

/* Below: the contract between control.c (connections) and rpc.c (requests);
 * the rest of the daemon does not use it. */

struct control_conn;

/* Queues line (len bytes, a newline is added) for the peer; 0, or -ENOTCONN
 * when the connection is closed. */
int control_conn_send(struct control_conn *conn, const char *line, size_t len);
/* The credentials of the peer, read at accept. */
const struct rpc_peer *control_conn_peer(const struct control_conn *conn);
/* True until the connection is closed. */
bool control_conn_connected(const struct control_conn *conn);
/* Keeps conn valid (though maybe closed) until the matching release. */
void control_conn_hold(struct control_conn *conn);
/* Drops a hold; frees conn if it is closed and this was the last. */
void control_conn_release(struct control_conn *conn);

/* Handles one request line: line[len] is NUL, no newline. (rpc.c) */
void rpc_handle_line(struct control_conn *conn, const char *line, size_t len);
/* Sends an error response with a null id. (rpc.c) */
void rpc_send_error(struct control_conn *conn, int code, const char *message);

#endif
