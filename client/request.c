/* Building JSON-RPC 2.0 requests with json-c. */
#include "config.h"
#include "client/request.h"

/* Builds a request object for method with params (a new reference is taken). */
struct json_object *request_new(int64_t id, const char *method, struct json_object *params)
{
	struct json_object *req = json_object_new_object();

	if (!req)
		return NULL;
	if (json_object_object_add(req, "jsonrpc", json_object_new_string("2.0")) < 0 ||
	    json_object_object_add(req, "id", json_object_new_int64(id)) < 0 ||
	    json_object_object_add(req, "method", json_object_new_string(method)) < 0)
		goto fail;
	if (params && json_object_object_add(req, "params", json_object_get(params)) < 0) {
		json_object_put(params);
		goto fail;
	}
	return req;
fail:
	json_object_put(req);
	return NULL;
}

/* Builds the params {"id": id} that name one device. */
struct json_object *request_device_params(int64_t id)
{
	struct json_object *params = json_object_new_object();

	if (params && json_object_object_add(params, "id", json_object_new_int64(id)) < 0) {
		json_object_put(params);
		return NULL;
	}
	return params;
}

/* The request as one line of compact JSON, owned by request. */
const char *request_text(struct json_object *request, size_t *len)
{
	return json_object_to_json_string_length(request,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}
