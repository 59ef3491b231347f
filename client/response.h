/* Reading one JSON-RPC 2.0 response line from ublkd. */
#ifndef UBLKCTL_RESPONSE_H
#define UBLKCTL_RESPONSE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "client/failure.h"

/* Parses the response to request id from line (len bytes, no newline).
 * Returns 0 and a new reference to the result in *result (NULL for a JSON
 * null); -EREMOTEIO with the daemon's error in f; -EBADMSG when the line is
 * not one JSON text, -EPROTO when it is not a response to this request. */
int response_parse(const char *line, size_t len, int64_t id,
		   struct json_object **result, struct failure *f);

#endif
