/* One JSON-RPC round trip with ublkd, and the connection it runs on: build the
 * request, send it as a line, read the reply line before a deadline, check it
 * answers this request and split it into result or error. */
#include "config.h"
#include "client/session.h"
#include "common/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The most a receive buffer holds: a longest line and its newline. */
#define SESSION_MAX_BUF	((size_t)UBLKD_MAX_LINE + 1)
#define SESSION_MIN_BUF	((size_t)4096)
/* The most descriptors one request passes (ublkd takes as many). */
#define SESSION_MAX_FDS	4

/* Milliseconds on a clock that only goes forward, for deadlines. */
int64_t session_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Makes s an unconnected session that numbers its requests from 1. */
static void session_init(struct session *s, const char *socket, unsigned timeout)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->socket = socket;
	s->timeout = timeout;
	s->next_id = 1;
}

/* Waits until fd is ready for events or deadline_ms passes. */
static int session_wait(int fd, short events, int64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int ret;

	for (;;) {
		left = deadline_ms - session_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (ret > 0)
			return 0;
		if (ret < 0 && errno != EINTR)
			return -errno;
	}
}

/* Waits for a connect that a signal interrupted and returns its outcome. */
static int session_finish_connect(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

/* Starts a session on an already connected socket, making it non-blocking. */
int session_adopt(struct session *s, int fd, const char *socket, unsigned timeout)
{
	int flags = fcntl(fd, F_GETFL);

	session_init(s, socket, timeout);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	s->fd = fd;
	return 0;
}

/* Connects to the UNIX socket at path; s stays closed on failure. */
static int session_connect(struct session *s, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if (!*path)
		return -ENOENT;
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (ret < 0)
		ret = errno == EINTR ? session_finish_connect(fd) : -errno;
	if (ret == 0)
		ret = session_adopt(s, fd, s->socket, s->timeout);
	if (ret < 0)
		close(fd);
	return ret;
}

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

	session_init(s, socket, timeout);
	ret = session_connect(s, socket);
	if (ret < 0)
		return session_fail(s, f, FAILURE_CONNECT, ret);
	return 0;
}

/* Builds a request object for method with params (a new reference is taken). */
struct json_object *session_request(int64_t id, const char *method, struct json_object *params)
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

/* The request as one line of compact JSON, owned by request. */
const char *session_request_text(struct json_object *request, size_t *len)
{
	return json_object_to_json_string_length(request,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

/* Sends all len bytes before deadline_ms, coping with short writes. */
int session_send(struct session *s, const void *data, size_t len, int64_t deadline_ms)
{
	const char *p = data;
	ssize_t n;
	int ret;

	while (len > 0) {
		n = send(s->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = session_wait(s->fd, POLLOUT, deadline_ms);
			if (ret < 0)
				return ret;
		} else {
			return n < 0 ? -errno : -EIO;
		}
	}
	return 0;
}

/* Makes the next call pass fds with its request line. */
void session_pass_fds(struct session *s, const int *fds, unsigned n)
{
	s->pass = fds;
	s->npass = n;
}

/* Sends the first byte of a request with the descriptors to pass, so they
 * go with the request line's bytes; 1 (one byte sent) or -errno. */
static int session_send_fds(struct session *s, const char *data, int64_t deadline_ms)
{
	union {
		char buf[CMSG_SPACE(SESSION_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf };
	struct cmsghdr *c;
	ssize_t n;
	int ret;

	if (s->npass > SESSION_MAX_FDS)
		return -E2BIG;
	memset(&cbuf, 0, sizeof(cbuf));
	msg.msg_controllen = CMSG_SPACE(s->npass * sizeof(int));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(s->npass * sizeof(int));
	memcpy(CMSG_DATA(c), s->pass, s->npass * sizeof(int));
	for (;;) {
		n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
		if (n == 1)
			return 1;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = session_wait(s->fd, POLLOUT, deadline_ms);
			if (ret < 0)
				return ret;
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
}

/* Sends one request line: the JSON text and its newline, with the
 * descriptors to pass on its first byte. */
static int session_send_request(struct session *s, struct json_object *req, int64_t deadline)
{
	size_t len, off = 0;
	const char *text = session_request_text(req, &len);
	char *line;
	int ret = 0;

	if (!text)
		return -ENOMEM;
	line = malloc(len + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, text, len);
	line[len] = '\n';
	if (s->npass)
		ret = session_send_fds(s, line, deadline);
	if (ret >= 0) {
		off = (size_t)ret;
		ret = session_send(s, line + off, len + 1 - off, deadline);
	}
	free(line);
	return ret;
}

/* Makes room for more bytes in the buffer, up to SESSION_MAX_BUF. */
static int session_grow(struct session *s)
{
	size_t cap = s->cap ? s->cap * 2 : SESSION_MIN_BUF;
	char *buf;

	if (s->len < s->cap)
		return 0;
	if (s->cap >= SESSION_MAX_BUF)
		return -EMSGSIZE;
	if (cap > SESSION_MAX_BUF)
		cap = SESSION_MAX_BUF;
	buf = realloc(s->buf, cap);
	if (!buf)
		return -ENOMEM;
	s->buf = buf;
	s->cap = cap;
	return 0;
}

/* Returns a complete line from the buffer if there is one; *scanned bytes
 * are known to hold no newline. */
static int session_take_line(struct session *s, size_t *scanned, char **line, size_t *len)
{
	char *nl = s->len > *scanned ? memchr(s->buf + *scanned, '\n', s->len - *scanned) : NULL;

	*scanned = s->len;
	if (!nl)
		return -EAGAIN;
	*nl = '\0';
	*line = s->buf;
	*len = (size_t)(nl - s->buf);
	s->used = *len + 1;
	return 0;
}

/* Receives the next line before deadline_ms. */
int session_receive(struct session *s, int64_t deadline_ms, char **line, size_t *len)
{
	size_t scanned = 0;
	ssize_t n;
	int ret;

	if (s->used) {
		memmove(s->buf, s->buf + s->used, s->len - s->used);
		s->len -= s->used;
		s->used = 0;
	}
	for (;;) {
		if (session_take_line(s, &scanned, line, len) == 0)
			return 0;
		ret = session_grow(s);
		if (ret < 0)
			return ret;
		n = read(s->fd, s->buf + s->len, s->cap - s->len);
		if (n > 0) {
			s->len += (size_t)n;
		} else if (n == 0) {
			return s->len ? -ECONNABORTED : -ENODATA;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = session_wait(s->fd, POLLIN, deadline_ms);
			if (ret < 0)
				return ret;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
}

/* Records a response that is JSON but not the JSON-RPC answer expected. */
static int session_invalid(struct failure *f, const char *detail)
{
	return failure_set(f, FAILURE_BAD_REPLY, EPROTO, detail, NULL);
}

/* Parses the whole line as one JSON text; NULL with f set if it is not. */
static struct json_object *session_json(const char *line, size_t len, struct failure *f)
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
static int session_error(struct json_object *error, struct failure *f)
{
	struct json_object *code, *message;

	if (!json_object_is_type(error, json_type_object) ||
	    !json_object_object_get_ex(error, "code", &code) ||
	    !json_object_is_type(code, json_type_int) ||
	    !json_object_object_get_ex(error, "message", &message) ||
	    !json_object_is_type(message, json_type_string))
		return session_invalid(f, "the error has no integer code and string message");
	failure_set(f, FAILURE_DAEMON, EREMOTEIO, NULL, NULL);
	f->code = json_object_get_int64(code);
	snprintf(f->message, sizeof(f->message), "%s", json_object_get_string(message));
	return -EREMOTEIO;
}

/* Parses the response to request id from line. */
int session_response(const char *line, size_t len, int64_t id,
		     struct json_object **result, struct failure *f)
{
	struct json_object *obj, *version, *rid, *error, *res;
	bool has_error, has_result;
	char detail[128];
	int ret;

	*result = NULL;
	obj = session_json(line, len, f);
	if (!obj)
		return -f->err;
	if (!json_object_is_type(obj, json_type_object)) {
		ret = session_invalid(f, "not a JSON-RPC response object");
		goto out;
	}
	if (!json_object_object_get_ex(obj, "jsonrpc", &version) ||
	    !json_object_is_type(version, json_type_string) ||
	    strcmp(json_object_get_string(version), "2.0") != 0) {
		ret = session_invalid(f, "\"jsonrpc\" is not \"2.0\"");
		goto out;
	}
	has_error = json_object_object_get_ex(obj, "error", &error);
	has_result = json_object_object_get_ex(obj, "result", &res);
	if (!json_object_object_get_ex(obj, "id", &rid)) {
		ret = session_invalid(f, "the response has no id");
		goto out;
	}
	/* A server that could not read the request's id answers with id null. */
	if (!(has_error && rid == NULL) &&
	    (!json_object_is_type(rid, json_type_int) || json_object_get_int64(rid) != id)) {
		snprintf(detail, sizeof(detail), "the response's id %s is not the request's %" PRId64,
			 json_object_to_json_string_ext(rid, JSON_C_TO_STRING_PLAIN), id);
		ret = session_invalid(f, detail);
		goto out;
	}
	if (has_error == has_result) {
		ret = session_invalid(f, has_error ? "the response has both result and error"
					      : "the response has neither result nor error");
		goto out;
	}
	if (has_error) {
		ret = session_error(error, f);
		goto out;
	}
	*result = json_object_get(res);
	ret = 0;
out:
	json_object_put(obj);
	return ret;
}

/* Calls method with params and waits for the reply. */
int session_call(struct session *s, const char *method, struct json_object *params,
		 struct json_object **result, struct failure *f)
{
	int64_t id = s->next_id++;
	int64_t deadline = session_now_ms() + (int64_t)s->timeout * 1000;
	struct json_object *req = session_request(id, method, params);
	char *line;
	size_t len;
	int ret;

	*result = NULL;
	if (!req)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "building the request", NULL);
	ret = session_send_request(s, req, deadline);
	json_object_put(req);
	s->pass = NULL;
	s->npass = 0;
	if (ret == -ENOMEM)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "sending the request", NULL);
	/* A daemon that refused the request (a line over its limit, say) may
	 * have answered before it closed: read that even when sending broke. */
	if (ret < 0 && ret != -EPIPE && ret != -ECONNRESET)
		return session_fail(s, f, ret == -ETIMEDOUT ? FAILURE_RECEIVE : FAILURE_SEND, ret);
	ret = session_receive(s, deadline, &line, &len);
	if (ret == -ENOMEM)
		return failure_set(f, FAILURE_SYSTEM, ENOMEM, "reading the reply", NULL);
	if (ret < 0)
		return session_fail(s, f, FAILURE_RECEIVE, ret);
	return session_response(line, len, id, result, f);
}

/* Closes the socket and frees the buffer. */
void session_close(struct session *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	s->fd = -1;
	s->buf = NULL;
	s->len = s->cap = s->used = 0;
}
