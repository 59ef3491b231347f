/* JSON-RPC 2.0 requests and responses: parses a request line, finds its
 * method in the table given to rpc_init, and turns the method's answer into
 * a response line. */
#include "config.h"
#include "rpc.h"
#include "control.h"
#include "common/errname.h"
#include "common/log.h"
#include "common/protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a request's params an info log line shows. */
#define RPC_LOG_PARAMS	200

struct rpc_call {
	struct control_conn *conn;	/* held until the call is answered */
	struct json_object *id;		/* NULL is JSON null */
	bool notification;		/* no id member: no response at all */
	const struct rpc_method *method;
};

/* The methods requests are dispatched through (rpc_init). */
static const struct rpc_method *rpc_methods;

/* Dispatches requests through methods from now on. */
void rpc_init(const struct rpc_method *methods)
{
	rpc_methods = methods;
}

/* Finds a method by name in the table, or NULL. */
static const struct rpc_method *rpc_find(const char *name)
{
	for (const struct rpc_method *m = rpc_methods; m && m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/* Builds an error response object; id is taken over. */
static struct json_object *rpc_error_new(struct json_object *id, int code, int err,
					 const char *message)
{
	struct json_object *resp = json_object_new_object();
	struct json_object *error = json_object_new_object();
	const char *name = err ? errname(err) : NULL;

	json_object_object_add(error, "code", json_object_new_int(code));
	json_object_object_add(error, "message", json_object_new_string(message));
	if (name) {
		struct json_object *data = json_object_new_object();

		json_object_object_add(data, "errno", json_object_new_string(name));
		json_object_object_add(error, "data", data);
	}
	json_object_object_add(resp, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(resp, "id", id);
	json_object_object_add(resp, "error", error);
	return resp;
}

/* Sends one response object on conn and drops it; a response too long for
 * a line is replaced with an internal error. */
static void rpc_send(struct control_conn *conn, struct json_object *resp)
{
	const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	size_t len;
	const char *text = json_object_to_json_string_length(resp, flags, &len);

	if (text && len > UBLKD_MAX_LINE) {
		struct json_object *id = json_object_get(json_object_object_get(resp, "id"));
		char msg[96];

		log_warn("a response of %zu bytes exceeds the line limit of %d bytes",
			 len, UBLKD_MAX_LINE);
		snprintf(msg, sizeof(msg), "the response exceeds the line limit of %d bytes",
			 UBLKD_MAX_LINE);
		json_object_put(resp);
		resp = rpc_error_new(id, RPC_INTERNAL_ERROR, 0, msg);
		text = json_object_to_json_string_length(resp, flags, &len);
	}
	if (!text)
		log_error("cannot serialize a response");
	else if (control_conn_send(conn, text, len) == -ENOTCONN)
		log_debug("dropping a response: the client is gone");
	json_object_put(resp);
}

/* Sends an error response with a null id. */
static void rpc_send_error(struct control_conn *conn, int code, const char *message)
{
	rpc_send(conn, rpc_error_new(NULL, code, 0, message));
}

/* Answers an over-long line: an invalid request with a null id. */
void rpc_on_too_long(void *arg, struct control_conn *conn, const char *why)
{
	(void)arg;
	rpc_send_error(conn, RPC_INVALID_REQUEST, why);
}

/* Refuses a connection past the limit: an error with a null id. */
void rpc_on_refused(void *arg, struct control_conn *conn, const char *why)
{
	(void)arg;
	rpc_send_error(conn, RPC_TOO_MANY_CONNECTIONS, why);
}

/* The JSON-RPC error code for a -errno a method failed with. */
static int rpc_errno_code(int err)
{
	switch (err > 0 ? -err : err) {
	case -EINVAL:
		return RPC_INVALID_PARAMS;
	case -ENODEV:
		return RPC_NO_SUCH_DEVICE;
	case -EEXIST:
		return RPC_DEVICE_EXISTS;
	case -ESHUTDOWN:
		return RPC_SHUTTING_DOWN;
	case -EBUSY:
		return RPC_BUSY;
	default:
		return RPC_DEVICE_ERROR;
	}
}

/* How many bytes of the UTF-8 string s (len bytes) fit in max without
 * splitting a character. */
static int rpc_utf8_prefix(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return (int)len;
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return (int)max;
}

/* Parses a whole line as one JSON text; NULL with *ok false if it is not
 * (NULL with *ok true is JSON null). */
static struct json_object *rpc_parse(const char *line, size_t len, bool *ok)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;

	*ok = false;
	if (!tok || len > UBLKD_MAX_LINE) {
		json_tokener_free(tok);
		return NULL;
	}
	/* Strict: no trailing garbage, commas or invalid UTF-8. Passing the
	 * NUL after the line lets a top-level number end. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, line, (int)len + 1);
	*ok = json_tokener_get_error(tok) == json_tokener_success &&
	      json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	if (!*ok) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* Checks the request's members; on success fills the outputs (borrowed from
 * req), else returns a message for an invalid request. */
static const char *rpc_validate(struct json_object *req, struct json_object **id,
				bool *has_id, const char **method,
				struct json_object **params)
{
	struct json_object *v;

	*id = NULL;
	*has_id = false;
	if (json_object_is_type(req, json_type_array))
		return "batch requests are not supported";
	if (!json_object_is_type(req, json_type_object))
		return "a request must be a JSON object";
	/* The id first, so that the other errors can carry it. */
	if (json_object_object_get_ex(req, "id", &v)) {
		if (v && !json_object_is_type(v, json_type_string) &&
		    !json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double))
			return "\"id\" must be a string, a number or null";
		*id = v;
		*has_id = true;
	}
	if (!json_object_object_get_ex(req, "jsonrpc", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "2.0") != 0)
		return "\"jsonrpc\" must be \"2.0\"";
	if (!json_object_object_get_ex(req, "method", &v) ||
	    !json_object_is_type(v, json_type_string))
		return "\"method\" must be a string";
	*method = json_object_get_string(v);
	if (strlen(*method) != (size_t)json_object_get_string_len(v))
		return "\"method\" must not contain NUL characters";
	*params = NULL;
	if (json_object_object_get_ex(req, "params", &v)) {
		if (!json_object_is_type(v, json_type_object) &&
		    !json_object_is_type(v, json_type_array))
			return "\"params\" must be an object or an array";
		*params = v;
	}
	return NULL;
}

/* Logs a state-changing request with who sent it and what it asked for. */
static void rpc_log_request(const struct rpc_call *call, struct json_object *params)
{
	const struct control_peer *peer = control_conn_peer(call->conn);
	size_t len = 0;
	const char *text = params ?
		json_object_to_json_string_length(params, JSON_C_TO_STRING_PLAIN |
						  JSON_C_TO_STRING_NOSLASHESCAPE, &len) : "";

	if (!text)
		text = "";
	log_info("%s from uid=%u pid=%d%s%.*s%s", call->method->name,
		 (unsigned int)peer->uid, (int)peer->pid, params ? " params=" : "",
		 rpc_utf8_prefix(text, len, RPC_LOG_PARAMS), text,
		 len > RPC_LOG_PARAMS ? "..." : "");
}

/* Handles one request line: line[len] is NUL, no newline. */
void rpc_on_line(void *arg, struct control_conn *conn, const char *line, size_t len)
{
	struct json_object *req, *id, *params;
	const struct rpc_method *m;
	struct rpc_call *call;
	const char *name, *bad;
	bool ok, has_id;

	(void)arg;
	req = rpc_parse(line, len, &ok);
	if (!ok) {
		rpc_send_error(conn, RPC_PARSE_ERROR, "the request is not valid JSON");
		return;
	}
	bad = rpc_validate(req, &id, &has_id, &name, &params);
	if (bad) {
		rpc_send(conn, rpc_error_new(json_object_get(id), RPC_INVALID_REQUEST, 0, bad));
		json_object_put(req);
		return;
	}
	m = rpc_find(name);
	if (!m) {
		char msg[160];

		snprintf(msg, sizeof(msg), "unknown method \"%.*s\"",
			 rpc_utf8_prefix(name, strlen(name), 100), name);
		log_debug("%s", msg);
		if (has_id)
			rpc_send(conn, rpc_error_new(json_object_get(id),
						     RPC_METHOD_NOT_FOUND, 0, msg));
		json_object_put(req);
		return;
	}
	call = calloc(1, sizeof(*call));
	if (!call) {
		log_error("out of memory for a %s call", m->name);
		if (has_id)
			rpc_send(conn, rpc_error_new(json_object_get(id), RPC_INTERNAL_ERROR,
						     -ENOMEM, "out of memory"));
		json_object_put(req);
		return;
	}
	call->conn = conn;
	call->id = json_object_get(id);
	call->notification = !has_id;
	call->method = m;
	control_conn_hold(conn);
	if (m->changes_state)
		rpc_log_request(call, params);
	else
		log_debug("%s from uid=%u pid=%d", m->name,
			  (unsigned int)control_conn_peer(conn)->uid,
			  (int)control_conn_peer(conn)->pid);
	m->fn(call, params);
	json_object_put(req);
}

/* Sends resp (which owns call->id by now) unless the call is a notification
 * or its client is gone, then frees call. */
static void rpc_finish(struct rpc_call *call, struct json_object *resp)
{
	if (call->notification)
		json_object_put(resp);
	else if (!control_conn_connected(call->conn)) {
		log_debug("dropping the response to %s: the client disconnected",
			  call->method->name);
		json_object_put(resp);
	} else
		rpc_send(call->conn, resp);
	control_conn_release(call->conn);
	free(call);
}

/* Sends a result (ownership of result passes; NULL means {}) and frees call. */
void rpc_reply(struct rpc_call *call, struct json_object *result)
{
	struct json_object *resp = json_object_new_object();

	json_object_object_add(resp, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(resp, "id", call->id);
	json_object_object_add(resp, "result", result ? result : json_object_new_object());
	rpc_finish(call, resp);
}

/* Sends an error with an explicit code, the message formatted from fmt. */
static void rpc_vfail(struct rpc_call *call, int code, int err, const char *fmt,
		      va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (call->method->changes_state)
		log_info("%s failed: %s", call->method->name, msg ? msg : fmt);
	else
		log_debug("%s failed: %s", call->method->name, msg ? msg : fmt);
	rpc_finish(call, rpc_error_new(call->id, code, err, msg ? msg : fmt));
	free(msg);
}

/* Sends an error for -errno err, the code chosen by rpc_errno_code. */
void rpc_fail(struct rpc_call *call, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rpc_vfail(call, rpc_errno_code(err), err, fmt, ap);
	va_end(ap);
}

/* Sends an error with an explicit JSON-RPC code and frees call. */
void rpc_fail_code(struct rpc_call *call, int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rpc_vfail(call, code, err, fmt, ap);
	va_end(ap);
}

/* The peer that sent the call. */
const struct control_peer *rpc_call_peer(const struct rpc_call *call)
{
	return control_conn_peer(call->conn);
}

/* True while the client that sent the call is still connected. */
bool rpc_call_connected(const struct rpc_call *call)
{
	return control_conn_connected(call->conn);
}
