/* Socket activation and readiness notification as systemd defines them
 * (sd_listen_fds(3), sd_notify(3)), without linking libsystemd. */
#include "config.h"
#include "activation.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Parses a whole decimal environment value as a positive long; -EINVAL if
 * it is anything else. */
static int activation_parse(const char *s, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Reads an integer socket option; -errno on failure. */
static int activation_sockopt(int fd, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	if (getsockopt(fd, SOL_SOCKET, opt, val, &len) < 0)
		return -errno;
	return 0;
}

/* Checks that fd is a listening AF_UNIX stream socket; 0 or -errno. */
static int activation_check_fd(int fd)
{
	struct stat st;
	int domain, type, listening, err;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	err = activation_sockopt(fd, SO_DOMAIN, &domain);
	if (!err)
		err = activation_sockopt(fd, SO_TYPE, &type);
	if (!err)
		err = activation_sockopt(fd, SO_ACCEPTCONN, &listening);
	if (err)
		return err;
	if (domain != AF_UNIX)
		return -EAFNOSUPPORT;
	if (type != SOCK_STREAM)
		return -EPROTOTYPE;
	if (!listening)
		return -EINVAL;
	return 0;
}

/* Makes fd non-blocking and close-on-exec; 0 or -errno. */
static int activation_setup_fd(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* Returns the listening socket passed by the service manager, -ENOENT when
 * none was passed to us, or another -errno when it is unusable. */
int activation_listen_fd(void)
{
	const char *e_pid = getenv("LISTEN_PID"), *e_fds = getenv("LISTEN_FDS");
	long pid, nfds;
	int err, fd = ACTIVATION_FD_START;

	if (!e_pid && !e_fds)
		return -ENOENT;
	if (activation_parse(e_pid, &pid) || pid != (long)getpid()) {
		log_debug("LISTEN_PID=%s is not this process; not socket-activated",
			  e_pid ? e_pid : "(unset)");
		err = -ENOENT;
		goto out;
	}
	if (activation_parse(e_fds, &nfds) || nfds > INT_MAX - fd) {
		log_warn("ignoring LISTEN_FDS=%s: not a positive number of sockets",
			 e_fds ? e_fds : "(unset)");
		err = -ENOENT;
		goto out;
	}
	/* Extra sockets are not ours to use; keep them from our children. */
	if (nfds > 1)
		log_warn("the service manager passed %ld sockets; using fd %d only",
			 nfds, fd);
	for (int extra = fd + 1; extra < fd + nfds; extra++)
		fcntl(extra, F_SETFD, FD_CLOEXEC);
	err = activation_check_fd(fd);
	if (err) {
		log_errno(err, "fd %d passed by the service manager is not a listening "
			  "AF_UNIX stream socket", fd);
		goto out;
	}
	err = activation_setup_fd(fd);
	if (err) {
		log_errno(err, "cannot set up the socket passed as fd %d", fd);
		goto out;
	}
	err = fd;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return err;
}

/* Fills addr from a NOTIFY_SOCKET value ("/path" or "@abstract"); returns
 * the address length or -errno. */
static int activation_notify_addr(const char *e, struct sockaddr_un *addr)
{
	size_t len = strlen(e);

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (e[0] != '/' && e[0] != '@')
		return -EAFNOSUPPORT;
	if (len >= sizeof(addr->sun_path) || len < 2)
		return -EINVAL;
	memcpy(addr->sun_path, e, len);
	if (e[0] == '@') {
		/* Abstract: a leading NUL, and the length counts no trailing NUL. */
		addr->sun_path[0] = '\0';
		return (int)(offsetof(struct sockaddr_un, sun_path) + len);
	}
	return (int)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

/* Sends state to $NOTIFY_SOCKET; 0 when sent or when NOTIFY_SOCKET is unset. */
int activation_notify(const char *state)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr;
	int fd, len, err = 0;

	if (!e || !*e)
		return 0;
	len = activation_notify_addr(e, &addr);
	if (len < 0) {
		log_errno(len, "cannot use NOTIFY_SOCKET=%s", e);
		return len;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		log_errno(err, "cannot create the notification socket");
		return err;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&addr, (socklen_t)len) < 0) {
		err = -errno;
		log_errno(err, "cannot send \"%s\" to NOTIFY_SOCKET=%s", state, e);
	}
	close(fd);
	return err;
}
