/* Line-oriented I/O on a non-blocking UNIX socket, with deadlines. */
#include "config.h"
#include "client/connection.h"
#include "common/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The most a receive buffer holds: a longest line and its newline. */
#define CONNECTION_MAX_BUF	((size_t)UBLKD_MAX_LINE + 1)
#define CONNECTION_MIN_BUF	((size_t)4096)

/* Milliseconds on a clock that only goes forward, for deadlines. */
int64_t connection_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Makes c an unconnected connection. */
void connection_init(struct connection *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Waits until fd is ready for events or deadline_ms passes. */
static int connection_wait(int fd, short events, int64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int ret;

	for (;;) {
		left = deadline_ms - connection_now_ms();
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
static int connection_finish_connect(int fd)
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

/* Takes over an already connected socket, making it non-blocking. */
int connection_adopt(struct connection *c, int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	connection_init(c);
	c->fd = fd;
	return 0;
}

/* Connects to the UNIX socket at path. */
int connection_open(struct connection *c, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	connection_init(c);
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
		ret = errno == EINTR ? connection_finish_connect(fd) : -errno;
	if (ret == 0)
		ret = connection_adopt(c, fd);
	if (ret < 0)
		close(fd);
	return ret;
}

/* Sends all len bytes before deadline_ms, coping with short writes. */
int connection_send(struct connection *c, const void *data, size_t len, int64_t deadline_ms)
{
	const char *p = data;
	ssize_t n;
	int ret;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = connection_wait(c->fd, POLLOUT, deadline_ms);
			if (ret < 0)
				return ret;
		} else {
			return n < 0 ? -errno : -EIO;
		}
	}
	return 0;
}

/* Makes room for more bytes in the buffer, up to CONNECTION_MAX_BUF. */
static int connection_grow(struct connection *c)
{
	size_t cap = c->cap ? c->cap * 2 : CONNECTION_MIN_BUF;
	char *buf;

	if (c->len < c->cap)
		return 0;
	if (c->cap >= CONNECTION_MAX_BUF)
		return -EMSGSIZE;
	if (cap > CONNECTION_MAX_BUF)
		cap = CONNECTION_MAX_BUF;
	buf = realloc(c->buf, cap);
	if (!buf)
		return -ENOMEM;
	c->buf = buf;
	c->cap = cap;
	return 0;
}

/* Returns a complete line from the buffer if there is one; *scanned bytes
 * are known to hold no newline. */
static int connection_take_line(struct connection *c, size_t *scanned, char **line, size_t *len)
{
	char *nl = c->len > *scanned ? memchr(c->buf + *scanned, '\n', c->len - *scanned) : NULL;

	*scanned = c->len;
	if (!nl)
		return -EAGAIN;
	*nl = '\0';
	*line = c->buf;
	*len = (size_t)(nl - c->buf);
	c->used = *len + 1;
	return 0;
}

/* Receives the next line before deadline_ms. */
int connection_receive(struct connection *c, int64_t deadline_ms, char **line, size_t *len)
{
	size_t scanned = 0;
	ssize_t n;
	int ret;

	if (c->used) {
		memmove(c->buf, c->buf + c->used, c->len - c->used);
		c->len -= c->used;
		c->used = 0;
	}
	for (;;) {
		if (connection_take_line(c, &scanned, line, len) == 0)
			return 0;
		ret = connection_grow(c);
		if (ret < 0)
			return ret;
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n > 0) {
			c->len += (size_t)n;
		} else if (n == 0) {
			return c->len ? -ECONNABORTED : -ENODATA;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = connection_wait(c->fd, POLLIN, deadline_ms);
			if (ret < 0)
				return ret;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
}

/* Closes the socket and frees the buffer. */
void connection_close(struct connection *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	connection_init(c);
}
