/* The control socket's listening end and its file: taken from the service
 * manager, or bound by us without clobbering anything or anyone; and the
 * lock file that makes the path one daemon's. */
#include "config.h"
#include "control_socket.h"
#include "activation.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Resolves a group name or number to a gid; -EINVAL if there is none. */
static int control_socket_gid(const char *group, gid_t *gid)
{
	struct group grp, *found = NULL;
	size_t size = 4096;
	char *buf = NULL, *end;
	unsigned long n;
	int err;

	do {
		char *nbuf = realloc(buf, size);

		if (!nbuf) {
			free(buf);
			return -ENOMEM;
		}
		buf = nbuf;
		err = getgrnam_r(group, &grp, buf, size, &found);
		size *= 2;
	} while (err == ERANGE && size <= 1024 * 1024);
	if (found)
		*gid = found->gr_gid;
	free(buf);
	if (found)
		return 0;
	errno = 0;
	n = strtoul(group, &end, 10);
	if (*group && !*end && !errno && n < (gid_t)-1) {
		*gid = (gid_t)n;
		return 0;
	}
	if (err)
		log_errno(err, "cannot look up group \"%s\" for the control socket", group);
	else
		log_error("unknown group \"%s\" for the control socket", group);
	return -EINVAL;
}

/* Creates the missing directories above path, mode 0755; 0 or -errno. */
static int control_socket_make_parent(const char *path)
{
	char *dir = strdup(path);
	int err = 0;

	if (!dir)
		return -ENOMEM;
	for (char *p = strchr(dir + 1, '/'); p && !err; p = strchr(p + 1, '/')) {
		struct stat st;

		*p = '\0';
		if (mkdir(dir, 0755) == 0) {
			/* Not narrowed by our umask: clients must reach the socket. */
			if (chmod(dir, 0755) < 0)
				err = -errno;
			else
				log_info("created directory %s", dir);
		} else if (errno != EEXIST) {
			err = -errno;
		} else if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
			err = -ENOTDIR;
		}
		if (err)
			log_errno(err, "cannot create directory %s for the control socket", dir);
		*p = '/';
	}
	free(dir);
	return err;
}

/* Locks path + ".lock" for as long as the daemon serves path: the fd, or
 * -EADDRINUSE when another process holds it, or another -errno (logged).
 * Taken before the stale-socket probe, it keeps a second daemon from
 * probing (and unlinking) the socket of one between its bind and listen. */
static int control_socket_lock(const char *path)
{
	char *name;
	int fd, err;

	if (asprintf(&name, "%s.lock", path) < 0) {
		log_error("out of memory locking %s", path);
		return -ENOMEM;
	}
	fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		err = -errno;
		log_errno(err, "cannot open the lock file %s", name);
		free(name);
		return err;
	}
	/* LOCK_NB never waits, so a signal cannot interrupt it (no EINTR). */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = -errno;
		if (err == -EWOULDBLOCK) {
			log_error("another ublkd holds %s: it serves %s", name, path);
			err = -EADDRINUSE;
		} else {
			log_errno(err, "cannot lock %s", name);
		}
		close(fd);
		free(name);
		return err;
	}
	log_debug("locked %s", name);
	free(name);
	return fd;
}

/* Makes way for binding path: nothing there, or a stale socket (removed);
 * refuses a live socket or anything that is not a socket. */
static int control_socket_clear_stale(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		log_errno(err, "cannot inspect %s", path);
		return err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_error("%s exists and is not a socket; refusing to replace it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		log_errno(err, "cannot create a socket");
		return err;
	}
	err = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 ? -errno : 0;
	close(fd);
	/* EAGAIN: a listener whose backlog is full, so alive all the same. */
	if (!err || err == -EAGAIN || err == -EINPROGRESS) {
		log_error("another ublkd is already serving %s", path);
		return -EADDRINUSE;
	}
	if (err == -ENOENT)
		return 0;
	if (err != -ECONNREFUSED) {
		log_errno(err, "cannot tell whether %s is in use", path);
		return err;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		err = -errno;
		log_errno(err, "cannot remove the stale socket %s", path);
		return err;
	}
	log_info("removed the stale socket %s", path);
	return 0;
}

/* Creates, binds and listens on our own socket at path; the fd or -errno. */
static int control_socket_bind(struct control_socket *sock, const char *path,
			       const char *group)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	gid_t gid = 0;
	struct stat st;
	mode_t mask;
	int fd, err;

	if (!len || len >= sizeof(addr.sun_path)) {
		log_error("control socket path \"%s\" must be 1 to %zu bytes long",
			  path, sizeof(addr.sun_path) - 1);
		return len ? -ENAMETOOLONG : -EINVAL;
	}
	memcpy(addr.sun_path, path, len);
	if (group && (err = control_socket_gid(group, &gid)))
		return err;
	if ((err = control_socket_make_parent(path)))
		return err;
	sock->lock_fd = control_socket_lock(path);
	if (sock->lock_fd < 0)
		return sock->lock_fd;
	if ((err = control_socket_clear_stale(path, &addr)))
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		log_errno(err, "cannot create a socket");
		return err;
	}
	/* Born with its final mode: no window where others may connect. */
	mask = umask(group ? 0117 : 0177);
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	umask(mask);
	if (err) {
		if (err == -EADDRINUSE)
			log_error("another process bound %s meanwhile", path);
		else
			log_errno(err, "cannot bind %s", path);
		close(fd);
		return err;
	}
	/* Listening at once: a client that connects as soon as the name
	 * appears is queued, not refused. Until the chown below gives the
	 * socket its group, only the daemon's own group may connect. */
	if (listen(fd, SOMAXCONN) < 0) {
		err = -errno;
		log_errno(err, "cannot listen on %s", path);
	} else if (group && lchown(path, (uid_t)-1, gid) < 0) {
		/* lchown: never follow a symlink someone swapped in. */
		err = -errno;
		log_errno(err, "cannot give %s to group %s", path, group);
	} else if (lstat(path, &st) < 0) {
		err = -errno;
		log_errno(err, "cannot inspect %s", path);
	}
	if (err) {
		unlink(path);
		close(fd);
		return err;
	}
	sock->dev = st.st_dev;
	sock->ino = st.st_ino;
	return fd;
}

/* Returns a printable name for the socket bound to fd (malloc'd). */
static char *control_socket_name(int fd)
{
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	size_t n;
	char *name;

	memset(&addr, 0, sizeof(addr));
	if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0 ||
	    len <= offsetof(struct sockaddr_un, sun_path))
		return strdup("an unnamed socket");
	n = len - offsetof(struct sockaddr_un, sun_path);
	if (addr.sun_path[0])
		return strndup(addr.sun_path, n);
	name = malloc(n + 1);
	if (name) {
		memcpy(name, addr.sun_path, n);
		name[0] = '@';
		name[n] = '\0';
	}
	return name;
}


/* Removes the socket file we bound, unless someone replaced it since. */
static void control_socket_unlink(const struct control_socket *sock)
{
	struct stat st;

	if (lstat(sock->name, &st) < 0) {
		if (errno != ENOENT)
			log_errno(errno, "cannot inspect %s", sock->name);
		return;
	}
	if (st.st_dev != sock->dev || st.st_ino != sock->ino) {
		log_warn("not removing %s: it is no longer our socket", sock->name);
		return;
	}
	if (unlink(sock->name) < 0)
		log_errno(errno, "cannot remove %s", sock->name);
}

/* Locks the socket the service manager passed by its path, if it has one
 * (an abstract socket has no file to lock next to); 0 or -errno. */
static int control_socket_lock_passed(struct control_socket *sock)
{
	if (!sock->name || sock->name[0] != '/') {
		log_debug("the passed socket %s has no path to lock",
			  sock->name ? sock->name : "(unknown)");
		return 0;
	}
	sock->lock_fd = control_socket_lock(sock->name);
	return sock->lock_fd < 0 ? sock->lock_fd : 0;
}

/* Takes the socket the service manager passed, else binds path; 0 or -errno. */
int control_socket_open(struct control_socket *sock, const char *path, const char *group)
{
	int fd = activation_listen_fd(), err = 0;

	memset(sock, 0, sizeof(*sock));
	sock->fd = sock->lock_fd = -1;
	if (fd >= 0) {
		sock->name = control_socket_name(fd);
		if (group)
			log_info("the service manager set up the control socket; "
				 "ignoring socket group %s", group);
		err = control_socket_lock_passed(sock);
	} else {
		fd = control_socket_bind(sock, path, group);
		if (fd < 0) {
			err = fd;
		} else {
			sock->name = strdup(path);
			sock->bound = true;
		}
	}
	if (!err && !sock->name) {
		log_error("out of memory opening the control socket");
		if (sock->bound)
			unlink(path);
		err = -ENOMEM;
	}
	if (err) {
		if (fd >= 0)
			close(fd);
		if (sock->lock_fd >= 0)
			close(sock->lock_fd);
		free(sock->name);
		memset(sock, 0, sizeof(*sock));
		sock->fd = sock->lock_fd = -1;
		return err;
	}
	sock->fd = fd;
	return 0;
}

/* Closes the socket and removes the file we bound, unless replaced since. */
void control_socket_close(struct control_socket *sock)
{
	if (sock->fd < 0)
		return;
	close(sock->fd);
	if (sock->bound)
		control_socket_unlink(sock);
	/* Last: until here no other daemon may take the path. */
	if (sock->lock_fd >= 0)
		close(sock->lock_fd);
	free(sock->name);
	memset(sock, 0, sizeof(*sock));
	sock->fd = sock->lock_fd = -1;
}
