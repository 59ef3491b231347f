/* Tests of the nbd backend against a real nbdkit on a UNIX socket, driven
 * by a real libev loop through evwatch (skipped without nbdkit): the add
 * waits for the handshake, the geometry is the server's, submit never ends
 * a request from inside itself, requests go out at unplug (one wakeup's in
 * one TCP segment), data round-trips with simple and structured replies, a
 * refused export and a dead socket fail with a message. */
#include "config.h"
#include "backends/backend.h"
#include "daemon/evwatch.h"
#include "test/unit/backend_test.h"

#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern const struct backend_ops backend_nbd;

static struct ev_loop *loop;
static struct evwatch ew;
static pid_t server;
static char dir[64], sock[256], url[512];
static int ready_res = 1, dones, last_res, in_submit;
static char ready_msg[512];
static int hold_connect;	/* bytes connect waits for (test_answer_in_connect) */
static int connected_fd = -1;	/* the socket libnbd connected last */

/* libnbd's connect(2), taken here: the system call (its socket noted in
 * connected_fd), then (while a test
 * asks) a wait of up to 5 s until hold_connect bytes from the server are
 * there, as when the process is preempted until the server has answered. */
int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	long ret = syscall(SYS_connect, fd, addr, len);
	int n = 0;

	connected_fd = fd;

	if ((ret == 0 || errno == EINPROGRESS) && hold_connect > 0) {
		int saved = errno;

		for (int i = 0; i < 500 && n < hold_connect; i++) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			poll(&p, 1, 10);
			if (ioctl(fd, FIONREAD, &n) < 0)
				n = 0;
		}
		errno = saved;
	}
	return (int)ret;
}

static unsigned cork_tries;	/* setsockopt(TCP_CORK, 1) calls made */

/* setsockopt(2), taken here to count the backend's attempts to cork. */
int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (level == IPPROTO_TCP && name == TCP_CORK && len == sizeof(int) && *(const int *)val)
		cork_tries++;
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

static int fail_sends;	/* sends to fail with ECONNRESET (test_send_failure) */

/* send(2), taken here: fails the next fail_sends sends with ECONNRESET. */
ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	if (fail_sends > 0) {
		fail_sends--;
		errno = ECONNRESET;
		return -1;
	}
	return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

/* Starts nbdkit -f -U sock with the arguments args (NULL-terminated) and
 * waits for its pid file, which nbdkit writes once it accepts connections
 * (the socket's name exists from bind, before listen); returns its pid. */
static pid_t start_nbdkit(const char *the_sock, const char *const args[])
{
	char pidfile[320], flag[340];
	const char *argv[16] = { "nbdkit", "-f", "-U", the_sock };
	int n = 4;
	struct stat st;
	pid_t pid;

	snprintf(pidfile, sizeof(pidfile), "%s.pid", the_sock);
	snprintf(flag, sizeof(flag), "--pidfile=%s", pidfile);
	argv[n++] = flag;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	unlink(pidfile);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execvp("nbdkit", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200 && (stat(pidfile, &st) != 0 || st.st_size == 0); i++)
		usleep(50000);
	ck_assert_msg(stat(pidfile, &st) == 0 && st.st_size > 0,
		      "nbdkit on %s is not ready after 10 s", the_sock);
	unlink(pidfile);
	return pid;
}

/* The arguments of an nbdkit serving 1 MiB of memory. */
static const char *const memory_1m[] = { "memory", "1M", NULL };

/* Starts nbdkit memory 1M on a socket in a fresh directory. */
static void setup(void)
{

	/* A fresh template each time: with CK_FORK=no (valgrind) every test
	 * runs in this one process. */
	snprintf(dir, sizeof(dir), "/tmp/check_nbd.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/s", dir);
	snprintf(url, sizeof(url), "nbd+unix:///?socket=%s", sock);
	server = start_nbdkit(sock, memory_1m);
	loop = ev_loop_new(EVFLAG_AUTO);
	evwatch_init(&ew, loop);
}

/* Stops the server and the loop. */
static void teardown(void)
{
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	unlink(sock);
	rmdir(dir);
	ev_loop_destroy(loop);
}

/* The add's wait ended. */
static void on_ready(void *arg, int res, const char *msg)
{
	(void)arg;
	ready_res = res;
	snprintf(ready_msg, sizeof(ready_msg), "%s", msg ? msg : "");
}

/* A request ended: never from inside submit. */
static void on_done(void *ctx, int res)
{
	(void)ctx;
	ck_assert_int_eq(in_submit, 0);
	dones++;
	last_res = res;
}

/* The device the tests open the backend for, with args as its arguments. */
static struct backend_config test_cfg(struct backend_arg *args)
{
	return (struct backend_config){ .block_size = 512, .args = args, .loop = &ew.ops,
					.queues = 1, .depth = 8, .max_io_bytes = 1 << 19 };
}

/* Opens the backend for cfg and waits for the handshake: 0, or -errno with
 * the message in ready_msg. */
static int open_cfg(const struct backend_config *cfg, void **priv, struct backend_geometry *geo)
{
	char err[512] = "";
	int ret;

	ret = backend_nbd.open(priv, cfg, geo, err, sizeof(err));
	if (ret < 0) {
		snprintf(ready_msg, sizeof(ready_msg), "%s", err);
		return ret;
	}
	ready_res = 1;
	ret = backend_nbd.wait_ready(*priv, on_ready, NULL, err, sizeof(err));
	ck_assert_int_ge(ret, 0);	/* 0: the handshake ended inside open */
	if (ret == 0)
		ready_res = 0;
	for (int i = 0; i < 200 && ready_res == 1; i++)
		ev_run(loop, EVRUN_ONCE);
	if (ready_res < 0) {	/* as the daemon does with a failed add */
		backend_nbd.close(*priv);
		*priv = NULL;
	}
	return ready_res;
}

/* Opens the backend on the_url, asking for structured replies or not, and
 * waits for the handshake. */
static int open_nbd_replies(const char *the_url, bool structured, void **priv,
			    struct backend_geometry *geo)
{
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_config cfg = test_cfg(args);

	test_arg_text(&backend_nbd, args, "url", the_url);
	test_arg_text(&backend_nbd, args, "timeout", "2");
	test_arg_flag(&backend_nbd, args, "structured_replies", structured);
	return open_cfg(&cfg, priv, geo);
}

/* Opens the backend on the_url (simple replies) and waits for the handshake. */
static int open_nbd(const char *the_url, void **priv, struct backend_geometry *geo)
{
	return open_nbd_replies(the_url, false, priv, geo);
}

/* Hands req to submit for queue, which must take it without ending it. */
static void submit_req(void *priv, unsigned queue, const struct backend_req *req,
		       backend_done_fn done)
{
	in_submit = 1;
	ck_assert_int_eq(backend_nbd.submit(priv, queue, req, done, NULL), 0);
	in_submit = 0;
}

/* Submits one request, unplugs as the daemon does after a wakeup, and runs
 * the loop until it ends. */
static int run_req(void *priv, enum backend_req_op op, void *buf, uint64_t off, uint64_t len)
{
	struct backend_req req = { .op = op, .off = off, .len = len, .buf = buf };
	int before = dones;

	submit_req(priv, 0, &req, on_done);
	backend_nbd.unplug(priv, 0);
	for (int i = 0; i < 400 && dones == before; i++)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(dones, before + 1);
	return last_res;
}

START_TEST(test_roundtrip)
{
	struct backend_geometry geo;
	void *priv;
	static char a[65536], b[65536];

	ck_assert_int_eq(open_nbd(url, &priv, &geo), 0);
	backend_nbd.ready_geometry(priv, &geo);
	ck_assert_uint_eq(geo.size, 1 << 20);
	ck_assert(!geo.read_only);
	ck_assert(geo.volatile_cache);
	ck_assert_uint_gt(geo.max_discard_bytes, 0);
	ck_assert_uint_gt(geo.max_write_zeroes_bytes, 0);
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (char)(i * 7 + 3);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_WRITE, a, 4096, sizeof(a)), 0);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_FLUSH, NULL, 0, 0), 0);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 4096, sizeof(b)), 0);
	ck_assert_mem_eq(a, b, sizeof(a));
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_DISCARD, NULL, 4096, 8192), 0);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 4096, 8192), 0);
	test_assert_zero(b, 8192);
	/* The server dies: a request waits the timeout (2 s), then EIO. */
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, 4096), -EIO);
	backend_nbd.close(priv);
}
END_TEST

/* Counts the ends of the pipelined requests of test_pipeline. */
static int pipe_done, pipe_errors;

/* A pipelined request ended. */
static void on_pipe_done(void *ctx, int res)
{
	(void)ctx;
	ck_assert_int_eq(in_submit, 0);
	pipe_done++;
	pipe_errors += res != 0;
}

/* Fills req, the request number i of a pipeline, its data in buf. */
typedef void pipe_req_fn(unsigned i, struct backend_req *req);

/* Submits n requests made by make, kept depth deep (queue i % 2), each
 * round of them followed by an unplug, and runs the loop until all ended:
 * every reply is seen without a lost wakeup, well
 * before the 2 s timeout, none fails. */
static void run_pipeline(void *priv, int n, int depth, pipe_req_fn *make)
{
	int sent = 0;
	double t0 = ev_time();

	pipe_done = pipe_errors = 0;
	while (pipe_done < n) {
		while (sent < n && sent - pipe_done < depth) {
			struct backend_req req = { .op = BACKEND_REQ_READ };

			make((unsigned)sent, &req);
			submit_req(priv, (unsigned)sent % 2, &req, on_pipe_done);
			sent++;
		}
		backend_nbd.unplug(priv, 0);
		ev_run(loop, EVRUN_ONCE);
		ck_assert_msg(ev_time() - t0 < 20, "only %d of %d ended in 20 s", pipe_done, n);
	}
	ck_assert_int_eq(pipe_errors, 0);
}

/* Request i of test_pipeline: 4 KiB, two writes (some FUA) to a read. */
static void small_req(unsigned i, struct backend_req *req)
{
	static char bufs[32][4096];

	req->op = i % 3 ? BACKEND_REQ_WRITE : BACKEND_REQ_READ;
	req->flags = i % 7 == 0 ? BACKEND_F_FUA : 0;
	req->off = (uint64_t)(i * 37 % 256) * 4096;
	req->len = 4096;
	req->buf = bufs[i % 32];
}

/* 4096 requests of 4 KiB kept 32 deep, writes and reads, some FUA; the
 * UNIX socket's refusal to cork is learnt once. */
START_TEST(test_pipeline)
{
	struct backend_geometry geo;
	void *priv;

	ck_assert_int_eq(open_nbd(url, &priv, &geo), 0);
	cork_tries = 0;
	run_pipeline(priv, 4096, 32, small_req);
	/* A UNIX socket cannot cork: tried once, not for every batch. */
	ck_assert_uint_eq(cork_tries, 1);
	backend_nbd.close(priv);
}
END_TEST

/* Simple replies by default, structured ones when asked (nbdkit offers
 * both), each reported as negotiated; data round-trips either way, a read
 * past what was written reads zeroes. */
START_TEST(test_reply_kinds)
{
	for (int structured = 0; structured < 2; structured++) {
		struct backend_geometry geo;
		struct json_object *d, *v;
		static char a[8192], b[8192];
		void *priv;

		ck_assert_int_eq(open_nbd_replies(url, structured, &priv, &geo), 0);
		d = test_describe(&backend_nbd, priv);
		ck_assert(json_object_object_get_ex(d, "structured_replies", &v));
		ck_assert_int_eq(json_object_get_boolean(v), structured);
		json_object_put(d);
		memset(a, 'a' + structured, sizeof(a));
		ck_assert_int_eq(run_req(priv, BACKEND_REQ_WRITE, a, 65536 * (1 + structured),
					 sizeof(a)), 0);
		ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 65536 * (1 + structured),
					 sizeof(b)), 0);
		ck_assert_mem_eq(a, b, sizeof(a));
		memset(b, 'x', sizeof(b));
		ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 512 * 1024, sizeof(b)), 0);
		test_assert_zero(b, sizeof(b));
		backend_nbd.close(priv);
	}
}
END_TEST

/* Starts nbdkit memory 1M requiring TLS with the PSK file psk on the
 * socket tls_sock; returns its pid. */
static pid_t start_tls_server(const char *psk, const char *tls_sock)
{
	char opt[320];
	const char *const args[] = { "--tls=require", opt, "memory", "1M", NULL };

	snprintf(opt, sizeof(opt), "--tls-psk=%s", psk);
	return start_nbdkit(tls_sock, args);
}

/* An nbds+unix:// URL with a PSK file: data round-trips over TLS; a wrong
 * key and a plain nbd+unix:// URL are refused with the reason. */
START_TEST(test_tls)
{
	char psk[300], bad[300], tls_sock[300], u[1024];
	struct backend_geometry geo;
	static char a[4096], b[4096];
	void *priv;
	pid_t tls_server;
	FILE *f;

	snprintf(psk, sizeof(psk), "%s/psk", dir);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	snprintf(tls_sock, sizeof(tls_sock), "%s/tls", dir);
	ck_assert_ptr_nonnull(f = fopen(psk, "w"));
	fprintf(f, "alice:0123456789abcdef0123456789abcdef\n");
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(bad, "w"));
	fprintf(f, "alice:fedcba9876543210fedcba9876543210\n");
	fclose(f);
	tls_server = start_tls_server(psk, tls_sock);
	snprintf(u, sizeof(u), "nbds+unix://alice@/?socket=%s&tls-psk-file=%s", tls_sock, psk);
	ck_assert_msg(open_nbd(u, &priv, &geo) == 0, "TLS open: %s", ready_msg);
	memset(a, 't', sizeof(a));
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_WRITE, a, 8192, sizeof(a)), 0);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 8192, sizeof(b)), 0);
	ck_assert_mem_eq(a, b, sizeof(a));
	backend_nbd.close(priv);
	snprintf(u, sizeof(u), "nbds+unix://alice@/?socket=%s&tls-psk-file=%s", tls_sock, bad);
	ck_assert_int_lt(open_nbd(u, &priv, &geo), 0);
	ck_assert_msg(strstr(ready_msg, "TLS") || strstr(ready_msg, "tls") ||
		      strstr(ready_msg, "handshake"), "message: %s", ready_msg);
	snprintf(u, sizeof(u), "nbd+unix:///?socket=%s", tls_sock);
	ck_assert_int_lt(open_nbd(u, &priv, &geo), 0);
	ck_assert_msg(ready_msg[0], "no message for a plain connection to a TLS server");
	kill(tls_server, SIGKILL);
	waitpid(tls_server, NULL, 0);
	unlink(psk);
	unlink(bad);
	unlink(tls_sock);
}
END_TEST

/* Request i of test_pipeline_large: 256 KiB, two writes to a read. */
static void large_req(unsigned i, struct backend_req *req)
{
	static char bufs[8][256 * 1024];

	req->op = i % 3 == 2 ? BACKEND_REQ_READ : BACKEND_REQ_WRITE;
	req->off = (uint64_t)(i % 4) * sizeof(bufs[0]);
	req->len = sizeof(bufs[0]);
	req->buf = bufs[i % 8];
}

/* 512 requests of 256 KiB kept 8 deep, writes and reads mixed: larger than
 * the socket's buffer, so a request is still being sent (libnbd waits to
 * write) when replies come in (it waits to read): every reply is seen, no
 * connection is dropped, nothing fails. */
START_TEST(test_pipeline_large)
{
	struct backend_geometry geo;
	struct json_object *d, *v;
	void *priv;

	ck_assert_int_eq(open_nbd(url, &priv, &geo), 0);
	run_pipeline(priv, 512, 8, large_req);
	d = test_describe(&backend_nbd, priv);
	ck_assert(json_object_object_get_ex(d, "reconnects", &v));
	ck_assert_int_eq(json_object_get_int(v), 0);
	json_object_put(d);
	backend_nbd.close(priv);
}
END_TEST

/* --connections 2 to a server that does not offer multi-conn (nbdkit's
 * multi-conn filter, disabled): one connection, which serves; the device
 * says so. */
START_TEST(test_no_multi_conn)
{
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_config cfg = { .block_size = 512, .args = args, .loop = &ew.ops,
				      .queues = 2, .depth = 8, .max_io_bytes = 1 << 19 };
	char one_sock[300], u[400], err[512] = "";
	struct backend_geometry geo;
	struct json_object *d, *v;
	static char a[4096], b[4096];
	void *priv;
	pid_t one;
	static const char *const one_args[] = { "--filter=multi-conn", "memory", "1M",
						"multi-conn-mode=disable", NULL };

	snprintf(one_sock, sizeof(one_sock), "%s/one", dir);
	one = start_nbdkit(one_sock, one_args);
	snprintf(u, sizeof(u), "nbd+unix:///?socket=%s", one_sock);
	test_arg_text(&backend_nbd, args, "url", u);
	test_arg_bytes(&backend_nbd, args, "connections", 2);
	ck_assert_int_eq(backend_nbd.open(&priv, &cfg, &geo, err, sizeof(err)), 0);
	ready_res = 1;
	ck_assert_int_eq(backend_nbd.wait_ready(priv, on_ready, NULL, err, sizeof(err)), 1);
	for (int i = 0; i < 200 && ready_res == 1; i++)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_msg(ready_res == 0, "add: %s", ready_msg);
	d = test_describe(&backend_nbd, priv);
	ck_assert(json_object_object_get_ex(d, "connections", &v));
	ck_assert_int_eq(json_object_get_int(v), 1);
	ck_assert(json_object_object_get_ex(d, "multi_conn", &v));
	ck_assert(!json_object_get_boolean(v));
	json_object_put(d);
	memset(a, 'm', sizeof(a));
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_WRITE, a, 4096, sizeof(a)), 0);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 4096, sizeof(b)), 0);
	ck_assert_mem_eq(a, b, sizeof(a));
	backend_nbd.close(priv);
	kill(one, SIGKILL);
	waitpid(one, NULL, 0);
	unlink(one_sock);
}
END_TEST

START_TEST(test_refusals)
{
	struct backend_geometry geo;
	void *priv;
	char bad[600];

	/* nbdkit serves any export name, so refuse through a missing socket. */
	snprintf(bad, sizeof(bad), "nbd+unix:///?socket=%s/none", dir);
	ck_assert_int_lt(open_nbd(bad, &priv, &geo), 0);
	ck_assert_msg(strstr(ready_msg, "No such file") != NULL, "message: %s", ready_msg);
	ck_assert_int_eq(open_nbd("nbd:/x", &priv, &geo), -EINVAL);
	ck_assert_msg(strstr(ready_msg, "is not an NBD URI") != NULL, "message: %s", ready_msg);
}
END_TEST

/* A server that takes the connection and never speaks (a socket that
 * listens and never accepts): the add fails after the timeout, saying the
 * connection was made and the server went silent. */
START_TEST(test_silent_server)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct backend_geometry geo;
	char silent[600];
	double t0 = ev_time();
	void *priv;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/silent", dir);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	snprintf(silent, sizeof(silent), "nbd+unix:///?socket=%s", a.sun_path);
	ck_assert_int_lt(open_nbd(silent, &priv, &geo), 0);
	ck_assert_msg(strstr(ready_msg, "no answer to the handshake within 2.0 s (connected; "
				 "the server sent nothing more)") != NULL, "message: %s", ready_msg);
	ck_assert_double_ge(ev_time() - t0, 1.9);
	close(fd);
	unlink(a.sun_path);
}
END_TEST

/* A TCP listener on 127.0.0.1 (an ephemeral port) that never accepts:
 * returns its fd, the port in *port. */
static int silent_tcp(unsigned *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* In a server child: accepts a connection on lfd and writes the n bytes at
 * bytes to it; returns the connection, or ends the child on failure. */
static int child_accept_send(int lfd, const void *bytes, size_t n)
{
	int cfd = accept(lfd, NULL, NULL);

	if (cfd < 0 || write(cfd, bytes, n) != (ssize_t)n)
		_exit(1);
	return cfd;
}

/* A child that accepts one connection on lfd, writes the n bytes at
 * bytes to it, and then stays silent until killed; returns its pid. */
static pid_t serve_bytes(int lfd, const void *bytes, size_t n)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		child_accept_send(lfd, bytes, n);
		pause();
		_exit(0);
	}
	return pid;
}

/* Over TCP the timeout's message counts what the socket received: none
 * from a server that never accepts; from one that sent half a greeting and
 * went quiet, those bytes (read by libnbd, so none wait unread). */
START_TEST(test_silent_tcp)
{
	struct backend_geometry geo;
	char u[128];
	unsigned port;
	void *priv;
	int lfd = silent_tcp(&port);
	pid_t pid;

	snprintf(u, sizeof(u), "nbd://127.0.0.1:%u/", port);
	ck_assert_int_lt(open_nbd(u, &priv, &geo), 0);
	ck_assert_msg(strstr(ready_msg, "connection 0: no answer to the handshake within 2.0 s "
				 "(connected; the server sent nothing more; TCP: 0 bytes received, "
				 "0 sent)") != NULL, "message: %s", ready_msg);
	close(lfd);
	/* A new listener whose child accepts and sends the greeting's first 8
	 * bytes only. */
	lfd = silent_tcp(&port);
	snprintf(u, sizeof(u), "nbd://127.0.0.1:%u/", port);
	pid = serve_bytes(lfd, "NBDMAGIC", 8);
	ck_assert_int_lt(open_nbd(u, &priv, &geo), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_msg(strstr(ready_msg, "(connected; the server sent nothing more; "
				 "TCP: 8 bytes received, 0 sent)") != NULL,
		      "message: %s", ready_msg);
	close(lfd);
}
END_TEST

/* Puts a big-endian value of n bytes at p. */
static unsigned char *put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
	return p + n;
}

/* Puts at p the whole of a server's side of a handshake (70 bytes: the
 * greeting, the ack of NBD_OPT_STRUCTURED_REPLY when structured (20 more),
 * then NBD_OPT_GO's info on a 1 MiB export that can flush, and its ack);
 * returns the end. */
static unsigned char *put_hello(unsigned char *p, bool structured)
{
	p = put_be(p, 0x4e42444d41474943ULL, 8);	/* NBDMAGIC */
	p = put_be(p, 0x49484156454f5054ULL, 8);	/* IHAVEOPT */
	p = put_be(p, 3, 2);			/* fixed newstyle, no zeroes */
	if (structured) {
		p = put_be(p, 0x3e889045565a9ULL, 8);	/* option reply magic */
		p = put_be(p, 8, 4);		/* NBD_OPT_STRUCTURED_REPLY */
		p = put_be(p, 1, 4);		/* NBD_REP_ACK */
		p = put_be(p, 0, 4);
	}
	p = put_be(p, 0x3e889045565a9ULL, 8);	/* option reply magic */
	p = put_be(p, 7, 4);			/* NBD_OPT_GO */
	p = put_be(p, 3, 4);			/* NBD_REP_INFO */
	p = put_be(p, 12, 4);
	p = put_be(p, 0, 2);			/* NBD_INFO_EXPORT */
	p = put_be(p, 1 << 20, 8);		/* 1 MiB */
	p = put_be(p, 1 | 4, 2);		/* has flags, can flush */
	p = put_be(p, 0x3e889045565a9ULL, 8);
	p = put_be(p, 7, 4);
	p = put_be(p, 1, 4);			/* NBD_REP_ACK */
	return put_be(p, 0, 4);
}

/* A server that answers the whole handshake the moment it accepts (the
 * greeting, then NBD_OPT_GO's export info and ack, 70 bytes, written before
 * it reads a byte): with connect held until they are there, libnbd ends the
 * handshake inside nbd_aio_connect_uri and no wakeup follows. The add must
 * see it at once, not wait for the timeout. */
START_TEST(test_answer_in_connect)
{
	unsigned char hello[70], *p = hello;
	struct backend_geometry geo;
	char u[128];
	unsigned port;
	void *priv;
	int lfd = silent_tcp(&port);
	double t0;
	pid_t pid;

	p = put_hello(p, false);
	ck_assert_int_eq(p - hello, sizeof(hello));
	snprintf(u, sizeof(u), "nbd://127.0.0.1:%u/", port);
	pid = serve_bytes(lfd, hello, sizeof(hello));
	hold_connect = sizeof(hello);
	t0 = ev_time();
	ck_assert_msg(open_nbd(u, &priv, &geo) == 0, "add failed: %s", ready_msg);
	hold_connect = 0;
	ck_assert_double_lt(ev_time() - t0, 1.0);
	backend_nbd.ready_geometry(priv, &geo);
	ck_assert_uint_eq(geo.size, 1 << 20);
	backend_nbd.close(priv);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(lfd);
}
END_TEST

/* Starts nbdkit memory 1M on a TCP listener of 127.0.0.1 made here and
 * handed over by socket activation, so the port is known at once: returns
 * its pid, the port in *port. */
static pid_t start_nbdkit_tcp(unsigned *port)
{
	int lfd = silent_tcp(port);
	char env[32];
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(lfd, 3) < 0)
			_exit(126);
		snprintf(env, sizeof(env), "%d", (int)getpid());
		setenv("LISTEN_PID", env, 1);
		setenv("LISTEN_FDS", "1", 1);
		execlp("nbdkit", "nbdkit", "-f", "memory", "1M", (char *)NULL);
		_exit(127);
	}
	close(lfd);
	return pid;
}

/* The TCP segments fd has sent so far. */
static unsigned segs_out(int fd)
{
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	ck_assert_uint_ge(tl, offsetof(struct tcp_info, tcpi_segs_out) + sizeof(ti.tcpi_segs_out));
	return ti.tcpi_segs_out;
}

/* Requests wait in submit and go at unplug, the daemon's end of a wakeup:
 * nothing is sent before it, and the 16 reads of one unplug leave corked,
 * in one segment (at most 4 with ACKs of early replies; one send each
 * would take 16). Each read returns its own block. */
START_TEST(test_unplug_sends_together)
{
	static char blocks[16][4096], got[16][4096];
	struct backend_geometry geo;
	unsigned port, before;
	char u[128];
	void *priv;
	int fd, ended;
	pid_t kit = start_nbdkit_tcp(&port);

	snprintf(u, sizeof(u), "nbd://127.0.0.1:%u/", port);
	ck_assert_msg(open_nbd(u, &priv, &geo) == 0, "add: %s", ready_msg);
	fd = connected_fd;
	for (int i = 0; i < 16; i++) {
		memset(blocks[i], 'a' + i, sizeof(blocks[i]));
		ck_assert_int_eq(run_req(priv, BACKEND_REQ_WRITE, blocks[i], (uint64_t)i * 4096,
					 4096), 0);
	}
	before = segs_out(fd);
	ended = dones;
	for (int i = 0; i < 16; i++) {
		struct backend_req req = { .op = BACKEND_REQ_READ, .off = (uint64_t)i * 4096,
					   .len = 4096, .buf = got[i] };

		submit_req(priv, 0, &req, on_done);
	}
	ck_assert_uint_eq(segs_out(fd), before);
	backend_nbd.unplug(priv, 0);
	ck_assert_uint_ge(segs_out(fd) - before, 1);
	ck_assert_uint_le(segs_out(fd) - before, 4);
	for (int i = 0; i < 400 && dones < ended + 16; i++)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(dones, ended + 16);
	ck_assert_int_eq(last_res, 0);
	ck_assert_mem_eq(got, blocks, sizeof(got));
	backend_nbd.close(priv);
	kill(kit, SIGKILL);
	waitpid(kit, NULL, 0);
}
END_TEST

/* Opens the backend as a recovery of a device of saved_size bytes on
 * the_url with timeout seconds: ready at once, before any server answers. */
static void *open_recovered(const char *the_url, const char *saved_size, const char *timeout)
{
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_saved saved[] = { { .key = "size", .value = saved_size }, { 0 } };
	struct backend_config cfg = test_cfg(args);
	struct backend_geometry geo;
	char err[512] = "";
	void *priv = NULL;

	cfg.recovering = true;
	cfg.saved = saved;
	test_arg_text(&backend_nbd, args, "url", the_url);
	test_arg_text(&backend_nbd, args, "timeout", timeout);
	ck_assert_msg(backend_nbd.open(&priv, &cfg, &geo, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_int_eq(backend_nbd.wait_ready(priv, on_ready, NULL, err, sizeof(err)), 0);
	backend_nbd.ready_geometry(priv, &geo);
	ck_assert_uint_eq(geo.size, strtoull(saved_size, NULL, 10));
	return priv;
}

/* Submits a read of 4 KiB at 0 into buf, and unplugs. */
static void submit_read(void *priv, char *buf)
{
	struct backend_req req = { .op = BACKEND_REQ_READ, .off = 0, .len = 4096, .buf = buf };

	submit_req(priv, 0, &req, on_done);
	backend_nbd.unplug(priv, 0);
}

/* Runs the loop for up to seconds or until a request ends. */
static void run_until_done(int before, double seconds)
{
	double end = ev_time() + seconds;

	while (dones == before && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
}

/* A read of 4096 bytes on priv waits for a server the device refuses, and
 * fails with EIO by its timeout (2 s in these tests). */
static void expect_read_times_out(void *priv, char *buf)
{
	int before = dones;

	submit_read(priv, buf);
	run_until_done(before, 6.0);
	ck_assert_int_eq(dones, before + 1);
	ck_assert_int_eq(last_res, -EIO);
}

/* A device recovered while its server is down: ready at once with the
 * saved size (a daemon restarted during a server outage keeps its device),
 * its read waits, and is served once the server is up. A server that now
 * serves another size is refused: the request fails with EIO by its
 * timeout. */
START_TEST(test_recover_server_down)
{
	char later[300], u[400], buf[4096];
	void *priv;
	pid_t kit;
	int before;

	snprintf(later, sizeof(later), "%s/later", dir);
	snprintf(u, sizeof(u), "nbd+unix:///?socket=%s", later);
	priv = open_recovered(u, "1048576", "20");
	before = dones;
	submit_read(priv, buf);
	run_until_done(before, 1.0);
	ck_assert_int_eq(dones, before);	/* waits for the server */
	kit = start_nbdkit(later, memory_1m);
	run_until_done(before, 15.0);
	ck_assert_int_eq(dones, before + 1);
	ck_assert_int_eq(last_res, 0);
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_WRITE, buf, 8192, sizeof(buf)), 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, buf, 8192, sizeof(buf)), 0);
	ck_assert_int_eq(buf[0], 0x5a);
	ck_assert_int_eq(buf[4095], 0x5a);
	backend_nbd.close(priv);
	kill(kit, SIGKILL);
	waitpid(kit, NULL, 0);
	unlink(later);

	/* The fixture's server has 1 MiB, the record says 2 MiB. */
	priv = open_recovered(url, "2097152", "2");
	expect_read_times_out(priv, buf);
	backend_nbd.close(priv);
}
END_TEST

/* Starts nbdkit with args on the socket name in the test's directory, the
 * URL of its export in u (ulen bytes); returns its pid. */
static pid_t start_named(const char *name, const char *const args[], char *u, size_t ulen)
{
	char s[300];

	snprintf(s, sizeof(s), "%s/%s", dir, name);
	snprintf(u, ulen, "nbd+unix:///?socket=%s", s);
	return start_nbdkit(s, args);
}

/* Stops the server pid started by start_named on the socket name. */
static void stop_named(pid_t pid, const char *name)
{
	char s[300];

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	snprintf(s, sizeof(s), "%s/%s", dir, name);
	unlink(s);
}

/* The number describe reports under key. */
static int describe_int(void *priv, const char *key)
{
	struct json_object *d = test_describe(&backend_nbd, priv), *v;
	int n;

	ck_assert_msg(json_object_object_get_ex(d, key, &v), "no %s", key);
	n = json_object_get_int(v);
	json_object_put(d);
	return n;
}

/* A request libnbd refuses to send (a WRITE_ZEROES to a server that does
 * not offer it) fails alone, at once, with libnbd's EINVAL: neither of the
 * two connections is dropped, and the next request is served. */
START_TEST(test_refused_request)
{
	static const char *const nozero[] = { "--filter=nozero", "memory", "1M", NULL };
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_config cfg = test_cfg(args);
	struct backend_geometry geo;
	static char b[4096];
	char u[400];
	void *priv;
	double t0;
	pid_t kit = start_named("nozero", nozero, u, sizeof(u));

	cfg.queues = 2;
	test_arg_text(&backend_nbd, args, "url", u);
	test_arg_text(&backend_nbd, args, "timeout", "2");
	test_arg_bytes(&backend_nbd, args, "connections", 2);
	ck_assert_msg(open_cfg(&cfg, &priv, &geo) == 0, "add: %s", ready_msg);
	backend_nbd.ready_geometry(priv, &geo);
	ck_assert_uint_eq(geo.max_write_zeroes_bytes, 0);
	ck_assert_int_eq(describe_int(priv, "connections_up"), 2);
	t0 = ev_time();
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_WRITE_ZEROES, NULL, 0, 4096), -EINVAL);
	ck_assert_double_lt(ev_time() - t0, 0.5);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, sizeof(b)), 0);
	ck_assert_int_eq(describe_int(priv, "connections_up"), 2);
	ck_assert_int_eq(describe_int(priv, "reconnects"), 0);
	backend_nbd.close(priv);
	stop_named(kit, "nozero");
}
END_TEST

/* A server whose minimum block size (4096, nbdkit's blocksize-policy) is
 * larger than the device's (512) is refused at the add, the message naming
 * both and the option to use; a device of 4096-byte blocks is served, and
 * a request unaligned to 4096 fails alone with EINVAL. */
START_TEST(test_min_block_size)
{
	static const char *const min4k[] = { "--filter=blocksize-policy", "memory", "1M",
					     "blocksize-minimum=4096", NULL };
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_config cfg = test_cfg(args);
	struct backend_geometry geo;
	static char b[4096];
	char u[400];
	void *priv;
	pid_t kit = start_named("min4k", min4k, u, sizeof(u));

	ck_assert_int_lt(open_nbd(u, &priv, &geo), 0);
	ck_assert_msg(strstr(ready_msg, "minimum block size is 4096 bytes, larger than the "
				 "device's block size 512: add the device with --block-size 4096"),
		      "message: %s", ready_msg);
	cfg.block_size = 4096;
	test_arg_text(&backend_nbd, args, "url", u);
	test_arg_text(&backend_nbd, args, "timeout", "2");
	ck_assert_msg(open_cfg(&cfg, &priv, &geo) == 0, "add: %s", ready_msg);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 512, 512), -EINVAL);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 4096, 4096), 0);
	ck_assert_int_eq(describe_int(priv, "reconnects"), 0);
	backend_nbd.close(priv);
	stop_named(kit, "min4k");
}
END_TEST

/* Replaces the fixture's server by one started with args on its socket. */
static void restart_server(const char *const args[])
{
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	unlink(sock);
	server = start_nbdkit(sock, args);
}

/* A server that comes back offering less than the device uses is refused
 * (its requests fail with EIO by their timeout): without WRITE_ZEROES
 * (nbdkit's nozero), and, for a device on two connections, without
 * multi-conn. The same server offering all again is taken back. */
START_TEST(test_reconnect_caps)
{
	static const char *const nozero[] = { "--filter=nozero", "memory", "1M", NULL };
	static const char *const single[] = { "--filter=multi-conn", "memory", "1M",
					      "multi-conn-mode=disable", NULL };
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_config cfg = test_cfg(args);
	struct backend_geometry geo;
	static char b[4096];
	void *priv;

	ck_assert_int_eq(open_nbd(url, &priv, &geo), 0);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, sizeof(b)), 0);
	restart_server(nozero);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, sizeof(b)), -EIO);
	ck_assert_int_eq(describe_int(priv, "reconnects"), 0);
	restart_server(memory_1m);
	/* The refusals grew the back-off: wait for the reconnection. */
	for (double end = ev_time() + 10; describe_int(priv, "reconnects") < 1 && ev_time() < end;)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_int_eq(describe_int(priv, "reconnects"), 1);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, sizeof(b)), 0);
	backend_nbd.close(priv);

	cfg.queues = 2;
	test_arg_text(&backend_nbd, args, "url", url);
	test_arg_text(&backend_nbd, args, "timeout", "2");
	test_arg_bytes(&backend_nbd, args, "connections", 2);
	ck_assert_msg(open_cfg(&cfg, &priv, &geo) == 0, "add: %s", ready_msg);
	ck_assert_int_eq(describe_int(priv, "connections"), 2);
	restart_server(single);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, sizeof(b)), -EIO);
	ck_assert_int_eq(describe_int(priv, "reconnects"), 0);
	backend_nbd.close(priv);
}
END_TEST

/* A report that keeps what save gave under "caps" and "max_io". */
struct saved_caps {
	struct backend_report ops;
	char caps[128];
	long long max_io;	/* -1: not saved */
};

/* save's text values: keeps "caps". */
static void saved_text(struct backend_report *r, const char *key, const char *value)
{
	if (!strcmp(key, "caps"))
		snprintf(((struct saved_caps *)r)->caps, sizeof(((struct saved_caps *)r)->caps),
			 "%s", value);
}

/* save's numbers: keeps "max_io". */
static void saved_number(struct backend_report *r, const char *key, uint64_t value)
{
	if (!strcmp(key, "max_io"))
		((struct saved_caps *)r)->max_io = (long long)value;
}

/* A device saves the capabilities it was set up with (nbdkit memory: all
 * but multi-conn's use with one connection); recovered with them, it
 * refuses a server offering less (nozero: its read fails with EIO by the
 * timeout) and serves on one that offers them all. */
START_TEST(test_recover_caps)
{
	static const char *const nozero[] = { "--filter=nozero", "memory", "1M", NULL };
	struct saved_caps rep = { .ops = { .text = saved_text, .number = saved_number } };
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_saved saved[] = { { .key = "size", .value = "1048576" },
					 { .key = "caps", .value = rep.caps }, { 0 } };
	struct backend_config cfg = test_cfg(args);
	struct backend_geometry geo;
	char err[512] = "", buf[4096];
	void *priv;

	ck_assert_int_eq(open_nbd(url, &priv, &geo), 0);
	backend_nbd.save(priv, &rep.ops);
	backend_nbd.close(priv);
	ck_assert_str_eq(rep.caps, "flush,fua,trim,zero,multi_conn");
	restart_server(nozero);
	cfg.recovering = true;
	cfg.saved = saved;
	test_arg_text(&backend_nbd, args, "url", url);
	test_arg_text(&backend_nbd, args, "timeout", "2");
	ck_assert_msg(backend_nbd.open(&priv, &cfg, &geo, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_int_eq(backend_nbd.wait_ready(priv, on_ready, NULL, err, sizeof(err)), 0);
	expect_read_times_out(priv, buf);
	backend_nbd.close(priv);
	restart_server(memory_1m);
	ck_assert_msg(backend_nbd.open(&priv, &cfg, &geo, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, buf, 0, sizeof(buf)), 0);
	backend_nbd.close(priv);
}
END_TEST

/* What save reports under "max_io" (-1: nothing). */
static long long saved_max_io(void *priv)
{
	struct saved_caps rep = { .ops = { .text = saved_text, .number = saved_number },
				  .max_io = -1 };

	backend_nbd.save(priv, &rep.ops);
	return rep.max_io;
}

/* A server whose maximum block size (64 KiB, nbdkit's blocksize-policy,
 * which fails larger requests with EINVAL) is less than the daemon's
 * largest request lowers the device's to it, saved for a recovery; one
 * below a page is refused at the add; a server that comes back with a
 * smaller maximum than the device's is refused (its read fails with EIO by
 * the timeout). */
START_TEST(test_max_block_size)
{
	static const char *const max64k[] = { "--filter=blocksize-policy", "memory", "1M",
					      "blocksize-maximum=65536",
					      "blocksize-error-policy=error", NULL };
	static const char *const max2k[] = { "--filter=blocksize-policy", "memory", "1M",
					     "blocksize-maximum=2048",
					     "blocksize-preferred=2048", NULL };
	struct backend_geometry geo;
	static char b[128 << 10];
	char u[400];
	void *priv;
	pid_t kit = start_named("max64k", max64k, u, sizeof(u));

	ck_assert_msg(open_nbd(u, &priv, &geo) == 0, "add: %s", ready_msg);
	backend_nbd.ready_geometry(priv, &geo);
	ck_assert_uint_eq(geo.max_io_bytes, 65536);
	ck_assert_int_eq(saved_max_io(priv), 65536);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_WRITE, b, 0, 65536), 0);
	/* What the device no longer sends: the server fails it. */
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_WRITE, b, 0, sizeof(b)), -EINVAL);
	backend_nbd.close(priv);
	stop_named(kit, "max64k");

	kit = start_named("max2k", max2k, u, sizeof(u));
	ck_assert_int_lt(open_nbd(u, &priv, &geo), 0);
	ck_assert_msg(strstr(ready_msg, "maximum block size is 2048 bytes, less than the 4096"),
		      "message: %s", ready_msg);
	stop_named(kit, "max2k");

	ck_assert_int_eq(open_nbd(url, &priv, &geo), 0);
	backend_nbd.ready_geometry(priv, &geo);
	ck_assert_uint_eq(geo.max_io_bytes, 1 << 19);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, 4096), 0);
	restart_server(max64k);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, 4096), -EIO);
	ck_assert_int_eq(describe_int(priv, "reconnects"), 0);
	backend_nbd.close(priv);
	restart_server(memory_1m);
}
END_TEST

/* A recovered device keeps the largest request its record saved: on a
 * server whose maximum is that (64 KiB) it serves; one recovered from a
 * record without it (the daemon's 512 KiB, what the kernel device had) is
 * refused there (its read fails with EIO by the timeout). */
START_TEST(test_recover_max_block_size)
{
	static const char *const max64k[] = { "--filter=blocksize-policy", "memory", "1M",
					      "blocksize-maximum=65536", NULL };
	struct backend_arg args[BACKEND_MAX_PARAMS] = { 0 };
	struct backend_saved saved[] = { { .key = "size", .value = "1048576" },
					 { .key = "caps", .value = "flush,fua,trim,zero" },
					 { .key = "max_io", .value = "65536" }, { 0 } };
	struct backend_config cfg = test_cfg(args);
	struct backend_geometry geo;
	char err[512] = "", buf[4096];
	void *priv;

	restart_server(max64k);
	cfg.recovering = true;
	cfg.saved = saved;
	test_arg_text(&backend_nbd, args, "url", url);
	test_arg_text(&backend_nbd, args, "timeout", "2");
	ck_assert_msg(backend_nbd.open(&priv, &cfg, &geo, err, sizeof(err)) == 0, "open: %s", err);
	backend_nbd.ready_geometry(priv, &geo);
	ck_assert_uint_eq(geo.max_io_bytes, 65536);
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, buf, 0, sizeof(buf)), 0);
	backend_nbd.close(priv);

	saved[2].key = NULL;
	ck_assert_msg(backend_nbd.open(&priv, &cfg, &geo, err, sizeof(err)) == 0, "open: %s", err);
	backend_nbd.ready_geometry(priv, &geo);
	ck_assert_uint_eq(geo.max_io_bytes, 1 << 19);
	expect_read_times_out(priv, buf);
	backend_nbd.close(priv);
	restart_server(memory_1m);
}
END_TEST

/* A send that fails inside nbd_aio_pread (which still queues the read):
 * the connection is failed at once, its loss logged with the send's error
 * (not libnbd's "invalid state: DEAD" of a later call), and the read is
 * served once it is back. */
START_TEST(test_send_failure)
{
	struct backend_geometry geo;
	char logf[300], line[1024];
	static char b[4096];
	bool named = false, dead = false;
	void *priv;
	FILE *f;
	int saved_err;

	ck_assert_int_eq(open_nbd(url, &priv, &geo), 0);
	snprintf(logf, sizeof(logf), "%s/log", dir);
	fflush(stderr);
	saved_err = dup(2);
	ck_assert_ptr_nonnull(f = fopen(logf, "w+"));
	dup2(fileno(f), 2);
	fail_sends = 1;
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, sizeof(b)), 0);
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		fputs(line, stderr);
		named |= strstr(line, "connection 0 lost: nbd_aio_pread: send: Connection reset "
				       "by peer") != NULL;
		dead |= strstr(line, "invalid state") != NULL;
	}
	fclose(f);
	unlink(logf);
	ck_assert_msg(named && !dead, "the loss is not logged with the send's error");
	ck_assert_int_eq(fail_sends, 0);
	ck_assert_int_eq(describe_int(priv, "reconnects"), 1);
	backend_nbd.close(priv);
}
END_TEST

/* The structured reply to the read request in req (28 bytes as sent):
 * one data chunk of 512 bytes at its offset, flagged as the last, so it
 * claims success with the rest left out; its length in *n. */
static unsigned char *short_read_reply(const unsigned char *req, size_t *n)
{
	static unsigned char r[20 + 8 + 512];
	unsigned char *p = r;

	p = put_be(p, 0x668e33ef, 4);	/* structured reply magic */
	p = put_be(p, 1, 2);		/* NBD_REPLY_FLAG_DONE */
	p = put_be(p, 1, 2);		/* NBD_REPLY_TYPE_OFFSET_DATA */
	memcpy(p, req + 8, 8);		/* the handle */
	p = put_be(p + 8, 8 + 512, 4);
	memcpy(p, req + 16, 8);		/* the read's offset */
	memset(p + 8, 'd', 512);
	*n = sizeof(r);
	return r;
}

/* A child that accepts one connection on lfd, answers the handshake with
 * hello (n bytes) at once, then answers the first read request with
 * short_read_reply and stays silent until killed; returns its pid. */
static pid_t serve_short_read(int lfd, const void *hello, size_t n)
{
	pid_t pid = fork();
	unsigned char in[4096];
	size_t got = 0, rn;
	int cfd;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cfd = child_accept_send(lfd, hello, n);
		for (;;) {
			ssize_t r = read(cfd, in + got, sizeof(in) - got);

			if (r <= 0)
				_exit(1);
			got += (size_t)r;
			for (size_t i = 0; i + 28 <= got; i++) {
				unsigned char *reply;

				if (memcmp(in + i, "\x25\x60\x95\x13", 4) != 0)
					continue;
				reply = short_read_reply(in + i, &rn);
				if (write(cfd, reply, rn) != (ssize_t)rn)
					_exit(1);
				pause();
			}
		}
	}
	return pid;
}

/* A server with structured replies that answers a read of 4 KiB with one
 * chunk of 512 bytes flagged as the last: the read fails with EIO, not
 * success with the kernel's buffer partly old. */
START_TEST(test_short_structured_read)
{
	unsigned char hello[90], *p = hello;
	struct backend_geometry geo;
	static char b[4096];
	char u[128];
	unsigned port;
	void *priv;
	int lfd = silent_tcp(&port);
	pid_t pid;

	p = put_hello(p, true);
	snprintf(u, sizeof(u), "nbd://127.0.0.1:%u/", port);
	pid = serve_short_read(lfd, hello, (size_t)(p - hello));
	ck_assert_msg(open_nbd_replies(u, true, &priv, &geo) == 0, "add: %s", ready_msg);
	memset(b, 'o', sizeof(b));
	ck_assert_int_eq(run_req(priv, BACKEND_REQ_READ, b, 0, sizeof(b)), -EIO);
	backend_nbd.close(priv);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(lfd);
}
END_TEST

/* A child that accepts connections on lfd for ever, answers each one's
 * handshake at once and closes it; writes a byte to wfd per connection. */
static pid_t serve_and_drop(int lfd, int wfd)
{
	unsigned char hello[70];
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		put_hello(hello, false);
		for (;;) {
			int cfd = child_accept_send(lfd, hello, sizeof(hello));

			if (write(wfd, "c", 1) != 1)
				_exit(1);
			usleep(20000);	/* let libnbd read it before the close */
			close(cfd);
		}
	}
	return pid;
}

/* A server that takes every handshake and drops the connection at once:
 * the back-off goes on growing (it starts over only after a connection has
 * served a while), so the device reconnects a few times in 6 s, not every
 * tick (about 12 with a 2 s timeout), and logs as few lost and back lines. */
START_TEST(test_flapping_server)
{
	struct backend_geometry geo;
	char u[128], buf[4096], counts[64];
	unsigned port;
	void *priv;
	int lfd = silent_tcp(&port), pfd[2];
	ssize_t n;
	double end;
	pid_t pid;

	ck_assert_int_eq(pipe2(pfd, O_NONBLOCK), 0);
	snprintf(u, sizeof(u), "nbd://127.0.0.1:%u/", port);
	pid = serve_and_drop(lfd, pfd[1]);
	ck_assert_msg(open_nbd(u, &priv, &geo) == 0, "add: %s", ready_msg);
	/* Requests keep waiting for a connection, so reconnection goes on. */
	end = ev_time() + 6.0;
	while (ev_time() < end) {
		int before = dones;

		submit_read(priv, buf);
		run_until_done(before, end - ev_time());
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	backend_nbd.close(priv);
	n = read(pfd[0], counts, sizeof(counts));
	ck_assert_msg(n >= 2 && n <= 7, "%zd connections in 6 s", n);
	close(pfd[0]);
	close(pfd[1]);
	close(lfd);
}
END_TEST

/* Builds the suite. */
static Suite *nbd_suite(void)
{
	Suite *s = suite_create("nbd");
	TCase *tc = tcase_create("nbdkit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_pipeline);
	tcase_add_test(tc, test_pipeline_large);
	tcase_add_test(tc, test_reply_kinds);
	tcase_add_test(tc, test_tls);
	tcase_add_test(tc, test_no_multi_conn);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_silent_tcp);
	tcase_add_test(tc, test_silent_server);
	tcase_add_test(tc, test_answer_in_connect);
	tcase_add_test(tc, test_unplug_sends_together);
	tcase_add_test(tc, test_recover_server_down);
	tcase_add_test(tc, test_refused_request);
	tcase_add_test(tc, test_min_block_size);
	tcase_add_test(tc, test_reconnect_caps);
	tcase_add_test(tc, test_recover_caps);
	tcase_add_test(tc, test_max_block_size);
	tcase_add_test(tc, test_recover_max_block_size);
	tcase_add_test(tc, test_send_failure);
	tcase_add_test(tc, test_short_structured_read);
	tcase_add_test(tc, test_flapping_server);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (system("nbdkit --version > /dev/null 2>&1") != 0) {
		printf("nbdkit is not installed: skipped\n");
		return 77;
	}
	sr = srunner_create(nbd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
