/* Test harness for the control socket: a server loop in a thread, rpc.c
 * dispatching to fake methods, and blocking clients that talk to it line by
 * line. */
#include "config.h"
#include "control_harness.h"
#include "common/protocol.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

struct harness_stats harness_stats;

static struct {
	struct ev_loop *loop;
	pthread_t thread;
	ev_async stop;
	char dir[64];
	char paths[4][192];
} harness;

/* A "later" call waiting for its timer. */
struct harness_later {
	ev_timer timer;
	struct rpc_call *call;
	struct json_object *params;
};

/* "echo" and "state": replies its params. */
static void harness_echo(struct rpc_call *call, struct json_object *params)
{
	__atomic_add_fetch(&harness_stats.echo_calls, 1, __ATOMIC_SEQ_CST);
	rpc_reply(call, json_object_get(params));
}

/* Answers a "later" call when its timer fires. */
static void harness_later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct harness_later *l = (struct harness_later *)w;

	(void)loop;
	(void)revents;
	if (!rpc_call_connected(l->call))
		__atomic_add_fetch(&harness_stats.later_disconnected, 1, __ATOMIC_SEQ_CST);
	/* The peer must still be readable after a disconnect. */
	if (rpc_call_peer(l->call)->uid != getuid())
		abort();
	/* Counted first: the reply may reach the client at once. */
	__atomic_add_fetch(&harness_stats.later_done, 1, __ATOMIC_SEQ_CST);
	rpc_reply(l->call, l->params);
	free(l);
}

/* "later": replies its params after params.ms milliseconds (default 200). */
static void harness_later(struct rpc_call *call, struct json_object *params)
{
	struct harness_later *l = calloc(1, sizeof(*l));
	struct json_object *ms = NULL;
	double delay = 0.2;

	if (!l) {
		rpc_fail(call, -ENOMEM, "out of memory");
		return;
	}
	if (params && json_object_object_get_ex(params, "ms", &ms))
		delay = json_object_get_int(ms) / 1000.0;
	l->call = call;
	l->params = json_object_get(params);
	ev_timer_init(&l->timer, harness_later_cb, delay, 0.);
	ev_timer_start(harness.loop, &l->timer);
}

/* "fail": fails with ENOENT. */
static void harness_fail(struct rpc_call *call, struct json_object *params)
{
	(void)params;
	rpc_fail(call, -ENOENT, "no such thing: %s", "thing");
}

/* "bad": fails with EINVAL. */
static void harness_bad(struct rpc_call *call, struct json_object *params)
{
	(void)params;
	rpc_fail(call, -EINVAL, "bad parameter %d", 7);
}

/* Reads an integer member of params, or dflt. */
static int harness_int(struct json_object *params, const char *key, int dflt)
{
	struct json_object *v;

	if (params && json_object_object_get_ex(params, key, &v))
		return json_object_get_int(v);
	return dflt;
}

/* "errno": fails with -params.err. */
static void harness_errno(struct rpc_call *call, struct json_object *params)
{
	int err = harness_int(params, "err", 0);

	rpc_fail(call, -err, "failed with errno %d", err);
}

/* "code": fails with params.code and -params.err. */
static void harness_code(struct rpc_call *call, struct json_object *params)
{
	rpc_fail_code(call, harness_int(params, "code", 0), -harness_int(params, "err", 0),
		      "explicit code");
}

/* "big": replies a string longer than a line may be. */
static void harness_big(struct rpc_call *call, struct json_object *params)
{
	size_t len = UBLKD_MAX_LINE + 10;
	char *s = malloc(len);

	(void)params;
	memset(s, 'b', len);
	rpc_reply(call, json_object_new_string_len(s, (int)len));
	free(s);
}

/* "peer": replies the caller's credentials. */
static void harness_peer(struct rpc_call *call, struct json_object *params)
{
	const struct control_peer *p = rpc_call_peer(call);
	struct json_object *r = json_object_new_object();

	(void)params;
	json_object_object_add(r, "uid", json_object_new_int64(p->uid));
	json_object_object_add(r, "gid", json_object_new_int64(p->gid));
	json_object_object_add(r, "pid", json_object_new_int64(p->pid));
	json_object_object_add(r, "connected", json_object_new_boolean(rpc_call_connected(call)));
	rpc_reply(call, r);
}

/* "notutf8": replies strings that are not UTF-8, as a backend might
 * report a zip member's name. */
static void harness_notutf8(struct rpc_call *call, struct json_object *params)
{
	struct json_object *r = json_object_new_object(), *a = json_object_new_array();

	(void)params;
	json_object_array_add(a, json_object_new_string("a\xff" "b\xc3"));
	json_object_object_add(r, "names", a);
	json_object_object_add(r, "fine", json_object_new_string("\xc3\xa9"));
	rpc_reply(call, r);
}

/* "null": replies a NULL result. */
static void harness_null(struct rpc_call *call, struct json_object *params)
{
	(void)params;
	rpc_reply(call, NULL);
}

/* "stop": replies, then stops the control socket from inside the method. */
static void harness_stopper(struct rpc_call *call, struct json_object *params)
{
	(void)params;
	rpc_reply(call, NULL);
	control_stop(harness.loop);
}

static const struct rpc_method harness_methods[] = {
	{ "echo", harness_echo, false },
	{ "state", harness_echo, true },
	{ "later", harness_later, false },
	{ "fail", harness_fail, false },
	{ "bad", harness_bad, false },
	{ "errno", harness_errno, false },
	{ "code", harness_code, false },
	{ "big", harness_big, false },
	{ "peer", harness_peer, false },
	{ "null", harness_null, false },
	{ "notutf8", harness_notutf8, false },
	{ "stop", harness_stopper, true },
	{ NULL, NULL, false },
};

/* How main.c wires the control socket to rpc.c. */
static const struct control_handler harness_handler = {
	.line = rpc_on_line,
	.too_long = rpc_on_too_long,
	.refused = rpc_on_refused,
};

/* A fresh temporary directory for a test. */
const char *harness_dir(void)
{
	if (!harness.dir[0]) {
		strcpy(harness.dir, "/tmp/ublkd-test-XXXXXX");
		if (!mkdtemp(harness.dir))
			abort();
	}
	return harness.dir;
}

/* A path inside harness_dir(). */
const char *harness_path(int slot, const char *name)
{
	snprintf(harness.paths[slot], sizeof(harness.paths[slot]), "%s/%s",
		 harness_dir(), name);
	return harness.paths[slot];
}

/* Removes one entry for nftw. */
static int harness_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Removes everything harness_dir() holds, and the directory. */
void harness_cleanup(void)
{
	if (harness.dir[0])
		nftw(harness.dir, harness_rm, 8, FTW_DEPTH | FTW_PHYS);
	harness.dir[0] = '\0';
}

/* Runs the loop until it has nothing left to do. */
static void *harness_run(void *arg)
{
	(void)arg;
	ev_run(harness.loop, 0);
	return NULL;
}

/* Stops the control socket, in the loop thread. */
static void harness_stop_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)revents;
	control_stop(loop);
	ev_async_stop(loop, w);
}

/* rpc_init with methods, control_start with opts and rpc.c as its handler,
 * then the loop in a thread. */
int harness_start_methods(const struct control_opts *opts, const struct rpc_method *methods)
{
	struct control_opts o = *opts;
	int err;

	memset(&harness_stats, 0, sizeof(harness_stats));
	rpc_init(methods);
	if (!o.handler)
		o.handler = &harness_handler;
	harness.loop = ev_loop_new(EVFLAG_AUTO);
	if (!harness.loop)
		abort();
	err = control_start(harness.loop, &o);
	if (err) {
		ev_loop_destroy(harness.loop);
		harness.loop = NULL;
		return err;
	}
	ev_async_init(&harness.stop, harness_stop_cb);
	ev_async_start(harness.loop, &harness.stop);
	if (pthread_create(&harness.thread, NULL, harness_run, NULL))
		abort();
	return 0;
}

/* harness_start_methods with the fake methods. */
int harness_start(const struct control_opts *opts)
{
	return harness_start_methods(opts, harness_methods);
}

/* Stops the control socket and waits for the loop to run dry. */
void harness_stop(void)
{
	if (!harness.loop)
		return;
	ev_async_send(harness.loop, &harness.stop);
	pthread_join(harness.thread, NULL);
	ev_loop_destroy(harness.loop);
	harness.loop = NULL;
}

/* Connects to path with send and receive timeouts. */
struct client client_open(const char *path)
{
	struct client c = { .fd = -1 };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 20 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return c;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return c;
	}
	c.fd = fd;
	return c;
}

/* Closes the client's socket and frees its buffer. */
void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Sends all of text. */
int client_send(struct client *c, const char *text, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, text, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends a NUL-terminated string. */
int client_puts(struct client *c, const char *text)
{
	return client_send(c, text, strlen(text));
}

/* Receives more bytes into c->buf; >0, 0 at EOF, or -errno. */
static ssize_t client_fill(struct client *c)
{
	ssize_t n;

	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 65536 * 2;
		c->buf = realloc(c->buf, c->cap);
		if (!c->buf)
			abort();
	}
	do
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	c->len += (size_t)n;
	return n;
}

/* Receives one line without its newline. */
char *client_line(struct client *c)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;

		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			char *line = strndup(c->buf, n);

			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return line;
		}
		if (client_fill(c) <= 0)
			return NULL;
	}
}

/* Receives one line and parses it as JSON. */
struct json_object *client_json(struct client *c)
{
	char *line = client_line(c);
	struct json_object *obj;

	if (!line)
		return NULL;
	obj = json_tokener_parse(line);
	free(line);
	return obj;
}

/* True if the server closed the connection with nothing more to read. */
bool client_eof(struct client *c)
{
	ssize_t n;

	if (c->len)
		return false;
	n = client_fill(c);
	return n == 0 || n == -ECONNRESET || n == -EPIPE;
}

/* Looks up error.<key> in a response. */
static struct json_object *resp_error_member(struct json_object *resp, const char *key)
{
	struct json_object *err, *v;

	if (!resp || !json_object_object_get_ex(resp, "error", &err) ||
	    !json_object_object_get_ex(err, key, &v))
		return NULL;
	return v;
}

/* The response's error.code, or 0. */
int resp_code(struct json_object *resp)
{
	struct json_object *v = resp_error_member(resp, "code");

	return v ? json_object_get_int(v) : 0;
}

/* The response's id serialized. */
const char *resp_id(struct json_object *resp)
{
	static char buf[256];
	struct json_object *id;

	if (!resp || !json_object_object_get_ex(resp, "id", &id))
		return "(missing)";
	snprintf(buf, sizeof(buf), "%s",
		 json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE));
	return buf;
}

/* error.data, or NULL. */
struct json_object *resp_data(struct json_object *resp)
{
	return resp_error_member(resp, "data");
}

/* error.data.errno, or NULL. */
const char *resp_errno(struct json_object *resp)
{
	struct json_object *data = resp_data(resp), *v;

	if (!data || !json_object_object_get_ex(data, "errno", &v))
		return NULL;
	return json_object_get_string(v);
}

/* error.message, or NULL. */
const char *resp_message(struct json_object *resp)
{
	struct json_object *v = resp_error_member(resp, "message");

	return v ? json_object_get_string(v) : NULL;
}
