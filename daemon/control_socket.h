/* The control socket's listening end and its file: taken from the service
 * manager, or bound by us safely; removed only if it is still ours. A lock
 * file next to it (PATH.lock) is held while it is served, so that two
 * daemons never both take one path. */
#ifndef UBLKD_CONTROL_SOCKET_H
#define UBLKD_CONTROL_SOCKET_H

#include <stdbool.h>
#include <sys/types.h>

struct control_socket {
	int fd;			/* listening, non-blocking, close-on-exec */
	char *name;		/* path (or @abstract name), for logs */
	bool bound;		/* we created the file at name */
	dev_t dev;		/* ... and this was its inode */
	ino_t ino;
	int lock_fd;		/* holds flock on name.lock; -1 if none */
};

/* Takes the socket the service manager passed, else binds path: its missing
 * directories made 0755, a stale socket replaced, a live one or a non-socket
 * refused, mode 0600, or 0660 owned by group when group is not NULL. Either
 * way it first locks the socket's path + ".lock" (created 0600, never
 * removed); -EADDRINUSE when another process holds that lock.
 * 0 or -errno (logged). */
int control_socket_open(struct control_socket *sock, const char *path, const char *group);
/* Closes the socket, removes the file we bound unless replaced since, then
 * releases the lock. */
void control_socket_close(struct control_socket *sock);

#endif
