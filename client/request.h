/* JSON-RPC 2.0 requests as ublkctl sends them. */
#ifndef UBLKCTL_REQUEST_H
#define UBLKCTL_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Builds {"jsonrpc":"2.0","id":id,"method":method,"params":params}, taking a
 * new reference to params (NULL: no params member). NULL when out of memory. */
struct json_object *request_new(int64_t id, const char *method, struct json_object *params);

/* Builds the params {"id": id} that name one device. NULL when out of memory. */
struct json_object *request_device_params(int64_t id);

/* The request as one line of JSON, without the newline; owned by request. */
const char *request_text(struct json_object *request, size_t *len);

#endif
