/* The control socket's clients: accepting them, and moving bytes between
 * each client and the line handler, one request line at a time. Every
 * client is bounded: how many are served at once, how long one may stay
 * idle, how much output it may have queued before its requests wait, how
 * many lines it gets handled per loop turn, and how much all of them may
 * buffer together. */
#include "config.h"
#include "control.h"
#include "control_socket.h"
#include "common/log.h"
#include "common/protocol.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* How much a read asks for: the most one turn of the loop takes from a
 * client. */
#define CONTROL_READ_CHUNK	(64 * 1024)
/* The input buffer's most: a partial line of the longest (and a \r), then
 * one read. */
#define CONTROL_IN_MAX		(UBLKD_MAX_LINE + 2 + CONTROL_READ_CHUNK)
/* A client's lines are not handled while this much output waits for it. */
#define CONTROL_OUT_HIGH	(32 * 1024)
/* Request lines (blank ones too) handled per client and loop turn. */
#define CONTROL_TURN_LINES	2
/* Buffers bigger than this are given back when they empty. */
#define CONTROL_KEEP_BUF	(2 * CONTROL_READ_CHUNK)
/* How long and how much a refused connection is drained before closing. */
#define CONTROL_LINGER_SECONDS	5.0
#define CONTROL_LINGER_BYTES	(16 * UBLKD_MAX_LINE)
/* Connections refused past max_connections that may linger at once (the
 * others are closed right after their error line). */
#define CONTROL_REFUSED_LINGER	16
/* Connections accepted per wakeup of the listening socket. */
#define CONTROL_ACCEPT_BURST	16
/* Seconds accepting pauses after running out of descriptors or memory. */
#define CONTROL_ACCEPT_PAUSE	1.0
/* Seconds between two log lines about refused connections. */
#define CONTROL_REFUSED_LOG	10.0
/* Seconds between two log lines about descriptors dropped. */
#define CONTROL_FDS_LOG		10.0

/* A descriptor a client passed (SCM_RIGHTS), waiting for the request line
 * whose bytes it came with. */
struct control_fd {
	int fd;
	uint64_t at;		/* stream offset of the last byte read with it */
};

struct control_conn {
	struct control_conn *prev, *next;	/* control.conns while open */
	int fd;
	unsigned long serial;			/* for logs */
	struct control_peer peer;
	ev_io rio, wio;
	char *in;				/* in[in_off..in_len) not handled */
	size_t in_off, in_len, in_cap;
	size_t scanned;				/* in[in_off..+scanned) has no \n */
	char *out;				/* out[out_off..out_len) unsent */
	size_t out_off, out_len, out_cap;
	size_t charged;				/* in_cap + out_cap, in control.buffered */
	unsigned int holds;			/* pending calls, dispatch */
	bool reading;				/* requests are still wanted */
	bool eof;				/* the peer sent all it will */
	bool backlog;				/* complete lines wait in in[] */
	bool paused;				/* ... for output to drain */
	bool draining;				/* refused: input is dropped */
	bool refused;				/* past max_connections */
	size_t drained;				/* bytes dropped so far */
	ev_timer linger;			/* closes a draining conn */
	ev_timer turn;				/* handles the backlog next turn */
	ev_timer idle;				/* closes an idle conn */
	ev_tstamp last;				/* last request line (or accept) */
	bool closed;				/* fd closed; freed at 0 holds */
	uint64_t received;			/* stream bytes received so far */
	uint64_t handled;			/* stream bytes of lines taken so far */
	struct control_fd fds[CONTROL_MAX_FDS];	/* passed, not claimed yet */
	unsigned nfds;
	int line_fds[CONTROL_MAX_FDS];		/* the line being handled's, -1 taken */
	unsigned line_nfds;
	unsigned line_dropped;			/* of its descriptors, closed unread */
	struct control_fd drops[CONTROL_MAX_FDS];	/* fd: how many closed unread
							 * with the bytes at at */
	unsigned ndrops;
};

static struct {
	struct ev_loop *loop;
	struct control_socket sock;	/* fd -1 when stopped */
	struct control_handler handler;
	ev_io io;
	ev_timer pause;
	struct control_conn *conns;
	unsigned long serial;
	unsigned int max_conns;		/* the bounds (control_opts) */
	double idle_timeout;
	size_t budget;
	unsigned int nconns;		/* open, not refused */
	unsigned int nrefused;		/* refused, lingering */
	size_t buffered;		/* sum of every conn's charged */
	ev_timer enforce;		/* closes conns while over budget */
	unsigned long refused_total;	/* refused since the last log line */
	ev_tstamp refused_logged;	/* when that was */
	unsigned nfds;			/* passed descriptors held, all conns */
	unsigned long fds_dropped;	/* dropped since the last log line */
	ev_tstamp fds_logged;		/* when that was */
} control = { .sock.fd = -1 };

/* Bytes queued for the peer and not yet sent. */
static size_t control_conn_pending(const struct control_conn *conn)
{
	return conn->out_len - conn->out_off;
}

/* True while conn's queued output is past the high mark. */
static bool control_conn_full(const struct control_conn *conn)
{
	return control_conn_pending(conn) >= CONTROL_OUT_HIGH;
}

/* Counts conn's buffers in the daemon-wide total; over the budget, the
 * enforcement runs on the next turn (closing here could pull a connection
 * from under its caller). */
static void control_conn_charge(struct control_conn *conn)
{
	size_t now = conn->in_cap + conn->out_cap;

	control.buffered = control.buffered - conn->charged + now;
	conn->charged = now;
	if (control.buffered > control.budget && !ev_is_active(&control.enforce))
		ev_timer_start(control.loop, &control.enforce);
}

/* Starts or stops conn's watchers to match what it waits for. */
static void control_conn_update(struct control_conn *conn)
{
	bool want_read = conn->reading && !conn->eof && !conn->backlog &&
			 !control_conn_full(conn);
	bool want_turn = conn->reading && !conn->draining && conn->backlog &&
			 !control_conn_full(conn);
	bool want_write = control_conn_pending(conn) > 0;
	bool paused = conn->reading && control_conn_full(conn);

	if (paused && !conn->paused)
		log_debug("connection %lu: %zu bytes of replies wait; pausing requests",
			  conn->serial, control_conn_pending(conn));
	conn->paused = paused;
	if (want_read && !ev_is_active(&conn->rio))
		ev_io_start(control.loop, &conn->rio);
	else if (!want_read && ev_is_active(&conn->rio))
		ev_io_stop(control.loop, &conn->rio);
	if (want_turn && !ev_is_active(&conn->turn))
		ev_timer_start(control.loop, &conn->turn);
	else if (!want_turn && ev_is_active(&conn->turn))
		ev_timer_stop(control.loop, &conn->turn);
	if (want_write && !ev_is_active(&conn->wio))
		ev_io_start(control.loop, &conn->wio);
	else if (!want_write && ev_is_active(&conn->wio))
		ev_io_stop(control.loop, &conn->wio);
}

/* Logs descriptors dropped, at most once per CONTROL_FDS_LOG. */
static void control_log_fds(const struct control_conn *conn, unsigned n, const char *why)
{
	ev_tstamp now = ev_now(control.loop);

	control.fds_dropped += n;
	if (!n || (control.fds_logged && now - control.fds_logged < CONTROL_FDS_LOG))
		return;
	log_warn("connection %lu (uid=%u pid=%d): closed %lu passed descriptor(s) unused: %s",
		 conn->serial, (unsigned int)conn->peer.uid, (int)conn->peer.pid,
		 control.fds_dropped, why);
	control.fds_dropped = 0;
	control.fds_logged = now;
}

/* Closes the first n passed descriptors conn holds. */
static void control_conn_drop_fds(struct control_conn *conn, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(conn->fds[i].fd);
	memmove(conn->fds, conn->fds + n, (conn->nfds - n) * sizeof(conn->fds[0]));
	conn->nfds -= n;
	control.nfds -= n;
}

/* Keeps the descriptors in a received SCM_RIGHTS message for the line
 * their bytes belong to: at most CONTROL_MAX_FDS per connection and
 * CONTROL_MAX_FDS_TOTAL in all; the rest are closed. */
static void control_conn_keep_fds(struct control_conn *conn, struct msghdr *msg, uint64_t at)
{
	unsigned extra = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (conn->nfds >= CONTROL_MAX_FDS || control.nfds >= CONTROL_MAX_FDS_TOTAL ||
			    conn->draining) {
				close(fd);
				extra++;
				continue;
			}
			conn->fds[conn->nfds].fd = fd;
			conn->fds[conn->nfds++].at = at;
			control.nfds++;
		}
	}
	if (msg->msg_flags & MSG_CTRUNC)
		extra++;	/* the kernel closed those that did not fit */
	if (extra) {
		/* Full: the last record takes them (a line sees at least its own). */
		if (conn->ndrops == CONTROL_MAX_FDS)
			conn->ndrops--;
		else
			conn->drops[conn->ndrops].fd = 0;
		conn->drops[conn->ndrops].at = at;
		conn->drops[conn->ndrops++].fd += (int)extra;
	}
	if (extra)
		control_log_fds(conn, extra, msg->msg_flags & MSG_CTRUNC ?
				"more than fit in one message" : "more than a connection may hold");
}

/* Hands the line ending at stream offset conn->handled the descriptors
 * that came with its bytes. */
static void control_conn_claim_fds(struct control_conn *conn)
{
	unsigned n = 0;

	while (n < conn->nfds && conn->fds[n].at < conn->handled) {
		conn->line_fds[n] = conn->fds[n].fd;
		n++;
	}
	conn->line_nfds = n;
	memmove(conn->fds, conn->fds + n, (conn->nfds - n) * sizeof(conn->fds[0]));
	conn->nfds -= n;
	control.nfds -= n;
	n = 0;
	conn->line_dropped = 0;
	while (n < conn->ndrops && conn->drops[n].at < conn->handled)
		conn->line_dropped += (unsigned)conn->drops[n++].fd;
	memmove(conn->drops, conn->drops + n, (conn->ndrops - n) * sizeof(conn->drops[0]));
	conn->ndrops -= n;
}

/* Closes what the line just handled did not take of its descriptors. */
static void control_conn_unclaim_fds(struct control_conn *conn)
{
	unsigned unused = 0;

	for (unsigned i = 0; i < conn->line_nfds; i++) {
		if (conn->line_fds[i] >= 0) {
			close(conn->line_fds[i]);
			unused++;
		}
	}
	conn->line_nfds = 0;
	conn->line_dropped = 0;
	if (unused)
		log_debug("connection %lu: closed %u passed descriptor(s) the request did not use",
			  conn->serial, unused);
}

/* The number of descriptors that came with the line being handled. */
unsigned control_conn_fds(const struct control_conn *conn, unsigned *dropped)
{
	if (dropped)
		*dropped = conn->line_dropped;
	return conn->line_nfds;
}

/* Takes the i-th descriptor of the line being handled; -EBADF if there is
 * none or it was taken already. */
int control_conn_take_fd(struct control_conn *conn, unsigned i)
{
	int fd;

	if (i >= conn->line_nfds || conn->line_fds[i] < 0)
		return -EBADF;
	fd = conn->line_fds[i];
	conn->line_fds[i] = -1;
	return fd;
}

/* Closes conn's socket and drops its buffers; its memory lasts while held. */
static void control_conn_close(struct control_conn *conn)
{
	if (conn->closed)
		return;
	ev_io_stop(control.loop, &conn->rio);
	ev_io_stop(control.loop, &conn->wio);
	ev_timer_stop(control.loop, &conn->linger);
	ev_timer_stop(control.loop, &conn->turn);
	ev_timer_stop(control.loop, &conn->idle);
	close(conn->fd);
	conn->fd = -1;
	control_conn_drop_fds(conn, conn->nfds);
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		control.conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	conn->prev = conn->next = NULL;
	if (conn->refused)
		control.nrefused--;
	else
		control.nconns--;
	free(conn->in);
	free(conn->out);
	conn->in = conn->out = NULL;
	conn->in_off = conn->in_len = conn->in_cap = 0;
	conn->out_off = conn->out_len = conn->out_cap = 0;
	control_conn_charge(conn);
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
		control_conn_charge(conn);
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
		control_conn_charge(conn);
	}
	memcpy(conn->out + conn->out_len, line, len);
	conn->out[conn->out_len + len] = '\n';
	conn->out_len += need;
	conn->last = ev_now(control.loop);	/* an answer: idle from now */
	/* Nothing queued before: try the socket now rather than a turn
	 * later (an error shows again in the write callback, which closes). */
	if (!ev_is_active(&conn->wio) && !conn->draining)
		control_conn_flush(conn);
	control_conn_update(conn);
	return 0;
}

/* Moves the unhandled input to the front of the buffer. */
static void control_conn_compact(struct control_conn *conn)
{
	if (!conn->in_off)
		return;
	memmove(conn->in, conn->in + conn->in_off, conn->in_len - conn->in_off);
	conn->in_len -= conn->in_off;
	conn->in_off = 0;
}

/* Makes room for at least want more received bytes, doubling the buffer
 * but not past what the longest line and one read need; 0 or -ENOMEM. */
static int control_conn_reserve(struct control_conn *conn, size_t want)
{
	size_t cap = conn->in_cap ? conn->in_cap : CONTROL_READ_CHUNK;
	char *in;

	control_conn_compact(conn);
	if (conn->in_cap - conn->in_len >= want)
		return 0;
	while (cap - conn->in_len < want)
		cap *= 2;
	if (cap > CONTROL_IN_MAX && conn->in_len + want <= CONTROL_IN_MAX)
		cap = CONTROL_IN_MAX;
	in = realloc(conn->in, cap);
	if (!in)
		return -ENOMEM;
	conn->in = in;
	conn->in_cap = cap;
	control_conn_charge(conn);
	return 0;
}

/* Gives the input buffer back. */
static void control_conn_free_in(struct control_conn *conn)
{
	free(conn->in);
	conn->in = NULL;
	conn->in_off = conn->in_len = conn->in_cap = conn->scanned = 0;
	control_conn_charge(conn);
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

/* Stops handling conn's requests: why has been queued for the peer, and
 * what it still sends is read and dropped until it stops, for at most
 * CONTROL_LINGER_SECONDS and CONTROL_LINGER_BYTES (a peer still writing
 * would get a broken pipe before it could read the error). */
static void control_conn_start_drain(struct control_conn *conn)
{
	control_conn_free_in(conn);
	conn->draining = true;
	conn->backlog = false;
	ev_timer_stop(control.loop, &conn->idle);
	ev_timer_start(control.loop, &conn->linger);
	control_conn_update(conn);
}

/* Answers a request line over the limit, then closes conn. */
static void control_conn_too_long(struct control_conn *conn)
{
	char msg[96];

	log_warn("connection %lu (uid=%u pid=%d): request line longer than %d bytes; "
		 "closing the connection", conn->serial, (unsigned int)conn->peer.uid,
		 (int)conn->peer.pid, UBLKD_MAX_LINE);
	snprintf(msg, sizeof(msg), "request line longer than the limit of %d bytes",
		 UBLKD_MAX_LINE);
	control.handler.too_long(control.handler.arg, conn, msg);
	control_conn_start_drain(conn);
}

/* True if line holds nothing but JSON whitespace. */
static bool control_line_blank(const char *line, size_t len)
{
	return strspn(line, " \t\r") >= len;
}

/* The peer sent its last request and every line of it was handled: closes
 * conn now if the peer is gone, else once every pending call has been
 * answered and sent. */
static void control_conn_end(struct control_conn *conn)
{
	log_debug("connection %lu: end of requests", conn->serial);
	conn->reading = false;
	control_conn_free_in(conn);
	ev_timer_stop(control.loop, &conn->idle);
	if (conn->fd >= 0) {
		struct pollfd p = { .fd = conn->fd, .events = POLLOUT };

		/* Closed, not just shut down for sending: nobody reads replies. */
		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR))) {
			control_conn_close(conn);
			return;
		}
	}
	control_conn_update(conn);
	control_conn_maybe_finish(conn);
}

/* Hands the complete lines received to the handler, at most
 * CONTROL_TURN_LINES of them and none while the output is past the high
 * mark; what is left waits for the next turn (conn->backlog). After the
 * peer's end an unterminated last line counts too, and conn ends once all
 * is handled. conn is held by the caller. */
static void control_conn_process(struct control_conn *conn)
{
	unsigned int lines = 0;
	size_t rest;

	conn->backlog = false;
	while (conn->reading && !conn->draining) {
		char *line = conn->in + conn->in_off, *nl;
		size_t len, avail = conn->in_len - conn->in_off;

		if (lines >= CONTROL_TURN_LINES || control_conn_full(conn)) {
			conn->backlog = avail && (conn->eof || (avail > conn->scanned &&
				memchr(line + conn->scanned, '\n', avail - conn->scanned)));
			break;
		}
		/* A partial line is not searched again from its start. */
		nl = avail > conn->scanned ?
		     memchr(line + conn->scanned, '\n', avail - conn->scanned) : NULL;
		if (nl)
			len = (size_t)(nl - line);
		else if (conn->eof && avail)
			len = avail;	/* the caller left room for a NUL */
		else {
			conn->scanned = avail;
			break;
		}
		conn->scanned = 0;
		conn->in_off += nl ? len + 1 : len;
		conn->handled += nl ? len + 1 : len;
		lines++;
		if (len && line[len - 1] == '\r')
			len--;
		if (len > UBLKD_MAX_LINE) {
			control_conn_too_long(conn);
			return;
		}
		line[len] = '\0';
		control_conn_claim_fds(conn);
		if (control_line_blank(line, len)) {
			control_conn_unclaim_fds(conn);
			continue;
		}
		conn->last = ev_now(control.loop);
		control.handler.line(control.handler.arg, conn, line, len);
		control_conn_unclaim_fds(conn);
		/* The handler may have stopped the control socket meanwhile. */
	}
	if (!conn->reading || conn->draining)
		return;
	rest = conn->in_len - conn->in_off;
	if (!rest) {
		conn->in_off = conn->in_len = 0;
		if (conn->in_cap > CONTROL_KEEP_BUF)
			control_conn_free_in(conn);
		if (conn->eof)
			control_conn_end(conn);
		return;
	}
	/* A partial line too long already, unless the extra byte is the \r
	 * of a \r\n. */
	if (!conn->backlog && rest > UBLKD_MAX_LINE &&
	    !(rest == UBLKD_MAX_LINE + 1 && conn->in[conn->in_len - 1] == '\r'))
		control_conn_too_long(conn);
}

/* Handles conn's lines and sets its watchers for what comes next. */
static void control_conn_step(struct control_conn *conn)
{
	control_conn_hold(conn);
	control_conn_process(conn);
	if (!conn->closed)
		control_conn_update(conn);
	control_conn_release(conn);	/* frees conn if closed */
}

/* A new turn for the lines left from the last one. */
static void control_conn_turn_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	control_conn_step(w->data);
}

/* The peer sent its last request: its remaining lines are handled. */
static void control_conn_eof(struct control_conn *conn)
{
	conn->eof = true;
	if (control_conn_reserve(conn, 1) < 0) {
		log_error("connection %lu: out of memory for a request; closing it",
			  conn->serial);
		control_conn_close(conn);
		return;
	}
	control_conn_step(conn);
}

/* Reads what the peer sent, at most CONTROL_READ_CHUNK, and handles the
 * complete lines. */
static void control_conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_conn *conn = w->data;
	union {
		char buf[CMSG_SPACE(CONTROL_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr msg = { 0 };
	struct iovec iov;
	size_t room;
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
	room = conn->in_cap - conn->in_len;
	if (room > CONTROL_READ_CHUNK)
		room = CONTROL_READ_CHUNK;
	iov.iov_base = conn->in + conn->in_len;
	iov.iov_len = room;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	n = recvmsg(conn->fd, &msg, MSG_CMSG_CLOEXEC);
	/* The descriptors came with the last bytes read: the kernel ends a
	 * read at a message that carries some. */
	if (n > 0 || (n == 0 && msg.msg_controllen))
		control_conn_keep_fds(conn, &msg, conn->received + (uint64_t)(n ? n - 1 : 0));
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
	conn->received += (uint64_t)n;
	control_conn_step(conn);
}

/* Sends queued output as the socket drains; below the high mark again,
 * the lines that waited are handled. */
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

/* No request for idle_timeout seconds and no call pending: closes conn.
 * A pending call counts as activity until it is answered, and the time
 * runs from that answer. */
static void control_conn_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control_conn *conn = w->data;
	ev_tstamp now = ev_now(loop), due;

	(void)revents;
	if (conn->holds)
		conn->last = now;
	due = conn->last + control.idle_timeout;
	if (due > now) {
		w->repeat = due - now;
		ev_timer_again(loop, w);
		return;
	}
	log_info("connection %lu (uid=%u pid=%d): no request for %g s; closing it",
		 conn->serial, (unsigned int)conn->peer.uid, (int)conn->peer.pid,
		 control.idle_timeout);
	control_conn_close(conn);
}

/* Over the budget: closes the connections holding most until under it. */
static void control_enforce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	while (control.buffered > control.budget) {
		struct control_conn *big = control.conns;

		for (struct control_conn *c = control.conns; c; c = c->next)
			if (c->charged > big->charged)
				big = c;
		if (!big || !big->charged)
			return;		/* only closed conns' memory: cannot be */
		log_warn("connection %lu (uid=%u pid=%d): closing it: it buffers %zu KiB of "
			 "requests and replies, the most of all, and the control "
			 "connections together buffer %zu KiB, over the limit of %zu KiB",
			 big->serial, (unsigned int)big->peer.uid, (int)big->peer.pid,
			 big->charged / 1024, control.buffered / 1024, control.budget / 1024);
		control_conn_close(big);
	}
}

/* Logs refused connections, at most once per CONTROL_REFUSED_LOG. */
static void control_log_refused(void)
{
	ev_tstamp now = ev_now(control.loop);

	control.refused_total++;
	if (control.refused_logged && now - control.refused_logged < CONTROL_REFUSED_LOG)
		return;
	log_warn("refused %lu control connection(s) past the limit of %u",
		 control.refused_total, control.max_conns);
	control.refused_total = 0;
	control.refused_logged = now;
}

/* Refuses the new conn (past max_connections): its error line, then it
 * lingers to let the peer read it, or when too many linger already it is
 * closed as soon as the line is in the socket. */
static void control_conn_refuse(struct control_conn *conn)
{
	char msg[96];

	control_log_refused();
	snprintf(msg, sizeof(msg), "too many control connections (the limit is %u); "
		 "try again later", control.max_conns);
	control.handler.refused(control.handler.arg, conn, msg);
	if (control.nrefused > CONTROL_REFUSED_LINGER) {
		control_conn_flush(conn);
		control_conn_close(conn);
		return;
	}
	control_conn_start_drain(conn);
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
	conn->last = ev_now(control.loop);
	ev_io_init(&conn->rio, control_conn_read_cb, fd, EV_READ);
	ev_io_init(&conn->wio, control_conn_write_cb, fd, EV_WRITE);
	conn->rio.data = conn->wio.data = conn;
	ev_timer_init(&conn->linger, control_conn_linger_cb, CONTROL_LINGER_SECONDS, 0.);
	conn->linger.data = conn;
	ev_timer_init(&conn->turn, control_conn_turn_cb, 0., 0.);
	conn->turn.data = conn;
	ev_init(&conn->idle, control_conn_idle_cb);
	conn->idle.data = conn;
	conn->next = control.conns;
	if (conn->next)
		conn->next->prev = conn;
	control.conns = conn;
	log_debug("connection %lu from uid=%u pid=%d", conn->serial,
		  (unsigned int)cred.uid, (int)cred.pid);
	if (control.nconns >= control.max_conns) {
		conn->refused = true;
		control.nrefused++;
		control_conn_refuse(conn);
		return;
	}
	control.nconns++;
	if (control.idle_timeout > 0) {
		conn->idle.repeat = control.idle_timeout;
		ev_timer_again(control.loop, &conn->idle);
	}
	control_conn_update(conn);
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
	char idle[32];
	int err;

	if (control.sock.fd >= 0) {
		log_error("the control socket is already being served");
		return -EALREADY;
	}
	if (!opts || !opts->handler || !opts->handler->line || !opts->handler->too_long ||
	    !opts->handler->refused) {
		log_error("the control socket needs a line handler");
		return -EINVAL;
	}
	err = control_socket_open(&control.sock, path, opts->socket_group);
	if (err)
		return err;
	control.loop = loop;
	control.handler = *opts->handler;
	control.max_conns = opts->max_connections ? opts->max_connections :
			    CONTROL_DEFAULT_MAX_CONNECTIONS;
	control.idle_timeout = opts->idle_timeout ? opts->idle_timeout :
			       CONTROL_DEFAULT_IDLE_TIMEOUT;
	control.budget = opts->budget ? opts->budget : CONTROL_DEFAULT_BUDGET;
	control.refused_total = 0;
	control.refused_logged = 0;
	ev_io_init(&control.io, control_accept_cb, control.sock.fd, EV_READ);
	ev_io_start(loop, &control.io);
	ev_timer_init(&control.pause, control_pause_cb, CONTROL_ACCEPT_PAUSE, 0.);
	ev_timer_init(&control.enforce, control_enforce_cb, 0., 0.);
	if (control.idle_timeout < 0)
		snprintf(idle, sizeof(idle), "never");
	else
		snprintf(idle, sizeof(idle), "after %g s", control.idle_timeout);
	log_info("serving the control socket %s%s: at most %u connections, idle ones "
		 "closed %s, %zu KiB buffered in all", control.sock.name,
		 control.sock.bound ? "" : " (from the service manager)", control.max_conns,
		 idle, control.budget / 1024);
	return 0;
}

/* Stops accepting, closes every connection, unlinks the socket file we
 * bound, then releases the lock file. */
void control_stop(struct ev_loop *loop)
{
	if (control.sock.fd < 0)
		return;
	ev_io_stop(loop, &control.io);
	ev_timer_stop(loop, &control.pause);
	ev_timer_stop(loop, &control.enforce);
	log_info("stopped serving the control socket %s", control.sock.name);
	control_socket_close(&control.sock);
	while (control.conns) {
		struct control_conn *conn = control.conns;

		/* Replies already made go out if the socket takes them now. */
		control_conn_flush(conn);
		control_conn_close(conn);
	}
}
