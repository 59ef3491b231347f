/* JSON-RPC 2.0 over the control socket's lines: rpc.c parses a request,
 * finds its method in the table it was given at rpc_init and owns the
 * replies; a method (methods.c) answers each call exactly once, now or later.
 * main.c hands the table to rpc_init and rpc_on_line, rpc_on_too_long and
 * rpc_on_refused to the control socket. */
#ifndef UBLKD_RPC_H
#define UBLKD_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "daemon/control.h"

struct rpc_call;

/* A method: answers through rpc_reply or rpc_fail, exactly once. params is
 * the request's "params" member or NULL when absent; it is borrowed for the
 * duration of the call to fn only. */
struct rpc_method {
	const char *name;
	void (*fn)(struct rpc_call *call, struct json_object *params);
	bool changes_state;	/* logged with the peer's uid/pid */
};

/* Dispatches requests through methods from now on: an array ended by an
 * entry whose name is NULL, kept (not copied) by rpc.c. */
void rpc_init(const struct rpc_method *methods);
/* The control socket's line handler (struct control_handler.line): handles
 * one request line. arg is unused. */
void rpc_on_line(void *arg, struct control_conn *conn, const char *line, size_t len);
/* The control socket's handler for an over-long line: an invalid request
 * error with a null id, why as its message. arg is unused. */
void rpc_on_too_long(void *arg, struct control_conn *conn, const char *why);
/* The control socket's handler for a connection past its limit: a
 * too-many-connections error with a null id, why as its message. */
void rpc_on_refused(void *arg, struct control_conn *conn, const char *why);

/* Sends a result (ownership of result passes; NULL means {}) and frees call. */
void rpc_reply(struct rpc_call *call, struct json_object *result);
/* Sends an error for -errno err with a message a person can act on, and frees
 * call. The errno decides the JSON-RPC code: -EINVAL invalid params,
 * -ENODEV no such device, -EEXIST exists, -ESHUTDOWN shutting down,
 * -EBUSY busy, anything else device error; data.errno names it. */
void rpc_fail(struct rpc_call *call, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like rpc_fail with an explicit JSON-RPC code (e.g. RPC_NO_DRIVER). */
void rpc_fail_code(struct rpc_call *call, int code, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The peer that sent the call. */
const struct control_peer *rpc_call_peer(const struct rpc_call *call);
/* True while the client that sent the call is still connected. */
bool rpc_call_connected(const struct rpc_call *call);
/* Only during the method's fn: how many descriptors came with the request
 * (SCM_RIGHTS), and in *dropped (may be NULL) how many more were closed
 * past the bounds (control.h). */
unsigned rpc_call_fds(const struct rpc_call *call, unsigned *dropped);
/* Only during the method's fn: takes the i-th descriptor that came with
 * the request (the caller closes it); -EBADF if none. Those not taken are
 * closed once fn returns. */
int rpc_call_take_fd(struct rpc_call *call, unsigned i);

#endif
