/* The control socket's clients: accepting them, and moving bytes between
 * each client and the line handler, one request line at a time. */
#include "config.h"
#include "control.h"
#include "control_socket.h"
#include "common/log.h"
#include "common/protocol.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How much a read asks for at least. */
#define CONTROL_READ_CHUNK	(64 * 1024)
/* A client's requests are not read while this much output waits for it. */
#define CONTROL_OUT_HIGH	(4 * UBLKD_MAX_LINE)
/* Buffers bigger than this are given back when they empty. */
#define CONTROL_KEEP_BUF	(2 * CONTROL_READ_CHUNK)
/* How long and how much a refused connection is drained before closing. */
#define CONTROL_LINGER_SECONDS	5.0
#define CONTROL_LINGER_BYTES	(16 * UBLKD_MAX_LINE)
/* Connections accepted per wakeup of the listening socket. */
#define CONTROL_ACCEPT_BURST	16
/* Seconds accepting pauses after running out of descriptors or memory. */
#define CONTROL_ACCEPT_PAUSE	1.0

struct control_conn {
	struct control_conn *prev, *next;	/* control.conns while open */
	int fd;
	unsigned long serial;			/* for logs */
	struct control_peer peer;
	ev_io rio, wio;
	char *in;				/* received, not yet handled */
	size_t in_len, in_cap;
	char *out;				/* out[out_off..out_len) unsent */
	size_t out_off, out_len, out_cap;
	unsigned int holds;			/* pending calls, dispatch */
	bool reading;				/* requests are still wanted */
	bool draining;				/* refused: input is dropped */
	size_t drained;				/* bytes dropped so far */
	ev_timer linger;			/* closes a draining conn */
	bool closed;				/* fd closed; freed at 0 holds */
};

static struct {
	struct ev_loop *loop;
	struct control_socket sock;	/* fd -1 when stopped */
	struct control_handler handler;
	ev_io io;
	ev_timer pause;
	struct control_conn *conns;
	unsigned long serial;
} control = { .sock.fd = -1 };

/* Bytes queued for the peer and not yet sent. */
static size_t control_conn_pending(const struct control_conn *conn)
{
	return conn->out_len - conn->out_off;
}

/* Starts or stops conn's watchers to match what it waits for. */
static void control_conn_update(struct control_conn *conn)
{
	bool want_read = conn->reading && control_conn_pending(conn) < CONTROL_OUT_HIGH;
	bool want_write = control_conn_pending(conn) > 0;

	if (want_read && !ev_is_active(&conn->rio)) {
		ev_io_start(control.loop, &conn->rio);
	} else if (!want_read && ev_is_active(&conn->rio)) {
		ev_io_stop(control.loop, &conn->rio);
		if (conn->reading)
			log_debug("connection %lu: %zu bytes of replies wait; pausing requests",
				  conn->serial, control_conn_pending(conn));
	}
	if (want_write && !ev_is_active(&conn->wio))
		ev_io_start(control.loop, &conn->wio);
	else if (!want_write && ev_is_active(&conn->wio))
		ev_io_stop(control.loop, &conn->wio);
}

/* Closes conn's socket and drops its buffers; its memory lasts while held. */
static void control_conn_close(struct control_conn *conn)
{
	if (conn->closed)
		return;
	ev_io_stop(control.loop, &conn->rio);
	ev_io_stop(control.loop, &conn->wio);
	ev_timer_stop(control.loop, &conn->linger);
	close(conn->fd);
	conn->fd = -1;
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		control.conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	conn->prev = conn->next = NULL;
	free(conn->in);
	free(conn->out);
	conn->in = conn->out = NULL;
	conn->in_len = conn->in_cap = conn->out_off = conn->out_len = conn->out_cap = 0;
	conn->reading = false;
	conn->closed = true;
	log_debug("connection %lu closed", conn->serial);
	if (!conn->holds)
		free(conn);
}

/* Closes conn once it has nothing left to do: no more requests wanted, all
 * output sent and no call pending. */
static void control_conn_maybe_finish(struct control_conn *conn)
{
	if (!conn->closed && !conn->reading && !conn->holds &&
	    !control_conn_pending(conn))
		control_conn_close(conn);
}

/* Keeps conn valid (though maybe closed) until the matching release. */
void control_conn_hold(struct control_conn *conn)
{
	conn->holds++;
}

/* Drops a hold; frees conn if it is closed and this was the last. */
void control_conn_release(struct control_conn *conn)
{
	if (--conn->holds)
		return;
	if (conn->closed)
		free(conn);
	else
		control_conn_maybe_finish(conn);
}

/* The credentials of the peer, read at accept. */
const struct control_peer *control_conn_peer(const struct control_conn *conn)
{
	return &conn->peer;
}

/* True until the connection is closed. */
bool control_conn_connected(const struct control_conn *conn)
{
	return !conn->closed;
}

/* Sends as much queued output as the socket takes; 0 or -errno. */
static int control_conn_flush(struct control_conn *conn)
{
	while (control_conn_pending(conn)) {
		ssize_t n = send(conn->fd, conn->out + conn->out_off,
				 control_conn_pending(conn), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			log_debug("connection %lu: cannot send: %s", conn->serial,
				  strerror(errno));
			return -errno;
		}
		conn->out_off += (size_t)n;
	}
	conn->out_off = conn->out_len = 0;
	if (conn->out_cap > CONTROL_KEEP_BUF) {
		free(conn->out);
		conn->out = NULL;
		conn->out_cap = 0;
	}
	return 0;
}

/* Queues line and a newline for the peer; 0, or -ENOTCONN once closed. */
int control_conn_send(struct control_conn *conn, const char *line, size_t len)
{
	size_t need = len + 1;

	if (conn->closed)
		return -ENOTCONN;
	if (conn->out_cap - conn->out_len < need && conn->out_off) {
		memmove(conn->out, conn->out + conn->out_off, control_conn_pending(conn));
		conn->out_len -= conn->out_off;
		conn->out_off = 0;
	}
	if (conn->out_cap - conn->out_len < need) {
		size_t cap = conn->out_cap ? conn->out_cap * 2 : 4096;
		char *out;

		while (cap - conn->out_len < need)
			cap *= 2;
		out = realloc(conn->out, cap);
		if (!out) {
			log_error("connection %lu: out of memory for a reply", conn->serial);
			return -ENOMEM;
		}
		conn->out = out;
		conn->out_cap = cap;
	}
	memcpy(conn->out + conn->out_len, line, len);
	conn->out[conn->out_len + len] = '\n';
	conn->out_len += need;
	control_conn_update(conn);
	return 0;
}

/* Makes room for at least want more received bytes; 0 or -ENOMEM. */
static int control_conn_reserve(struct control_conn *conn, size_t want)
{
	size_t cap = conn->in_cap ? conn->in_cap : CONTROL_READ_CHUNK;
	char *in;

	if (conn->in_cap - conn->in_len >= want)
		return 0;
	while (cap - conn->in_len < want)
		cap *= 2;
	in = realloc(conn->in, cap);
	if (!in)
		return -ENOMEM;
	conn->in = in;
	conn->in_cap = cap;
	return 0;
}

/* The linger time of a refused connection is over. */
static void control_conn_linger_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	control_conn_close(w->data);
}

/* Reads and drops what a refused peer still sends; closes at its end. */
static void control_conn_drain(struct control_conn *conn)
{
	char buf[65536];
	ssize_t n = recv(conn->fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		conn->drained += (size_t)n;
	if (n > 0 && conn->drained <= CONTROL_LINGER_BYTES)
		return;
	/* The peer stopped (or sent too much): the error still goes out
	 * first; the linger timer bounds how long that may take. */
	conn->reading = false;
	if (control_conn_flush(conn) < 0) {
		control_conn_close(conn);
		return;
	}
	control_conn_update(conn);
	control_conn_maybe_finish(conn);
}

/* Answers a request line over the limit, then closes conn. A peer still
 * writing the line would get a broken pipe before it could read the error,
 * so what it sends meanwhile is read and dropped until it stops, for at most
 * CONTROL_LINGER_SECONDS and CONTROL_LINGER_BYTES. */
static void control_conn_too_long(struct control_conn *conn)
{
	char msg[96];

	log_warn("connection %lu (uid=%u pid=%d): request line longer than %d bytes; "
		 "closing the connection", conn->serial, (unsigned int)conn->peer.uid,
		 (int)conn->peer.pid, UBLKD_MAX_LINE);
	snprintf(msg, sizeof(msg), "request line longer than the limit of %d bytes",
		 UBLKD_MAX_LINE);
	control.handler.too_long(control.handler.arg, conn, msg);
	free(conn->in);
	conn->in = NULL;
	conn->in_len = conn->in_cap = 0;
	conn->draining = true;
	ev_timer_start(control.loop, &conn->linger);
	control_conn_update(conn);
}

/* True if line holds nothing but JSON whitespace. */
static bool control_line_blank(const char *line, size_t len)
{
	return strspn(line, " \t\r") >= len;
}

/* Hands every complete line received to the handler; at EOF an unterminated
 * last line counts too. conn is held by the caller. */
static void control_conn_process(struct control_conn *conn, bool at_eof)
{
	size_t start = 0, rest;

	while (conn->reading) {
		char *line = conn->in + start, *nl;
		size_t len, avail = conn->in_len - start;

		nl = memchr(line, '\n', avail);
		if (nl)
			len = (size_t)(nl - line);
		else if (at_eof && avail)
			len = avail;	/* the caller left room for a NUL */
		else
			break;
		start += nl ? len + 1 : len;
		if (len && line[len - 1] == '\r')
			len--;
		if (len > UBLKD_MAX_LINE) {
			control_conn_too_long(conn);
			return;
		}
		line[len] = '\0';
		if (!control_line_blank(line, len))
			control.handler.line(control.handler.arg, conn, line, len);
		/* The handler may have stopped the control socket meanwhile. */
	}
	if (!conn->reading)
		return;
	rest = conn->in_len - start;
	if (start) {
		memmove(conn->in, conn->in + start, rest);
		conn->in_len = rest;
	}
	/* Too long already, unless the extra byte is the \r of a \r\n. */
	if (rest > UBLKD_MAX_LINE &&
	    !(rest == UBLKD_MAX_LINE + 1 && conn->in[rest - 1] == '\r')) {
		control_conn_too_long(conn);
		return;
	}
	if (!rest && conn->in_cap > CONTROL_KEEP_BUF) {
		free(conn->in);
		conn->in = NULL;
		conn->in_cap = 0;
	}
}

/* True if the peer closed its socket, not just shut down its sending side. */
static bool control_conn_peer_gone(const struct control_conn *conn)
{
	struct pollfd p = { .fd = conn->fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* The peer sent its last request: handles what is left, then closes conn now
 * if the peer is gone, else once every pending call has been answered. */
static void control_conn_eof(struct control_conn *conn)
{
	log_debug("connection %lu: end of requests", conn->serial);
	if (conn->in_len && control_conn_reserve(conn, 1) == 0) {
		bool closed;

		control_conn_hold(conn);
		control_conn_process(conn, true);
		closed = conn->closed;
		control_conn_release(conn);	/* frees conn if closed */
		if (closed)
			return;
	}
	conn->reading = false;
	free(conn->in);
	conn->in = NULL;
	conn->in_len = conn->in_cap = 0;
	if (control_conn_peer_gone(conn)) {
		control_conn_close(conn);
		return;
	}
	control_conn_update(conn);
	control_conn_maybe_finish(conn);
}

/* Reads what the peer sent and handles the complete lines. */
static void control_conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_conn *conn = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (conn->draining) {
		control_conn_drain(conn);
		return;
	}
	if (control_conn_reserve(conn, CONTROL_READ_CHUNK) < 0) {
		log_error("connection %lu: out of memory for a request; closing it",
			  conn->serial);
		control_conn_close(conn);
		return;
	}
	n = recv(conn->fd, conn->in + conn->in_len, conn->in_cap - conn->in_len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		log_debug("connection %lu: cannot receive: %s", conn->serial,
			  strerror(errno));
		control_conn_close(conn);
		return;
	}
	if (n == 0) {
		control_conn_eof(conn);
		return;
	}
	conn->in_len += (size_t)n;
	control_conn_hold(conn);
	control_conn_process(conn, false);
	if (!conn->closed)
		control_conn_update(conn);
	control_conn_release(conn);
}

/* Sends queued output as the socket drains. */
static void control_conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_conn *conn = w->data;

	(void)loop;
	(void)revents;
	if (control_conn_flush(conn) < 0) {
		control_conn_close(conn);
		return;
	}
	control_conn_update(conn);
	control_conn_maybe_finish(conn);
}

/* Sets up a connection for an accepted socket (closed on failure). */
static void control_conn_new(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct control_conn *conn;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_errno(errno, "cannot get the credentials of a control client");
		close(fd);
		return;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		log_error("out of memory for a control connection");
		close(fd);
		return;
	}
	conn->fd = fd;
	conn->serial = ++control.serial;
	conn->peer.pid = cred.pid;
	conn->peer.uid = cred.uid;
	conn->peer.gid = cred.gid;
	conn->reading = true;
	ev_io_init(&conn->rio, control_conn_read_cb, fd, EV_READ);
	ev_io_init(&conn->wio, control_conn_write_cb, fd, EV_WRITE);
	conn->rio.data = conn->wio.data = conn;
	ev_timer_init(&conn->linger, control_conn_linger_cb, CONTROL_LINGER_SECONDS, 0.);
	conn->linger.data = conn;
	conn->next = control.conns;
	if (conn->next)
		conn->next->prev = conn;
	control.conns = conn;
	control_conn_update(conn);
	log_debug("connection %lu from uid=%u pid=%d", conn->serial,
		  (unsigned int)cred.uid, (int)cred.pid);
}

/* Accepts the clients waiting on the listening socket. */
static void control_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	for (int i = 0; i < CONTROL_ACCEPT_BURST; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			control_conn_new(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN)
			return;
		/* EMFILE and the like: the listener stays readable, so retrying
		 * at once would spin. */
		log_errno(errno, "cannot accept a control connection; retrying in %.0f s",
			  CONTROL_ACCEPT_PAUSE);
		ev_io_stop(loop, w);
		ev_timer_set(&control.pause, CONTROL_ACCEPT_PAUSE, 0.);
		ev_timer_start(loop, &control.pause);
		return;
	}
}

/* Resumes accepting after a pause. */
static void control_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_io_start(loop, &control.io);
}

/* Starts serving the control socket on loop; 0 or -errno (logged). */
int control_start(struct ev_loop *loop, const struct control_opts *opts)
{
	const char *path = opts && opts->socket_path ? opts->socket_path : UBLKD_DEFAULT_SOCKET;
	int err;

	if (control.sock.fd >= 0) {
		log_error("the control socket is already being served");
		return -EALREADY;
	}
	if (!opts || !opts->handler || !opts->handler->line || !opts->handler->too_long) {
		log_error("the control socket needs a line handler");
		return -EINVAL;
	}
	err = control_socket_open(&control.sock, path, opts->socket_group);
	if (err)
		return err;
	control.loop = loop;
	control.handler = *opts->handler;
	ev_io_init(&control.io, control_accept_cb, control.sock.fd, EV_READ);
	ev_io_start(loop, &control.io);
	ev_timer_init(&control.pause, control_pause_cb, CONTROL_ACCEPT_PAUSE, 0.);
	log_info("serving the control socket %s%s", control.sock.name,
		 control.sock.bound ? "" : " (from the service manager)");
	return 0;
}

/* Stops accepting, closes every connection, unlinks the socket file we bound. */
void control_stop(struct ev_loop *loop)
{
	if (control.sock.fd < 0)
		return;
	ev_io_stop(loop, &control.io);
	ev_timer_stop(loop, &control.pause);
	log_info("stopped serving the control socket %s", control.sock.name);
	control_socket_close(&control.sock);
	while (control.conns) {
		struct control_conn *conn = control.conns;

		/* Replies already made go out if the socket takes them now. */
		control_conn_flush(conn);
		control_conn_close(conn);
	}
}
