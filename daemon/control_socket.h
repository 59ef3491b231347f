/* The control socket's listening end and its file: taken from the service
 * manager, or bound by us safely; removed only if it is still ours. */
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
};

/* Takes the socket the service manager passed, else binds path: its missing
 * directories made 0755, a stale socket replaced, a live one or a non-socket
 * refused, mode 0600, or 0660 owned by group when group is not NULL.
 * 0 or -errno (logged). */
int control_socket_open(struct control_socket *sock, const char *path, const char *group);
/* Closes the socket and removes the file we bound, unless replaced since. */
void control_socket_close(struct control_socket *sock);

#endif
