/* A conversation with ublkd: one UNIX socket connection carrying JSON-RPC 2.0
 * requests, numbered from 1, each one line answered by one line before the
 * next is sent. session_call is the one round trip every command makes. */
#ifndef UBLKCTL_SESSION_H
#define UBLKCTL_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "client/failure.h"

struct session {
	int fd;			/* -1 when closed */
	const char *socket;	/* for messages */
	unsigned timeout;	/* seconds to wait for each reply */
	int64_t next_id;
	char *buf;		/* bytes received and not yet handed out */
	size_t len;		/* bytes in buf */
	size_t cap;		/* size of buf */
	size_t used;		/* bytes at the start of buf given out as the last line */
	const int *pass;	/* descriptors to pass with the next request */
	unsigned npass;
};

/* Connects to ublkd at socket. Returns 0, or -errno with f recorded; close s
 * with session_close either way. */
int session_open(struct session *s, const char *socket, unsigned timeout, struct failure *f);

/* Starts a session on an already connected socket (for tests and socket
 * pairs), making it non-blocking. Returns 0 or -errno. */
int session_adopt(struct session *s, int fd, const char *socket, unsigned timeout);

/* Calls method with params (borrowed; NULL: none) and waits for the reply.
 * Returns 0 and a new reference to the result in *result (NULL for a JSON
 * null), or -errno with f recorded: -EREMOTEIO is the daemon's error, others
 * are fatal to s. */
int session_call(struct session *s, const char *method, struct json_object *params,
		 struct json_object **result, struct failure *f);

/* Makes the next session_call pass the n descriptors fds (borrowed until
 * it returns) with its request line (SCM_RIGHTS): the request names them
 * by index ("fd": 0). */
void session_pass_fds(struct session *s, const int *fds, unsigned n);

/* Closes the socket and frees the buffer. */
void session_close(struct session *s);

/* The steps of a call, one by one, for the unit tests. */

/* Milliseconds on a clock that only goes forward, for deadlines. */
int64_t session_now_ms(void);

/* Builds {"jsonrpc":"2.0","id":id,"method":method,"params":params}, taking a
 * new reference to params (NULL: no params member). NULL when out of memory. */
struct json_object *session_request(int64_t id, const char *method, struct json_object *params);

/* The request as one line of JSON, without the newline; owned by request. */
const char *session_request_text(struct json_object *request, size_t *len);

/* Sends all len bytes before deadline_ms. Returns 0, -ETIMEDOUT or -errno. */
int session_send(struct session *s, const void *data, size_t len, int64_t deadline_ms);

/* Receives the next line before deadline_ms. On 0, *line is NUL-terminated
 * without its newline, *len long, valid until the next call. Errors:
 * -ENODATA (closed before any byte), -ECONNABORTED (closed mid-line),
 * -EMSGSIZE (longer than UBLKD_MAX_LINE), -ETIMEDOUT, -ENOMEM, -errno. */
int session_receive(struct session *s, int64_t deadline_ms, char **line, size_t *len);

/* Parses the response to request id from line (len bytes, no newline).
 * Returns 0 and a new reference to the result in *result (NULL for a JSON
 * null); -EREMOTEIO with the daemon's error in f; -EBADMSG when the line is
 * not one JSON text, -EPROTO when it is not a response to this request. */
int session_response(const char *line, size_t len, int64_t id,
		     struct json_object **result, struct failure *f);

#endif
