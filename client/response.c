/* Checking a JSON-RPC 2.0 response and splitting it into result or error. */
#include "config.h"
#include "client/response.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Records a response that is JSON but not the JSON-RPC answer expected. */
static int response_invalid(struct failure *f, const char *detail)
{
	return failure_set(f, FAILURE_BAD_REPLY, EPROTO, detail, NULL);
}

/* Parses the whole line as one JSON text; NULL with f set if it is not. */
static struct json_object *response_json(const char *line, size_t len, struct failure *f)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (!tok) {
		failure_set(f, FAILURE_SYSTEM, ENOMEM, "reading the reply", NULL);
		return NULL;
	}
	obj = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		failure_set(f, FAILURE_BAD_REPLY, EBADMSG,
			    len ? "the JSON text is incomplete" : "an empty line", NULL);
		return NULL;
	}
	if (jerr != json_tokener_success) {
		failure_set(f, FAILURE_BAD_REPLY, EBADMSG, json_tokener_error_desc(jerr), NULL);
		return NULL;
	}
	for (; end < len; end++) {
		if (!strchr(" \t\r", line[end]) || line[end] == '\0') {
			json_object_put(obj);
			failure_set(f, FAILURE_BAD_REPLY, EBADMSG,
				    "something follows the JSON text", NULL);
			return NULL;
		}
	}
	return obj;
}

/* Copies the daemon's error object into f; -EREMOTEIO, or -EPROTO if malformed. */
static int response_error(struct json_object *error, struct failure *f)
{
	struct json_object *code, *message;

	if (!json_object_is_type(error, json_type_object) ||
	    !json_object_object_get_ex(error, "code", &code) ||
	    !json_object_is_type(code, json_type_int) ||
	    !json_object_object_get_ex(error, "message", &message) ||
	    !json_object_is_type(message, json_type_string))
		return response_invalid(f, "the error has no integer code and string message");
	failure_set(f, FAILURE_DAEMON, EREMOTEIO, NULL, NULL);
	f->code = json_object_get_int64(code);
	snprintf(f->message, sizeof(f->message), "%s", json_object_get_string(message));
	return -EREMOTEIO;
}

/* Parses the response to request id from line. */
int response_parse(const char *line, size_t len, int64_t id,
		   struct json_object **result, struct failure *f)
{
	struct json_object *obj, *version, *rid, *error, *res;
	bool has_error, has_result;
	char detail[128];
	int ret;

	*result = NULL;
	obj = response_json(line, len, f);
	if (!obj)
		return -f->err;
	if (!json_object_is_type(obj, json_type_object)) {
		ret = response_invalid(f, "not a JSON-RPC response object");
		goto out;
	}
	if (!json_object_object_get_ex(obj, "jsonrpc", &version) ||
	    !json_object_is_type(version, json_type_string) ||
	    strcmp(json_object_get_string(version), "2.0") != 0) {
		ret = response_invalid(f, "\"jsonrpc\" is not \"2.0\"");
		goto out;
	}
	has_error = json_object_object_get_ex(obj, "error", &error);
	has_result = json_object_object_get_ex(obj, "result", &res);
	if (!json_object_object_get_ex(obj, "id", &rid)) {
		ret = response_invalid(f, "the response has no id");
		goto out;
	}
	/* A server that could not read the request's id answers with id null. */
	if (!(has_error && rid == NULL) &&
	    (!json_object_is_type(rid, json_type_int) || json_object_get_int64(rid) != id)) {
		snprintf(detail, sizeof(detail), "the response's id %s is not the request's %" PRId64,
			 json_object_to_json_string_ext(rid, JSON_C_TO_STRING_PLAIN), id);
		ret = response_invalid(f, detail);
		goto out;
	}
	if (has_error == has_result) {
		ret = response_invalid(f, has_error ? "the response has both result and error"
					       : "the response has neither result nor error");
		goto out;
	}
	if (has_error) {
		ret = response_error(error, f);
		goto out;
	}
	*result = json_object_get(res);
	ret = 0;
out:
	json_object_put(obj);
	return ret;
}
