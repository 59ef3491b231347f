/* A conversation with ublkd: one connection, requests numbered from 1, each
 * answered before the next is sent. */
#ifndef UBLKCTL_SESSION_H
#define UBLKCTL_SESSION_H

#include <stdint.h>
#include <json-c/json.h>

#include "client/connection.h"
#include "client/failure.h"

struct session {
	struct connection conn;
	const char *socket;	/* for messages */
	unsigned timeout;	/* seconds to wait for each reply */
	int64_t next_id;
};

/* Connects to ublkd at socket. Returns 0, or -errno with f recorded. */
int session_open(struct session *s, const char *socket, unsigned timeout, struct failure *f);

/* Calls method with params (borrowed; NULL: none) and waits for the reply.
 * Returns 0 and a new reference to the result in *result, or -errno with f
 * recorded: -EREMOTEIO is the daemon's error, others are fatal to s. */
int session_call(struct session *s, const char *method, struct json_object *params,
		 struct json_object **result, struct failure *f);

/* Ends the conversation. */
void session_close(struct session *s);

#endif
