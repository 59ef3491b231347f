/* Sending requests to ublkd and matching their replies. */
#include "config.h"
#include "client/session.h"
#include "client/request.h"
#include "client/response.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Records a transport failure with the socket and timeout for the message. */
static int session_fail(struct session *s, struct failure *f, enum failure_kind kind, int err)
{
	failure_set(f, kind, -err, NULL, NULL);
	f->socket = s->socket;
	f->timeout = s->timeout;
	return err;
}

/* Connects to ublkd at socket. */
int session_open(struct session *s, const char *socket, unsigned timeout, struct failure *f)
{
	int ret;

	s->socket = socket;
	s->timeout = timeout;
	s->next_id = 1;
	ret = connection_open(&s->conn, socket);
	if (ret < 0)
		return session_fail(s, f, FAILURE_CONNECT, ret);
	return 0;
}

/* Sends one request line: the JSON text and its newline. */
static int session_send(struct session *s, struct json_object *req, int64_t deadline)
{
	size_t len;
	const char *text = request_text(req, &len);
	char *line;
	int ret;

	if (!text)
		return -ENOMEM;
	line = malloc(len + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, text, len);
	line[len] = '\n';
	ret = connection_send(&s->conn, line, len + 1, deadline);
	free(line);
	return ret;
}

/* Calls method with params and waits for the reply. */
int session_call(struct session *s, const char *method, struct json_object *params,
		 struct json_object **result, struct failure *f)
{
	int64_t id = s->next_id++;
	int64_t deadline = connection_now_ms() + (int64_t)s->timeout * 1000;
	struct json_object *req = request_new(id, method, params);
	char *line;
	size_t len;
	int ret;

	*result = NULL;
	if (!req)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
	ret = session_send(s, req, deadline);
	json_object_put(req);
	if (ret == -ENOMEM)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "sending the request", NULL);
	/* A daemon that refused the request (a line over its limit, say) may
	 * have answered before it closed: read that even when sending broke. */
	if (ret < 0 && ret != -EPIPE && ret != -ECONNRESET)
		return session_fail(s, f, ret == -ETIMEDOUT ? FAILURE_RECEIVE : FAILURE_SEND, ret);
	ret = connection_receive(&s->conn, deadline, &line, &len);
	if (ret == -ENOMEM)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "reading the reply", NULL);
	if (ret < 0)
		return session_fail(s, f, FAILURE_RECEIVE, ret);
	return response_parse(line, len, id, result, f);
}

/* Ends the conversation. */
void session_close(struct session *s)
{
	connection_close(&s->conn);
}
