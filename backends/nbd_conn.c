/* The nbd backend's connections: libnbd handles connected with
 * nbd_aio_connect_uri and driven from the loop by the readiness of their
 * socket, and lost, dropped and reconnected with back-off (see nbd.h). */
#include "config.h"
#include "backends/nbd.h"
#include "backends/nbd_url.h"
#include "common/log.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* The most replies one wakeup reads, so one busy server cannot starve the
 * loop. */
#define NBD_REPLIES_PER_WAKEUP	512
#define NBD_CONN_STABLE		10.0	/* seconds a connection serves before its back-off starts over */

/* The libnbd error message, or a fallback. */
static const char *nbd_conn_error(void)
{
	const char *e = nbd_get_error();

	return e && e[0] ? e : "connection failed";
}

/* Watches what c's handle waits for now. */
void nbd_conn_rearm(struct nbd_conn *c)
{
	unsigned dir, ev = 0;

	if (!c->h || !c->watch)
		return;
	dir = nbd_aio_get_direction(c->h);
	if (dir & LIBNBD_AIO_DIRECTION_READ)
		ev |= BACKEND_EV_READ;
	if (dir & LIBNBD_AIO_DIRECTION_WRITE)
		ev |= BACKEND_EV_WRITE;
	c->b->loop->watch_set(c->watch, ev);
}

/* Corks (on) or uncorks c's TCP socket: true when it took (a UNIX socket
 * has no cork: tried once per connection). */
bool nbd_conn_cork(struct nbd_conn *c, bool on)
{
	int v = on, fd = c->h ? nbd_aio_get_fd(c->h) : -1;

	if (fd < 0 || c->no_cork)
		return false;
	if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)) == 0)
		return true;
	if (on)
		c->no_cork = true;
	return false;
}

/* Where c's handshake waits, in words for a timeout's message, into buf:
 * what libnbd waits for, bytes left unread on its socket (a wakeup the
 * loop missed), and TCP's count of bytes received and sent (a silent
 * server's none). */
void nbd_conn_stuck_at(const struct nbd_conn *c, char *buf, size_t len)
{
	unsigned dir = c->h ? nbd_aio_get_direction(c->h) : 0;
	int fd = c->h ? nbd_aio_get_fd(c->h) : -1, unread = 0;
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	size_t n;

	if (fd >= 0 && ioctl(fd, FIONREAD, &unread) < 0)
		unread = 0;
	if (c->h && nbd_aio_is_ready(c->h))
		n = snprintf(buf, len, "libnbd finished it; no wakeup told the daemon");
	else if (unread > 0)
		n = snprintf(buf, len, "connected; %d bytes arrived and were left unread", unread);
	else if (dir & LIBNBD_AIO_DIRECTION_READ)
		n = snprintf(buf, len, "connected; the server sent nothing more");
	else if (dir & LIBNBD_AIO_DIRECTION_WRITE)
		n = snprintf(buf, len, "the connection or a send did not complete");
	else
		n = snprintf(buf, len, "libnbd waits for nothing");
	if (fd < 0 || n >= len)
		return;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
	    tl >= offsetof(struct tcp_info, tcpi_bytes_sent) + sizeof(ti.tcpi_bytes_sent))
		snprintf(buf + n, len - n, "; TCP: %llu bytes received, %llu sent",
			 (unsigned long long)ti.tcpi_bytes_received,
			 (unsigned long long)ti.tcpi_bytes_sent);
}

/* True when fd has something to read now. */
static bool nbd_conn_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

/* The handshake is over: check the server, then serve. */
static void nbd_conn_on_ready(struct nbd_conn *c)
{
	struct nbdb *b = c->b;
	char err[512], more[64];

	if (nbd_connected(b, c, err, sizeof(err)) < 0) {
		/* nbd_conn_fail logs the first attempt's failure only: a server
		 * refused on a reconnection says why too, rate-limited. */
		if (c->attempts && b->ready != 1 &&
		    nbd_log_pass(&b->refused_server_log, b, more, sizeof(more)))
			log_warn("nbd %s: connection %u: %s; retrying%s", b->url, c->idx, err, more);
		nbd_conn_fail(c, err);
		return;
	}
	c->state = NBD_CONN_READY;
	c->structured = nbd_get_structured_replies_negotiated(c->h) == 1;
	if (c->attempts || c->reconnects || b->ready != 1) {
		c->reconnects++;
		log_info("nbd %s: connection %u is back after %.1f s", b->url, c->idx,
			 b->loop->now(b->loop) - c->lost_at);
	}
	/* The back-off starts over only once the connection has served a
	 * while (nbd_conn_fail): a server that takes the handshake and drops
	 * at once keeps backing off, and its lost and back lines with it. */
	c->ready_at = b->loop->now(b->loop);
	nbd_more_connections(b);	/* once: the first ready connection's */
	for (unsigned i = 0; i < b->nconn; i++)
		if (b->conns[i].state != NBD_CONN_READY)
			return;
	if (b->ready == 1)
		nbd_ready_end(b, 0, NULL);
}

/* After libnbd ran c's state machine: fail c if it died (dead: a call
 * failed), serve on it if its handshake just ended, and watch what it
 * waits for now. */
static void nbd_conn_settle(struct nbd_conn *c, bool dead)
{
	if (dead || nbd_aio_is_dead(c->h) || nbd_aio_is_closed(c->h)) {
		/* libnbd's message is this failure's only when a call failed. */
		nbd_conn_fail(c, dead ? nbd_conn_error() : "the server closed the connection");
	} else if (c->state == NBD_CONN_CONNECTING && nbd_aio_is_ready(c->h)) {
		nbd_conn_on_ready(c);
	}
	nbd_conn_rearm(c);
}

/* c's socket is ready: let libnbd read every reply there is, and write. */
static void nbd_conn_on_io(void *arg, unsigned revents)
{
	struct nbd_conn *c = arg;
	struct nbdb *b = c->b;
	int fd = nbd_aio_get_fd(c->h);
	bool dead = false;

	if (revents & BACKEND_EV_READ) {
		/* One notify reads one reply: go on while more are there. Only
		 * while the socket is readable: libnbd expects a read event
		 * only then, and one without data leaves it waiting for a
		 * reply, not sending (a write half sent then stalls). Nothing
		 * in flight: no reply can be there (skip the poll). */
		for (unsigned i = 0; i < NBD_REPLIES_PER_WAKEUP; i++) {
			if (nbd_aio_notify_read(c->h) < 0) {
				dead = true;
				break;
			}
			if (!(nbd_aio_get_direction(c->h) & LIBNBD_AIO_DIRECTION_READ) ||
			    nbd_aio_in_flight(c->h) <= 0 || !nbd_conn_readable(fd))
				break;
		}
	}
	/* Reading may have finished the send too: write only if libnbd still
	 * waits to (a write event in another state is an error). */
	if (!dead && (revents & BACKEND_EV_WRITE) &&
	    (nbd_aio_get_direction(c->h) & LIBNBD_AIO_DIRECTION_WRITE) &&
	    nbd_aio_notify_write(c->h) < 0)
		dead = true;
	nbd_conn_settle(c, dead);
	nbd_progress(b);
}

/* Starts connecting c: a new handle, the async connect, its watch. */
int nbd_conn_connect(struct nbd_conn *c, char *err, size_t errlen)
{
	struct nbdb *b = c->b;
	int ret;

	c->h = nbd_create();
	if (!c->h) {
		snprintf(err, errlen, "cannot create a libnbd handle: %s", nbd_conn_error());
		return -ENOMEM;
	}
	nbd_set_handle_name(c->h, "ublkd");
	/* The daemon's buffers are overwritten or ignored on failure. */
	nbd_set_pread_initialize(c->h, false);
	/* Simple replies unless asked: a structured read reply is read in
	 * several recvfrom calls (header, chunk header, data, end chunk), a
	 * simple one in two, and the kernel's own client asks for none. */
	nbd_set_request_structured_replies(c->h, b->structured);
	/* A TLS URL of root's may name its PSK file (tls-psk-file=PATH);
	 * nbd_url_check refuses query parameters from anyone else. */
	nbd_set_uri_allow_local_file(c->h, b->local_files);
	if (b->tls && nbd_supports_tls(c->h) != 1) {
		snprintf(err, errlen, "url: %s asks for TLS, which this libnbd was built without",
			 b->url);
		ret = -ENOTSUP;
		goto fail;
	}
	/* A device of a client other than root must not present root's TLS
	 * client certificate from libnbd's default /etc/pki/libnbd. An
	 * explicit directory without ca-cert.pem makes libnbd verify the
	 * server against the system CAs and present no client certificate
	 * (lib/crypto.c: load_certificates returns 0 when ca-cert.pem is
	 * absent, then set_up_system_CA). */
	if (!b->local_files && nbd_set_tls_certificates(c->h, "/dev/null") < 0) {
		snprintf(err, errlen, "cannot set the TLS certificate directory: %s",
			 nbd_conn_error());
		ret = nbd_get_errno() ? -nbd_get_errno() : -EIO;
		goto fail;
	}
	if (nbd_aio_connect_uri(c->h, b->url) < 0) {
		snprintf(err, errlen, "%s", nbd_conn_error());
		ret = nbd_get_errno() ? -nbd_get_errno() : -EIO;
		goto fail;
	}
	ret = b->loop->watch_start(b->loop, nbd_aio_get_fd(c->h), 0, nbd_conn_on_io, c,
				   &c->watch);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory for a watch");
		goto fail;
	}
	c->state = NBD_CONN_CONNECTING;
	c->no_cork = false;	/* a new socket */
	c->deadline = b->loop->now(b->loop) + b->timeout;
	/* nbd_aio_connect_uri runs the handshake as far as the socket lets
	 * it: a server that answered at once has finished it already, and
	 * no wakeup will come for bytes libnbd has read. */
	nbd_conn_settle(c, false);
	return 0;
fail:
	nbd_close(c->h);
	c->h = NULL;
	return ret;
}

/* Closes c's handle: libnbd lets go of its commands, which wait again. */
static void nbd_conn_drop(struct nbd_conn *c)
{
	struct nbdb *b = c->b;
	struct nbd_cmd *cmd;

	c->b->loop->watch_stop(c->watch);
	c->watch = NULL;
	c->closing = true;
	if (c->h)
		nbd_close(c->h);	/* answers or frees what it held */
	c->closing = false;
	c->h = NULL;
	while ((cmd = TAILQ_FIRST(&c->issued))) {
		TAILQ_REMOVE(&c->issued, cmd, link);
		cmd->conn = NULL;
		TAILQ_INSERT_TAIL(&b->waiting, cmd, link);
	}
	c->state = NBD_CONN_IDLE;
}

/* Drops c's handle and plans the next connection. */
void nbd_conn_fail(struct nbd_conn *c, const char *reason)
{
	struct nbdb *b = c->b;
	double now = b->loop->now(b->loop);
	char why[512];

	snprintf(why, sizeof(why), "%s", reason);	/* libnbd's may change */
	if (c->state == NBD_CONN_READY) {
		if (now - c->ready_at >= NBD_CONN_STABLE)
			c->attempts = 0;
		c->lost_at = now;
		log_error("nbd %s: connection %u lost: %s; requests wait up to %.1f s, "
			  "reconnecting in the background", b->url, c->idx, why, b->timeout);
	} else if (c->attempts == 0 && b->ready != 1) {
		log_warn("nbd %s: connection %u: %s; retrying", b->url, c->idx, why);
	}
	nbd_conn_drop(c);
	if (b->ready == 1) {
		nbd_ready_end(b, -ECONNREFUSED, why);
		return;
	}
	c->next_attempt = now + nbd_backoff(c->attempts);
	c->attempts++;
}

/* Closes c for good. */
void nbd_conn_close(struct nbd_conn *c)
{
	nbd_conn_drop(c);
}
