/* Unit tests for the control socket (daemon/control.c), socket activation
 * and readiness notification (daemon/activation.c) and common/errname.c.
 * Run as "check_control --serve PATH" it is a tiny server for the test that
 * goes through systemd-socket-activate. */
#include "config.h"
#include "control_harness.h"
#include "daemon/activation.h"
#include "daemon/control_socket.h"
#include "common/errname.h"
#include "common/log.h"
#include "common/protocol.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ECHO_REQ(id) "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"echo\"}\n"

/* Stops the server if a test left it running; removes the test directory. */
static void teardown(void)
{
	harness_stop();
	harness_cleanup();
}

/* Sleeps for ms milliseconds. */
static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits up to 20 s for *counter to reach want; true if it did. */
static bool wait_for(int *counter, int want)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) >= want)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* Sends an echo request with id on c and checks that its answer comes. */
static bool echo_ok(struct client *c, int id)
{
	char req[96], want[16];
	struct json_object *r;
	bool ok;

	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"echo\"}\n", id);
	if (client_puts(c, req) < 0)
		return false;
	r = client_json(c);
	snprintf(want, sizeof(want), "%d", id);
	ok = r && !strcmp(resp_id(r), want) && json_object_object_get_ex(r, "result", NULL);
	json_object_put(r);
	return ok;
}

/* Connects a fresh client to path and runs one echo through it. */
static bool serves(const char *path)
{
	struct client c = client_open(path);
	bool ok = c.fd >= 0 && echo_ok(&c, 1);

	client_close(&c);
	return ok;
}

/* Creates a UNIX socket bound to path, listening or not; the fd. */
static int bound_socket(const char *path, int type, bool listening)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/* errname knows every errno glibc has a message for, by either sign. */
START_TEST(test_errname)
{
	char unknown[32];

	ck_assert_str_eq(errname(ENOENT), "ENOENT");
	ck_assert_str_eq(errname(-ENOENT), "ENOENT");
	ck_assert_str_eq(errname(-ENOSPC), "ENOSPC");
	ck_assert_str_eq(errname(EWOULDBLOCK), "EAGAIN");
	ck_assert_str_eq(errname(ENOTSUP), "EOPNOTSUPP");
	ck_assert_str_eq(errname(EHWPOISON), "EHWPOISON");
	ck_assert_ptr_null(errname(0));
	ck_assert_ptr_null(errname(4000));
	ck_assert_ptr_null(errname(-4000));
	ck_assert_ptr_null(errname(INT_MIN));
	ck_assert_ptr_null(errname(INT_MAX));
	for (int e = 1; e < 4096; e++) {
		snprintf(unknown, sizeof(unknown), "Unknown error %d", e);
		ck_assert_msg((errname(e) != NULL) == (strcmp(strerror(e), unknown) != 0),
			      "errno %d (%s): errname %s", e, strerror(e), errname(e));
	}
}
END_TEST

/* Our own socket: 0600, the missing directories made 0755, removed at stop. */
START_TEST(test_socket_mode)
{
	const char *path = harness_path(0, "run/ublkd/ublkd.sock");
	struct control_opts opts = { .socket_path = path };
	struct stat st;

	umask(0);	/* the mode must not depend on the caller's umask */
	ck_assert_int_eq(harness_start(&opts), 0);
	umask(022);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(harness_path(1, "run/ublkd"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(stat(harness_path(1, "run"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert(serves(path));
	harness_stop();
	ck_assert_int_eq(lstat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* With a group: 0660 and that group; an unknown group is an error. */
START_TEST(test_socket_group)
{
	const char *path = harness_path(0, "ublkd.sock");
	struct group *gr = getgrgid(getegid());
	char gid[16];
	struct control_opts opts = { .socket_path = path };
	struct stat st;

	ck_assert_ptr_nonnull(gr);
	opts.socket_group = "no-such-group-for-ublkd";
	ck_assert_int_eq(harness_start(&opts), -EINVAL);
	ck_assert_int_eq(lstat(path, &st), -1);
	opts.socket_group = gr->gr_name;
	ck_assert_int_eq(harness_start(&opts), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	ck_assert_int_eq(st.st_gid, getegid());
	ck_assert(serves(path));
	harness_stop();
	/* A number works too. */
	snprintf(gid, sizeof(gid), "%u", (unsigned int)getegid());
	opts.socket_group = gid;
	ck_assert_int_eq(harness_start(&opts), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0660);
}
END_TEST

/* A socket nobody listens on is replaced. */
START_TEST(test_stale_socket)
{
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path };
	struct client c;

	close(bound_socket(path, SOCK_STREAM, true));
	c = client_open(path);
	ck_assert_int_lt(c.fd, 0);	/* truly stale: refused */
	ck_assert_int_eq(harness_start(&opts), 0);
	ck_assert(serves(path));
}
END_TEST

/* A socket someone answers on is left alone and we refuse to start. */
START_TEST(test_live_socket)
{
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path };
	int fd = bound_socket(path, SOCK_STREAM, true);
	struct client c;

	ck_assert_int_eq(harness_start(&opts), -EADDRINUSE);
	c = client_open(path);
	ck_assert_int_ge(c.fd, 0);	/* still the other listener's */
	client_close(&c);
	close(fd);
}
END_TEST

/* Something that is not a socket is never replaced. */
START_TEST(test_not_a_socket)
{
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path };
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	ck_assert_int_eq(harness_start(&opts), -EEXIST);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 4);
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(harness_start(&opts), -EEXIST);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
}
END_TEST

/* Paths that cannot be a socket address are refused. */
START_TEST(test_bad_path)
{
	char path[200];
	struct control_opts opts = { .socket_path = path };

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(harness_start(&opts), -ENAMETOOLONG);
	opts.socket_path = "";
	ck_assert_int_eq(harness_start(&opts), -EINVAL);
}
END_TEST

/* A handler of our own: answers each line with "got <line>" and arg's tag. */
static void raw_line(void *arg, struct control_conn *conn, const char *line, size_t len)
{
	char reply[64];
	int n = snprintf(reply, sizeof(reply), "%s got %.*s", (const char *)arg,
			 (int)(len < 32 ? len : 32), line);

	control_conn_send(conn, reply, (size_t)n);
}

/* ... and answers an over-long line with "refused: <why>". */
static void raw_too_long(void *arg, struct control_conn *conn, const char *why)
{
	char reply[128];
	int n = snprintf(reply, sizeof(reply), "%s refused: %s", (const char *)arg, why);

	control_conn_send(conn, reply, (size_t)n);
}


/* A handler that says how many descriptors came with each line, takes the
 * first one when the line is "take", and checks it is open. */
static void fd_line(void *arg, struct control_conn *conn, const char *line, size_t len)
{
	unsigned dropped, n = control_conn_fds(conn, &dropped);
	char reply[96];
	int fd = -1, k;

	(void)arg;
	(void)len;
	if (strcmp(line, "take") == 0)
		fd = control_conn_take_fd(conn, 0);
	k = snprintf(reply, sizeof(reply), "%.8s fds=%u dropped=%u open=%d", line, n, dropped,
		     fd >= 0 && fcntl(fd, F_GETFD) >= 0);
	if (fd >= 0)
		close(fd);
	control_conn_send(conn, reply, (size_t)k);
}

/* Sends text with n descriptors of /dev/null on its first byte. */
static void send_with_fds(struct client *c, const char *text, unsigned n)
{
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)text, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
			      .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *cm;
	int fds[16];

	ck_assert_uint_le(n, 16);
	memset(&cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	for (unsigned i = 0; i < n; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	ck_assert_int_eq(sendmsg(c->fd, &msg, MSG_NOSIGNAL), 1);
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	ck_assert_int_eq(client_puts(c, text + 1), 0);
}

/* Counts this process's open descriptors (the server runs in a thread). */
static int open_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* Passed descriptors go to the line whose bytes they came with; a line
 * takes what it uses and the rest are closed after it; past CONTROL_MAX_FDS
 * they are closed unread (MSG_CTRUNC counted); nothing leaks, lines sent
 * before and after see none, and closing the connection closes those held. */
START_TEST(test_passed_fds)
{
	static const struct control_handler h = {
		.line = fd_line, .too_long = raw_too_long, .refused = raw_too_long, .arg = "fd",
	};
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path, .handler = &h };
	static const struct {
		const char *text;
		unsigned nfds;
		const char *want;
	} steps[] = {
		{ "a\n", 0, "a fds=0 dropped=0 open=0" },
		{ "take\n", 2, "take fds=2 dropped=0 open=1" },
		{ "c\n", 0, "c fds=0 dropped=0 open=0" },
		{ "many\n", 7, "many fds=4 dropped=1 open=0" },
		{ "take\n", 1, "take fds=1 dropped=0 open=1" },
	};
	struct client c;
	int before;
	char *line;

	ck_assert_int_eq(harness_start(&opts), 0);
	before = open_fds();
	c = client_open(path);
	ck_assert_int_ge(c.fd, 0);
	/* One at a time, as ublkctl does. */
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].nfds)
			send_with_fds(&c, steps[i].text, steps[i].nfds);
		else
			ck_assert_int_eq(client_puts(&c, steps[i].text), 0);
		line = client_line(&c);
		ck_assert_ptr_nonnull(line);
		ck_assert_str_eq(line, steps[i].want);
		free(line);
	}
	/* Pipelined: each line still sees only its own (at most what a
	 * connection holds at once). */
	send_with_fds(&c, "take\n", 1);
	ck_assert_int_eq(client_puts(&c, "b\n"), 0);
	line = client_line(&c);
	ck_assert_str_eq(line, "take fds=1 dropped=0 open=1");
	free(line);
	line = client_line(&c);
	ck_assert_str_eq(line, "b fds=0 dropped=0 open=0");
	free(line);
	/* Descriptors sent with an unfinished line are closed with the
	 * connection. */
	send_with_fds(&c, "x", 3);
	usleep(100000);
	client_close(&c);
	for (int i = 0; i < 50 && open_fds() != before; i++)
		usleep(20000);
	ck_assert_int_eq(open_fds(), before);
	harness_stop();
}
END_TEST

/* The socket layer hands lines to whatever handler it is given and knows no
 * JSON-RPC; it refuses to start without one. */
START_TEST(test_line_handler)
{
	static const struct control_handler raw = {
		.line = raw_line, .too_long = raw_too_long, .refused = raw_too_long,
		.arg = "raw",
	};
	static const struct control_handler half = { .line = raw_line };
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path, .handler = &half };
	size_t len = UBLKD_MAX_LINE + 1;
	char *big = malloc(len), *line;
	struct client c;

	ck_assert_int_eq(harness_start(&opts), -EINVAL);
	opts.handler = &raw;
	ck_assert_int_eq(harness_start(&opts), 0);
	c = client_open(path);
	ck_assert_int_ge(c.fd, 0);
	ck_assert_int_eq(client_puts(&c, "hello\r\n \t\n{\"not\": rpc}\nlast"), 0);
	ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
	line = client_line(&c);
	ck_assert_str_eq(line, "raw got hello");
	free(line);
	line = client_line(&c);
	ck_assert_str_eq(line, "raw got {\"not\": rpc}");
	free(line);
	line = client_line(&c);
	ck_assert_str_eq(line, "raw got last");
	free(line);
	ck_assert(client_eof(&c));
	client_close(&c);

	c = client_open(path);
	memset(big, 'x', len);
	ck_assert_int_eq(client_send(&c, big, len), 0);
	line = client_line(&c);
	ck_assert_str_eq(line, "raw refused: request line longer than the limit of 1048576 bytes");
	free(line);
	ck_assert(client_eof(&c));
	client_close(&c);
	free(big);
}
END_TEST

/* Moves fd to 3, where a service manager puts its socket; returns what was at
 * fd 3 before (saved elsewhere) or -1. */
static int activation_install(int fd)
{
	int saved = fcntl(3, F_DUPFD_CLOEXEC, 100);

	if (fd != 3) {
		dup2(fd, 3);
		close(fd);
	}
	return saved;
}

/* Puts back what activation_install saved at fd 3. */
static void activation_restore(int saved)
{
	if (saved >= 0) {
		dup2(saved, 3);
		close(saved);
	} else {
		close(3);
	}
}

/* True if none of the LISTEN_* variables is set. */
static bool listen_env_unset(void)
{
	return !getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES");
}

/* Sets LISTEN_PID and LISTEN_FDS as a service manager would. */
static void listen_env_set(pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", (long)pid);
	setenv("LISTEN_PID", buf, 1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", "ublkd.socket", 1);
}

/* The socket a service manager passes as fd 3 is served; the configured path
 * is not created, and the passed socket's file is not removed. */
START_TEST(test_activation)
{
	const char *passed = harness_path(0, "passed.sock");
	const char *own = harness_path(1, "own.sock");
	struct control_opts opts = { .socket_path = own };
	int saved, err;
	bool env_unset, served, own_made, passed_kept;
	struct stat st;

	/* Check may keep a file of its own at fd 3: assert only after restoring. */
	saved = activation_install(bound_socket(passed, SOCK_STREAM, true));
	listen_env_set(getpid());
	err = harness_start(&opts);
	env_unset = listen_env_unset();
	served = !err && serves(passed);
	own_made = lstat(own, &st) == 0;
	harness_stop();
	passed_kept = lstat(passed, &st) == 0;
	activation_restore(saved);
	ck_assert_int_eq(err, 0);
	ck_assert(env_unset);
	ck_assert(served);
	ck_assert(!own_made);
	ck_assert(passed_kept);
}
END_TEST

/* What sits at fd 3 in the unusable-activation cases. */
enum bad_fd { BAD_PIPE, BAD_NOT_LISTENING, BAD_DGRAM, BAD_OTHER_PID, BAD_COUNT };

/* A passed fd that is no listening stream socket, or LISTEN_PID naming some
 * other process: we bind our own socket, and the variables are gone. */
START_TEST(test_activation_fallback)
{
	const char *passed = harness_path(0, "passed.sock");
	const char *own = harness_path(1, "own.sock");
	struct control_opts opts = { .socket_path = own };
	int saved, err, fd = -1, p[2];
	bool env_unset, served;

	switch (_i) {
	case BAD_PIPE:
		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		close(p[1]);
		fd = p[0];
		break;
	case BAD_NOT_LISTENING:
		fd = bound_socket(passed, SOCK_STREAM, false);
		break;
	case BAD_DGRAM:
		fd = bound_socket(passed, SOCK_DGRAM, false);
		break;
	case BAD_OTHER_PID:
		fd = bound_socket(passed, SOCK_STREAM, true);
		break;
	}
	saved = activation_install(fd);
	listen_env_set(_i == BAD_OTHER_PID ? getpid() + 1 : getpid());
	err = harness_start(&opts);
	env_unset = listen_env_unset();
	served = !err && serves(own);
	harness_stop();
	activation_restore(saved);
	ck_assert_int_eq(err, 0);
	ck_assert(env_unset);
	ck_assert(served);
}
END_TEST

/* Receives one datagram on fd as a string (static buffer), "" on timeout. */
static const char *recv_datagram(int fd)
{
	static char buf[256];
	struct timeval tv = { .tv_sec = 5 };
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* NOTIFY_SOCKET, as a path or an abstract name, receives the states. */
START_TEST(test_notify)
{
	const char *path = harness_path(0, "notify.sock");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char name[64];
	int fd;

	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(activation_notify("READY=1"), 0);

	fd = bound_socket(path, SOCK_DGRAM, false);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(activation_notify("READY=1"), 0);
	ck_assert_str_eq(recv_datagram(fd), "READY=1");
	ck_assert_int_eq(activation_notify("STATUS=serving 0 devices"), 0);
	ck_assert_str_eq(recv_datagram(fd), "STATUS=serving 0 devices");
	close(fd);

	snprintf(name, sizeof(name), "@ublkd-test-notify-%ld", (long)getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memcpy(addr.sun_path + 1, name + 1, strlen(name) - 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(activation_notify("STOPPING=1"), 0);
	ck_assert_str_eq(recv_datagram(fd), "STOPPING=1");
	close(fd);

	/* Nobody listening, or an address we do not speak: an error, no crash. */
	ck_assert_int_lt(activation_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	ck_assert_int_eq(activation_notify("READY=1"), -EAFNOSUPPORT);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

/* A line over the limit gets an error and closes that connection only;
 * a line of exactly the limit is fine. */
START_TEST(test_line_limit)
{
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path };
	const char *head = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":[\"";
	const char *tail = "\"]}";
	size_t len = UBLKD_MAX_LINE + 1;
	char *big = malloc(len + 1);
	struct client idle, fat;
	struct json_object *r;

	ck_assert_int_eq(harness_start(&opts), 0);
	idle = client_open(path);
	fat = client_open(path);
	ck_assert(echo_ok(&idle, 1));

	/* Exactly UBLKD_MAX_LINE bytes of JSON, then a newline: served. */
	memset(big, 'x', len);
	memcpy(big, head, strlen(head));
	memcpy(big + UBLKD_MAX_LINE - strlen(tail), tail, strlen(tail));
	big[UBLKD_MAX_LINE] = '\n';
	ck_assert_int_eq(client_send(&fat, big, UBLKD_MAX_LINE + 1), 0);
	r = client_json(&fat);
	ck_assert_str_eq(resp_id(r), "7");
	ck_assert_int_eq(resp_code(r), 0);
	json_object_put(r);

	/* The same ending in \r\n, the \n late: the \r does not count. */
	big[UBLKD_MAX_LINE] = '\r';
	ck_assert_int_eq(client_send(&fat, big, UBLKD_MAX_LINE + 1), 0);
	sleep_ms(200);
	ck_assert_int_eq(client_puts(&fat, "\n"), 0);
	r = client_json(&fat);
	ck_assert_str_eq(resp_id(r), "7");
	ck_assert_int_eq(resp_code(r), 0);
	json_object_put(r);

	/* UBLKD_MAX_LINE + 1 bytes and no newline: refused, closed. */
	memset(big, 'x', len);
	ck_assert_int_eq(client_send(&fat, big, len), 0);
	r = client_json(&fat);
	ck_assert_int_eq(resp_code(r), RPC_INVALID_REQUEST);
	ck_assert_str_eq(resp_id(r), "null");
	ck_assert_ptr_nonnull(strstr(resp_message(r), "1048576"));
	json_object_put(r);
	ck_assert(client_eof(&fat));
	client_close(&fat);

	/* The same with a newline after it, on a new connection. */
	fat = client_open(path);
	big[len] = '\n';
	client_send(&fat, big, len + 1);
	r = client_json(&fat);
	ck_assert_int_eq(resp_code(r), RPC_INVALID_REQUEST);
	json_object_put(r);
	ck_assert(client_eof(&fat));
	client_close(&fat);

	/* Sent whole and shut down at once, so the server sees the end of
	 * input right after refusing the line: the error still arrives. */
	for (int i = 0; i < 20; i++) {
		fat = client_open(path);
		ck_assert_int_eq(client_send(&fat, big, len + 1), 0);
		ck_assert_int_eq(shutdown(fat.fd, SHUT_WR), 0);
		r = client_json(&fat);
		ck_assert_msg(r != NULL, "try %d: no error reply before the close", i);
		ck_assert_int_eq(resp_code(r), RPC_INVALID_REQUEST);
		json_object_put(r);
		ck_assert(client_eof(&fat));
		client_close(&fat);
	}
	free(big);

	/* The other client never noticed. */
	ck_assert(echo_ok(&idle, 2));
	client_close(&idle);
}
END_TEST

/* A client that disconnects while its call is pending: the call finishes
 * later, finds it gone, its reply is dropped, and the server goes on. */
START_TEST(test_disconnect_mid_request)
{
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path };
	struct client c;

	ck_assert_int_eq(harness_start(&opts), 0);
	c = client_open(path);
	/* The calls answer seconds after the client has gone, so a loaded
	 * machine cannot make the server notice the hang-up too late. */
	ck_assert_int_eq(client_puts(&c,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"later\",\"params\":{\"ms\":2000}}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"later\",\"params\":{\"ms\":2500}}\n"), 0);
	sleep_ms(50);
	client_close(&c);
	ck_assert(wait_for(&harness_stats.later_done, 2));
	ck_assert_int_eq(harness_stats.later_disconnected, 2);
	ck_assert(serves(path));

	/* The same while the control socket stops: the calls outlive it. */
	c = client_open(path);
	ck_assert_int_eq(client_puts(&c,
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"later\",\"params\":{\"ms\":3000}}\n"), 0);
	ck_assert(echo_ok(&c, 4));
	harness_stop();
	ck_assert(client_eof(&c));
	client_close(&c);
	ck_assert_int_eq(harness_stats.later_done, 3);
	ck_assert_int_eq(harness_stats.later_disconnected, 3);
}
END_TEST

/* Many clients at once, each answered on its own connection. */
START_TEST(test_many_clients)
{
	enum { N = 64 };
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path };
	static struct client c[N];
	char req[128];

	ck_assert_int_eq(harness_start(&opts), 0);
	for (int i = 0; i < N; i++) {
		c[i] = client_open(path);
		ck_assert_int_ge(c[i].fd, 0);
		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"later\",\"params\":{\"ms\":%d}}\n",
			 i, 50 + (N - i) * 2);
		ck_assert_int_eq(client_puts(&c[i], req), 0);
	}
	for (int i = 0; i < N; i++) {
		struct json_object *r = client_json(&c[i]);

		ck_assert_int_eq(atoi(resp_id(r)), i);
		json_object_put(r);
		client_close(&c[i]);
	}
}
END_TEST

/* Replies bigger than the socket buffers, to a client that writes while it
 * reads: partial writes, EAGAIN and the pause in reading all happen. */
START_TEST(test_large_replies)
{
	enum { N = 6, PAYLOAD = 900 * 1024 };
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path };
	const char *tail = "\"]}\n";
	size_t req_len = 0, sent = 0, total;
	char head[96], *reqs;
	struct client c;
	bool reading = false;
	int lines = 0;

	ck_assert_int_eq(harness_start(&opts), 0);
	c = client_open(path);
	ck_assert_int_ge(c.fd, 0);
	total = N * (sizeof(head) + PAYLOAD + strlen(tail));
	reqs = malloc(total);
	for (int i = 0; i < N; i++) {
		int n = snprintf(head, sizeof(head),
				 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"echo\",\"params\":[\"", i);

		memcpy(reqs + req_len, head, (size_t)n);
		memset(reqs + req_len + n, 'a' + i, PAYLOAD);
		memcpy(reqs + req_len + n + PAYLOAD, tail, strlen(tail));
		req_len += (size_t)n + PAYLOAD + strlen(tail);
	}
	ck_assert_int_eq(fcntl(c.fd, F_SETFL, O_NONBLOCK), 0);
	c.cap = 2 * N * (PAYLOAD + 128);
	c.buf = malloc(c.cap);
	/* First only write, until the server stops taking requests because
	 * its replies pile up; then read and write. */
	for (int spins = 0; lines < N && spins < 100000; spins++) {
		struct pollfd p = { .fd = c.fd, .events = (reading ? POLLIN : 0) |
				    (sent < req_len ? POLLOUT : 0) };
		ssize_t n;

		if (!reading && (sent == req_len || poll(&p, 1, 500) == 0)) {
			reading = true;
			continue;
		}
		if (reading)
			ck_assert_int_eq(poll(&p, 1, 20000), 1);
		if (p.revents & POLLOUT) {
			n = send(c.fd, reqs + sent, req_len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
		}
		if (p.revents & POLLIN) {
			n = recv(c.fd, c.buf + c.len, c.cap - c.len, 0);
			ck_assert_int_gt(n, 0);
			for (ssize_t k = 0; k < n; k++)
				lines += c.buf[c.len + (size_t)k] == '\n';
			c.len += (size_t)n;
		}
	}
	ck_assert_int_eq(lines, N);
	ck_assert_int_eq(fcntl(c.fd, F_SETFL, 0), 0);
	for (int i = 0; i < N; i++) {
		struct json_object *r = client_json(&c), *res;
		const char *str;

		ck_assert_int_eq(atoi(resp_id(r)), i);
		ck_assert(json_object_object_get_ex(r, "result", &res));
		str = json_object_get_string(json_object_array_get_idx(res, 0));
		ck_assert_int_eq(strlen(str), PAYLOAD);
		ck_assert_int_eq(str[0], 'a' + i);
		ck_assert_int_eq(str[PAYLOAD - 1], 'a' + i);
		json_object_put(r);
	}
	free(reqs);
	client_close(&c);
}
END_TEST

static bool under_valgrind(void);

/* Reads and drops what c receives until the server closes it; true if that
 * happened within ms milliseconds. */
static bool closed_within(struct client *c, int ms)
{
	char buf[65536];

	for (int waited = 0; waited <= ms; ) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10) == 0) {
			waited += 10;
			continue;
		}
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
	return false;
}

/* Reads and drops lines from c until want of them came or ms passed;
 * how many came. */
static long lines_read(struct client *c, long want, int ms)
{
	char buf[65536];
	long lines = 0;
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	for (int waited = 0; lines < want && waited < ms; ) {
		ssize_t n;

		if (poll(&p, 1, 100) == 0) {
			waited += 100;
			continue;
		}
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	return lines;
}

/* Sends what the socket takes of text at once (non-blocking). */
static size_t send_some(struct client *c, const char *text, size_t len)
{
	ssize_t n = send(c->fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	return n > 0 ? (size_t)n : 0;
}

/* Orders doubles for qsort. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Milliseconds since t0. */
static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The connection past max_connections gets one error line with a null id
 * and is closed; the ones before it are served, and once one of them is
 * gone a new one is served again. */
START_TEST(test_max_connections)
{
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path, .max_connections = 3 };
	struct client c[3], extra;
	struct json_object *r;

	ck_assert_int_eq(harness_start(&opts), 0);
	for (int i = 0; i < 3; i++) {
		c[i] = client_open(path);
		ck_assert(echo_ok(&c[i], i));
	}
	for (int i = 0; i < 40; i++) {
		extra = client_open(path);
		ck_assert_int_ge(extra.fd, 0);
		r = client_json(&extra);
		ck_assert_msg(r != NULL, "refused connection %d got no error line", i);
		ck_assert_int_eq(resp_code(r), RPC_TOO_MANY_CONNECTIONS);
		ck_assert_str_eq(resp_id(r), "null");
		ck_assert_ptr_nonnull(strstr(resp_message(r), "limit is 3"));
		json_object_put(r);
		/* Sending meanwhile does not lose the error either. */
		if (i % 2)
			client_puts(&extra, ECHO_REQ(9));
		shutdown(extra.fd, SHUT_WR);
		ck_assert(closed_within(&extra, 5000));
		client_close(&extra);
	}
	ck_assert(echo_ok(&c[0], 10));
	client_close(&c[0]);
	for (int i = 0; i < 100; i++) {
		extra = client_open(path);
		if (echo_ok(&extra, 11))
			break;
		client_close(&extra);
		sleep_ms(10);
	}
	ck_assert(echo_ok(&extra, 12));
	client_close(&extra);
	client_close(&c[1]);
	client_close(&c[2]);
}
END_TEST

/* Idle connections are closed after idle_timeout: silent ones, ones that
 * send a byte at a time and never a newline, and ones that send only blank
 * lines; a connection whose call is pending is not idle (closed no sooner
 * than idle_timeout after the answer), and one that sends requests stays.
 * Only lower bounds on time are checked: a loaded machine makes all later. */
START_TEST(test_idle_timeout)
{
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path, .idle_timeout = 1.0 };
	struct client silent, slow, blank, busy, chatty;
	struct timespec t0;
	struct json_object *r;
	bool slow_closed = false, blank_closed = false;

	ck_assert_int_eq(harness_start(&opts), 0);
	silent = client_open(path);
	slow = client_open(path);
	blank = client_open(path);
	busy = client_open(path);
	chatty = client_open(path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(client_puts(&busy,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"later\",\"params\":{\"ms\":3000}}\n"), 0);
	for (int i = 0; i < 30; i++) {
		if (!slow_closed && send_some(&slow, "{", 1) != 1)
			slow_closed = true;
		if (!blank_closed && send_some(&blank, "\n", 1) != 1)
			blank_closed = true;
		ck_assert(echo_ok(&chatty, i));
		sleep_ms(100);
	}
	/* 3 s passed: three idle timeouts. */
	ck_assert(closed_within(&silent, 2000));
	ck_assert(closed_within(&slow, 2000));
	ck_assert(closed_within(&blank, 2000));
	r = client_json(&busy);
	ck_assert_str_eq(resp_id(r), "1");
	json_object_put(r);
	ck_assert(echo_ok(&chatty, 99));
	/* Answered at 3 s at the earliest: idle from then on. */
	ck_assert(closed_within(&busy, 5000));
	ck_assert_msg(ms_since(&t0) >= 3990, "closed %.0f ms after its request, "
		      "less than 3 s of the call and 1 s of idling", ms_since(&t0));
	client_close(&silent);
	client_close(&slow);
	client_close(&blank);
	client_close(&busy);
	client_close(&chatty);
}
END_TEST

/* A client that sends a megabyte of blanks, then lines that each draw an
 * error reply, and never reads: its lines stop being handled once its
 * replies pass the high mark, so it stays under a budget of 3 MiB (about
 * 1 MiB of input buffer, 64 KiB of output); answering every line it sent
 * would take it over and get it closed. Another client is served at once
 * meanwhile. */
START_TEST(test_amplification)
{
	enum { LINES = 400000 };
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path, .budget = 3 * 1024 * 1024 };
	size_t len = UBLKD_MAX_LINE - 16 + 1 + 2 * LINES, sent = 0;
	char *attack = malloc(len);
	struct client bad, good;
	struct pollfd p = { .events = POLLIN | POLLRDHUP };
	struct timespec t0;
	double took[60];
	int tries = 0;

	memset(attack, ' ', UBLKD_MAX_LINE - 16);
	attack[UBLKD_MAX_LINE - 16] = '\n';
	for (size_t i = UBLKD_MAX_LINE - 15; i < len; i += 2) {
		attack[i] = 'x';
		attack[i + 1] = '\n';
	}
	ck_assert_int_eq(harness_start(&opts), 0);
	bad = client_open(path);
	good = client_open(path);
	for (int i = 0; i < 60 && sent < len; i++) {
		sent += send_some(&bad, attack + sent, len - sent);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ck_assert(echo_ok(&good, i));
		took[tries++] = ms_since(&t0);
		sleep_ms(5);
	}
	ck_assert_msg(sent < len, "the server took all %zu bytes without its replies read", len);
	/* The median: one slow echo may be the machine's, not the server's. */
	qsort(took, (size_t)tries, sizeof(took[0]), cmp_double);
	ck_assert_msg(took[tries / 2] < (under_valgrind() ? 2000 : 100),
		      "echoes took %.0f ms (median) during the attack", took[tries / 2]);
	p.fd = bad.fd;
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	ck_assert_msg(!(p.revents & (POLLHUP | POLLRDHUP)),
		      "the attacker was closed: over the budget");
	/* Read, its lines are handled again: thousands of replies. */
	ck_assert_int_ge(lines_read(&bad, 10000, 20000), 10000);
	client_close(&bad);
	client_close(&good);
	free(attack);
}
END_TEST

/* Clients that send requests and never read their replies: past the
 * daemon-wide budget the one holding most is closed, and a small client is
 * still served. */
START_TEST(test_budget)
{
	enum { HOGS = 4, PAYLOAD = 200 * 1024 };
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path, .budget = 1024 * 1024 };
	const char *head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"";
	const char *tail = "\"]}\n";
	size_t one = strlen(head) + PAYLOAD + strlen(tail), len = 8 * one;
	char *reqs = malloc(len);
	struct client hog[HOGS], small;
	size_t sent[HOGS] = { 0 };
	int closed = 0;

	for (int i = 0; i < 8; i++) {
		char *p = reqs + (size_t)i * one;

		memcpy(p, head, strlen(head));
		memset(p + strlen(head), 'h', PAYLOAD);
		memcpy(p + strlen(head) + PAYLOAD, tail, strlen(tail));
	}
	ck_assert_int_eq(harness_start(&opts), 0);
	small = client_open(path);
	for (int i = 0; i < HOGS; i++)
		hog[i] = client_open(path);
	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < HOGS; i++)
			sent[i] += send_some(&hog[i], reqs + sent[i] % len, len - sent[i] % len);
		sleep_ms(10);
	}
	ck_assert(echo_ok(&small, 1));
	for (int i = 0; i < HOGS; i++)
		closed += closed_within(&hog[i], 3000);
	ck_assert_msg(closed >= 1, "no client was closed past the budget");
	ck_assert_msg(closed < HOGS, "every client was closed");
	ck_assert(echo_ok(&small, 2));
	for (int i = 0; i < HOGS; i++)
		client_close(&hog[i]);
	client_close(&small);
	free(reqs);
}
END_TEST

/* A second server on the same path is refused by the lock, whether the
 * path's socket answers or not, and leaves the first one serving; the lock
 * file stays, and the path is free again once the first stops. */
START_TEST(test_lock)
{
	const char *path = harness_path(0, "ublkd.sock");
	const char *lock = harness_path(1, "ublkd.sock.lock");
	struct control_opts opts = { .socket_path = path };
	struct control_socket other;
	struct stat st;
	int fd;

	ck_assert_int_eq(harness_start(&opts), 0);
	ck_assert_int_eq(lstat(lock, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(control_socket_open(&other, path, NULL), -EADDRINUSE);
	ck_assert_int_eq(other.fd, -1);
	ck_assert(serves(path));
	harness_stop();
	ck_assert_int_eq(lstat(lock, &st), 0);
	ck_assert_int_eq(control_socket_open(&other, path, NULL), 0);
	control_socket_close(&other);

	/* Someone else holds the lock, the socket file is stale: neither
	 * removed nor replaced. */
	close(bound_socket(path, SOCK_STREAM, true));
	fd = open(lock, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	ck_assert_int_eq(harness_start(&opts), -EADDRINUSE);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	close(fd);
	ck_assert_int_eq(harness_start(&opts), 0);
	ck_assert(serves(path));
}
END_TEST

/* True when running under valgrind, which preloads its own libraries. */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

/* Out of descriptors at accept: accepting pauses instead of spinning, and
 * the waiting client is served once descriptors are free again. */
START_TEST(test_accept_emfile)
{
	const char *path = harness_path(0, "ublkd.sock");
	struct control_opts opts = { .socket_path = path };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct client c = { .fd = -1 };
	struct rlimit old, low;
	struct timespec t0, t1;
	double waited;
	int lowest, err;

	ck_assert_int_eq(harness_start(&opts), 0);
	c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c.fd, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	lowest = dup(0);
	ck_assert_int_ge(lowest, 0);
	close(lowest);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = connect(c.fd, (struct sockaddr *)&addr, sizeof(addr));
	sleep_ms(200);
	setrlimit(RLIMIT_NOFILE, &old);
	ck_assert_int_eq(err, 0);
	if (under_valgrind()) {
		/* Valgrind closes a connection accepted past its own descriptor
		 * limit, so this client is lost; a new one must be served. */
		client_close(&c);
		sleep_ms(1200);
		ck_assert(serves(path));
		return;
	}
	ck_assert(echo_ok(&c, 1));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waited = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* Served only after the pause, so accept did fail meanwhile. */
	ck_assert_msg(waited > 0.5, "served after %.3f s: accept never failed?", waited);
	client_close(&c);
	ck_assert(serves(path));
}
END_TEST

/* "--serve PATH": serves until SIGTERM, the way ublkd would. */
static int serve(const char *path)
{
	struct control_opts opts = { .socket_path = path };
	sigset_t set;
	int sig;

	log_init("check_control-serve", LOG_LEVEL_DEBUG);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (harness_start(&opts) < 0)
		return 1;
	activation_notify("READY=1");
	sigwait(&set, &sig);
	harness_stop();
	return 0;
}

/* End to end through systemd-socket-activate: it binds, we are exec'd with
 * the socket as fd 3 and serve it (the configured path stays unused). */
START_TEST(test_systemd_socket_activate)
{
	const char *tool = "/usr/bin/systemd-socket-activate";
	const char *passed = harness_path(0, "activate.sock");
	const char *own = harness_path(1, "own.sock");
	struct control_socket other;
	char lock[256];
	struct client c = { .fd = -1 };
	char self[PATH_MAX];
	struct stat st;
	ssize_t n;
	int status;
	pid_t pid;

	if (access(tool, X_OK) != 0) {
		fprintf(stderr, "skipping: %s is not installed\n", tool);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl(tool, tool, "-l", passed, self, "--serve", own, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && c.fd < 0; i++) {
		c = client_open(passed);
		if (c.fd < 0)
			sleep_ms(10);
	}
	ck_assert_int_ge(c.fd, 0);
	ck_assert(echo_ok(&c, 1));
	client_close(&c);
	ck_assert(serves(passed));
	ck_assert_int_eq(lstat(own, &st), -1);
	/* Activated, it still holds the lock of the passed socket's path: a
	 * second server on that path is refused and unlinks nothing. */
	snprintf(lock, sizeof(lock), "%s.lock", passed);
	ck_assert_int_eq(lstat(lock, &st), 0);
	ck_assert_int_eq(control_socket_open(&other, passed, NULL), -EADDRINUSE);
	ck_assert(serves(passed));
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* The tests, in one suite. */
static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("control");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_errname);
	tcase_add_test(tc, test_socket_mode);
	tcase_add_test(tc, test_socket_group);
	tcase_add_test(tc, test_stale_socket);
	tcase_add_test(tc, test_live_socket);
	tcase_add_test(tc, test_not_a_socket);
	tcase_add_test(tc, test_bad_path);
	tcase_add_test(tc, test_activation);
	tcase_add_loop_test(tc, test_activation_fallback, 0, BAD_COUNT);
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_line_limit);
	tcase_add_test(tc, test_line_handler);
	tcase_add_test(tc, test_passed_fds);
	tcase_add_test(tc, test_disconnect_mid_request);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_large_replies);
	tcase_add_test(tc, test_accept_emfile);
	tcase_add_test(tc, test_systemd_socket_activate);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_amplification);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_lock);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc == 3 && !strcmp(argv[1], "--serve"))
		return serve(argv[2]);
	log_init("check_control", LOG_LEVEL_DEBUG);
	sr = srunner_create(control_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
