/* A UNIX stream socket to ublkd carrying newline-terminated lines. */
#ifndef UBLKCTL_CONNECTION_H
#define UBLKCTL_CONNECTION_H

#include <stddef.h>
#include <stdint.h>

struct connection {
	int fd;			/* -1 when closed */
	char *buf;		/* bytes received and not yet handed out */
	size_t len;		/* bytes in buf */
	size_t cap;		/* size of buf */
	size_t used;		/* bytes at the start of buf given out as the last line */
};

/* Milliseconds on a clock that only goes forward, for deadlines. */
int64_t connection_now_ms(void);

/* Makes c an unconnected connection. */
void connection_init(struct connection *c);

/* Connects to the UNIX socket at path. Returns 0 or -errno. */
int connection_open(struct connection *c, const char *path);

/* Takes over an already connected socket (for tests and socket pairs). */
int connection_adopt(struct connection *c, int fd);

/* Sends all len bytes before deadline_ms. Returns 0, -ETIMEDOUT or -errno. */
int connection_send(struct connection *c, const void *data, size_t len, int64_t deadline_ms);

/* Receives the next line before deadline_ms. On 0, *line is NUL-terminated
 * without its newline, *len long, valid until the next call. Errors:
 * -ENODATA (closed before any byte), -ECONNABORTED (closed mid-line),
 * -EMSGSIZE (longer than UBLKD_MAX_LINE), -ETIMEDOUT, -ENOMEM, -errno. */
int connection_receive(struct connection *c, int64_t deadline_ms, char **line, size_t *len);

/* Closes the socket and frees the buffer. */
void connection_close(struct connection *c);

#endif
