/* JSON-RPC calls as the daemon's methods see them. The control socket layer
 * (control.c, rpc.c) parses requests, finds the method and owns the replies;
 * methods (methods.c) answer each call exactly once, now or later. */
#ifndef UBLKD_RPC_H
#define UBLKD_RPC_H

#include <stdbool.h>
#include <sys/types.h>
#include <json-c/json.h>

struct rpc_call;

/* Who sent a request (SO_PEERCRED of its connection). */
struct rpc_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* A method: answers through rpc_reply or rpc_fail, exactly once. params is
 * the request's "params" member or NULL when absent; it is borrowed for the
 * duration of the call to fn only. */
struct rpc_method {
	const char *name;
	void (*fn)(struct rpc_call *call, struct json_object *params);
	bool changes_state;	/* logged with the peer's uid/pid */
};

/* Finds a method by name in methods.c's table, or NULL. */
const struct rpc_method *methods_find(const char *name);

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
const struct rpc_peer *rpc_call_peer(const struct rpc_call *call);
/* True while the client that sent the call is still connected. */
bool rpc_call_connected(const struct rpc_call *call);

#endif
