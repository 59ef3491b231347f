/* JSON-RPC 2.0 requests and responses: parses a request line, finds its
 * method in the table given to rpc_init, and turns the method's answer into
 * a response line. */
#include "config.h"
#include "rpc.h"
#include "control.h"
#include "daemon/json_strict.h"
#include "daemon/rpc_log.h"
#include "common/errname.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a request's params an info log line shows. */
#define RPC_LOG_PARAMS	200
/* An error message is cut (at a character) to this many bytes. */
#define RPC_MAX_MESSAGE	1024
/* How much of a number out of range an error message quotes. */
#define RPC_QUOTE	40

struct rpc_call {
	struct control_conn *conn;	/* held until the call is answered */
	struct json_object *id;		/* NULL is JSON null */
	bool notification;		/* no id member: no response at all */
	bool logged;			/* the request line was logged */
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

/* Makes every string value in obj strict UTF-8 ('?' for a stray byte):
 * what a backend reports (a zip member's name) need not be. */
static void rpc_repair(struct json_object *obj)
{
	const char *s;
	size_t len;
	char *copy;

	switch (json_object_get_type(obj)) {
	case json_type_object:
		json_object_object_foreach(obj, key, val) {
			(void)key;
			rpc_repair(val);
		}
		break;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(obj); i++)
			rpc_repair(json_object_array_get_idx(obj, i));
		break;
	case json_type_string:
		s = json_object_get_string(obj);
		len = (size_t)json_object_get_string_len(obj);
		if (text_utf8_valid(s, len) || !(copy = malloc(len + 1)))
			break;
		memcpy(copy, s, len + 1);
		len = text_utf8_repair(copy, len);
		json_object_set_string_len(obj, copy, (int)len);
		free(copy);
		break;
	default:
		break;
	}
}

/* Sends one response object on conn and drops it. Strings that are not
 * strict UTF-8 are repaired; a response too long for a line, or still not
 * UTF-8, is replaced with an internal error. */
static void rpc_send(struct control_conn *conn, struct json_object *resp)
{
	const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	size_t len;
	const char *text = json_object_to_json_string_length(resp, flags, &len);
	bool utf8 = !text || text_utf8_valid(text, len);

	if (!utf8) {
		log_warn("a response holds text that is not UTF-8; sending it with '?' instead");
		rpc_repair(resp);
		text = json_object_to_json_string_length(resp, flags, &len);
		utf8 = !text || text_utf8_valid(text, len);
	}

	/* The id is short (rpc_validate), so the error that replaces a reply
	 * too long or not UTF-8 is short. */
	if (text && (len > UBLKD_MAX_LINE || !utf8)) {
		struct json_object *id = json_object_get(json_object_object_get(resp, "id"));
		char msg[96];

		if (utf8) {
			log_warn("a response of %zu bytes exceeds the line limit of %d bytes",
				 len, UBLKD_MAX_LINE);
			snprintf(msg, sizeof(msg), "the response exceeds the line limit of %d bytes",
				 UBLKD_MAX_LINE);
		} else {
			log_error("a response of %zu bytes is not valid UTF-8", len);
			snprintf(msg, sizeof(msg), "the response is not valid UTF-8");
		}
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
	case -EPERM:
		return RPC_NOT_PERMITTED;
	case -EDQUOT:
		return RPC_QUOTA_EXCEEDED;
	default:
		return RPC_DEVICE_ERROR;
	}
}

/* How many bytes of the UTF-8 string s (len bytes) fit in max without
 * splitting a character, as an int for "%.*s". */
static int rpc_utf8_prefix(const char *s, size_t len, size_t max)
{
	return (int)text_utf8_cut(s, len, max);
}

/* Parses a whole line as one JSON text; NULL with *ok false if it is not
 * (NULL with *ok true is JSON null). The line is read strictly first
 * (json_strict.h); what that found beyond syntax is left in *rep. */
static struct json_object *rpc_parse(const char *line, size_t len, bool *ok,
				     struct json_strict_report *rep)
{
	struct json_tokener *tok;
	struct json_object *obj;

	*ok = false;
	if (len > UBLKD_MAX_LINE || json_strict_check(line, len, rep) < 0)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
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

/* Checks the id member v: a string of at most UBLKD_MAX_ID bytes, an
 * integer that fits in 64 bits (rep says if json-c clamped it) or null.
 * Returns NULL or a message (in buf) for an invalid request. */
static const char *rpc_validate_id(struct json_object *v,
				   const struct json_strict_report *rep,
				   char *buf, size_t buflen)
{
	if (rep->id_range) {
		snprintf(buf, buflen, "\"id\": %.*s%s is out of range (an integer id must fit "
			 "in 64 bits)", rpc_utf8_prefix(rep->id_range, rep->id_range_len, RPC_QUOTE),
			 rep->id_range, rep->id_range_len > RPC_QUOTE ? "..." : "");
		return buf;
	}
	if (json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > UBLKD_MAX_ID) {
		snprintf(buf, buflen, "\"id\": a string id of %d bytes is longer than the "
			 "limit of %d", json_object_get_string_len(v), UBLKD_MAX_ID);
		return buf;
	}
	if (v && !json_object_is_type(v, json_type_string) &&
	    !json_object_is_type(v, json_type_int))
		return "\"id\" must be a string, an integer or null";
	return NULL;
}

/* Checks the request's members; on success fills the outputs (borrowed from
 * req), else returns a message (maybe in buf) for an invalid request. */
static const char *rpc_validate(struct json_object *req, const struct json_strict_report *rep,
				struct json_object **id, bool *has_id, const char **method,
				struct json_object **params, char *buf, size_t buflen)
{
	const char *bad;
	struct json_object *v;

	*id = NULL;
	*has_id = false;
	if (json_object_is_type(req, json_type_array))
		return "batch requests are not supported";
	if (!json_object_is_type(req, json_type_object))
		return "a request must be a JSON object";
	/* json-c cuts a name at its NUL: "id\u0000x" would be the id. */
	if (rep->nul_name)
		return "member names must not contain NUL characters (\\u0000)";
	/* The id first, so that the other errors can carry it. */
	if (json_object_object_get_ex(req, "id", &v)) {
		bad = rpc_validate_id(v, rep, buf, buflen);
		if (bad)
			return bad;
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

/* Logs a state-changing request with who sent it and what it asked for:
 * params as the client wrote them (json-c would show a clamped number). */
static void rpc_log_request(const struct rpc_call *call, struct json_object *params,
			    const struct json_strict_report *rep)
{
	const struct control_peer *peer = control_conn_peer(call->conn);
	size_t len = params && rep->params ? rep->params_len : 0;
	const char *text = len ? rep->params : "";

	log_info("%s from uid=%u pid=%d%s%.*s%s", call->method->name,
		 (unsigned int)peer->uid, (int)peer->pid, params ? " params=" : "",
		 rpc_utf8_prefix(text, len, RPC_LOG_PARAMS), text,
		 len > RPC_LOG_PARAMS ? "..." : "");
}

/* Answers call (-EINVAL, invalid params) if json_strict found a number out
 * of range or a name with a NUL in its params; true if it did. */
static bool rpc_params_problem(struct rpc_call *call, const struct json_strict_report *rep)
{
	const char *name = rep->name[0] ? rep->name : "params";

	if (rep->depth < 2 || strcmp(rep->member, "params") != 0)
		return false;
	if (rep->problem == JSON_STRICT_RANGE) {
		rpc_fail(call, -EINVAL, "%s: %.*s%s is out of range (numbers must fit in 64 bits)",
			 name, rpc_utf8_prefix(rep->token, rep->token_len, RPC_QUOTE), rep->token,
			 rep->token_len > RPC_QUOTE ? "..." : "");
		return true;
	}
	if (rep->problem == JSON_STRICT_NUL_NAME) {
		rpc_fail(call, -EINVAL, "params: the name \"%s\"%s contains a NUL character "
			 "(\\u0000)", rep->name, rep->depth > 2 ? " (or a name inside it)" : "");
		return true;
	}
	return false;
}

/* Handles one request line: line[len] is NUL, no newline. */
void rpc_on_line(void *arg, struct control_conn *conn, const char *line, size_t len)
{
	struct json_object *req, *id, *params;
	struct json_strict_report rep;
	const struct rpc_method *m;
	struct rpc_call *call;
	const char *name, *bad;
	bool ok, has_id;
	char buf[160];

	(void)arg;
	req = rpc_parse(line, len, &ok, &rep);
	if (!ok) {
		if (rep.problem == JSON_STRICT_SYNTAX) {
			snprintf(buf, sizeof(buf), "the request is not valid JSON: %s (at byte %zu)",
				 rep.what, rep.offset);
			rpc_send_error(conn, RPC_PARSE_ERROR, buf);
		} else {
			rpc_send_error(conn, RPC_PARSE_ERROR, "the request is not valid JSON");
		}
		return;
	}
	bad = rpc_validate(req, &rep, &id, &has_id, &name, &params, buf, sizeof(buf));
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
		if (rpc_log_allow(control_conn_peer(conn), LOG_LEVEL_DEBUG))
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
	call->logged = rpc_log_allow(control_conn_peer(conn), m->changes_state ?
				     LOG_LEVEL_INFO : LOG_LEVEL_DEBUG);
	if (call->logged && m->changes_state)
		rpc_log_request(call, params, &rep);
	else if (call->logged)
		log_debug("%s from uid=%u pid=%d", m->name,
			  (unsigned int)control_conn_peer(conn)->uid,
			  (int)control_conn_peer(conn)->pid);
	if (!rpc_params_problem(call, &rep))
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
	/* Messages quote what clients sent: short, strict UTF-8, never cut
	 * inside a character. */
	if (msg && strlen(msg) > RPC_MAX_MESSAGE)
		strcpy(msg + text_utf8_cut(msg, strlen(msg), RPC_MAX_MESSAGE - 3), "...");
	if (msg)
		text_utf8_repair(msg, strlen(msg));
	if (call->logged && call->method->changes_state)
		log_info("%s failed: %s", call->method->name, msg ? msg : fmt);
	else if (call->logged)
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

/* How many descriptors came with the request being dispatched. */
unsigned rpc_call_fds(const struct rpc_call *call, unsigned *dropped)
{
	return control_conn_fds(call->conn, dropped);
}

/* Takes the i-th descriptor of the request being dispatched. */
int rpc_call_take_fd(struct rpc_call *call, unsigned i)
{
	return control_conn_take_fd(call->conn, i);
}
