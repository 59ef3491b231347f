/* Unit tests for ublkctl's side of the wire (client/session.c): reading lines
 * off a socket, checking JSON-RPC responses and a whole call over a socket
 * pair. */
#include "config.h"
#include "client/session.h"
#include "common/protocol.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct failure f;

/* Parses a response line for request id 1. */
static int parse(const char *line, struct json_object **result)
{
	memset(&f, 0, sizeof(f));
	return session_response(line, strlen(line), 1, result, &f);
}

/* A result is handed back, whatever its type. */
START_TEST(test_response_result)
{
	struct json_object *result;

	ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"id\":4}}", &result), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN), "{\"id\":4}");
	json_object_put(result);
	ck_assert_int_eq(parse("{\"result\":[],\"id\":1,\"jsonrpc\":\"2.0\"} \r", &result), 0);
	ck_assert(json_object_is_type(result, json_type_array));
	json_object_put(result);
	ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}", &result), 0);
	ck_assert_ptr_null(result);
}
END_TEST

/* A daemon error is -EREMOTEIO with its code and message. */
START_TEST(test_response_error)
{
	struct json_object *result;

	ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,"
			       "\"message\":\"device 7: no such device\",\"data\":{\"errno\":\"ENODEV\"}}}",
			       &result), -EREMOTEIO);
	ck_assert_ptr_null(result);
	ck_assert_int_eq(f.kind, FAILURE_DAEMON);
	ck_assert_int_eq(f.code, RPC_NO_SUCH_DEVICE);
	ck_assert_str_eq(f.message, "device 7: no such device");
}
END_TEST

/* An error for a request the daemon could not read has id null. */
START_TEST(test_response_error_null_id)
{
	struct json_object *result;

	ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
			       "\"message\":\"parse error\"}}", &result), -EREMOTEIO);
	ck_assert_str_eq(f.message, "parse error");
}
END_TEST

/* Anything but exactly one JSON text is -EBADMSG. */
START_TEST(test_response_not_json)
{
	static const char *const bad[] = {
		"", "{", "hello", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}} x",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}{}",
	};
	struct json_object *result;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &result) == -EBADMSG, "accepted '%s'", bad[i]);
		ck_assert_int_eq(f.kind, FAILURE_BAD_REPLY);
		ck_assert_ptr_null(result);
	}
}
END_TEST

/* A NUL byte inside the line is not hidden by C strings. */
START_TEST(test_response_embedded_nul)
{
	static const char line[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\0junk";
	struct json_object *result;

	ck_assert_int_eq(session_response(line, sizeof(line) - 1, 1, &result, &f), -EBADMSG);
}
END_TEST

/* JSON that is not a response to this request is -EPROTO. */
START_TEST(test_response_not_jsonrpc)
{
	static const char *const bad[] = {
		"[]", "42 ", "{\"id\":1,\"result\":{}}", "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":{}}",
		"{\"jsonrpc\":\"2.0\",\"result\":{}}", "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}",
		"{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":{}}",
		"{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{\"code\":1,\"message\":\"x\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"bad\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"x\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}",
	};
	struct json_object *result;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i], &result) == -EPROTO, "accepted '%s'", bad[i]);
		ck_assert_int_eq(f.kind, FAILURE_BAD_REPLY);
		ck_assert_ptr_null(result);
	}
}
END_TEST

static int fds[2];
static struct session conn;

/* Makes a connected socket pair: the test's end is fds[1], conn reads fds[0]. */
static void pair_setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	ck_assert_int_eq(session_adopt(&conn, fds[0], "/test.sock", 5), 0);
}

/* Closes both ends. */
static void pair_teardown(void)
{
	session_close(&conn);
	if (fds[1] >= 0)
		close(fds[1]);
}

/* Writes a string to the peer end. */
static void peer_write(const char *s)
{
	ck_assert_int_eq(write(fds[1], s, strlen(s)), (ssize_t)strlen(s));
}

/* A deadline ms milliseconds from now. */
static int64_t in_ms(int ms)
{
	return session_now_ms() + ms;
}

/* Lines split or joined across reads come out one by one. */
START_TEST(test_receive_lines)
{
	char *line;
	size_t len;

	peer_write("one\ntwo\nthr");
	ck_assert_int_eq(session_receive(&conn, in_ms(1000), &line, &len), 0);
	ck_assert_str_eq(line, "one");
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(session_receive(&conn, in_ms(1000), &line, &len), 0);
	ck_assert_str_eq(line, "two");
	/* Half a line: waits, and gives up at the deadline. */
	ck_assert_int_eq(session_receive(&conn, in_ms(50), &line, &len), -ETIMEDOUT);
	peer_write("ee\n\n");
	ck_assert_int_eq(session_receive(&conn, in_ms(1000), &line, &len), 0);
	ck_assert_str_eq(line, "three");
	ck_assert_int_eq(session_receive(&conn, in_ms(1000), &line, &len), 0);
	ck_assert_str_eq(line, "");
	ck_assert_uint_eq(len, 0);
}
END_TEST

/* A hang-up before any byte is -ENODATA. */
START_TEST(test_receive_closed)
{
	char *line;
	size_t len;

	close(fds[1]);
	fds[1] = -1;
	ck_assert_int_eq(session_receive(&conn, in_ms(1000), &line, &len), -ENODATA);
}
END_TEST

/* A hang-up inside a line is -ECONNABORTED. */
START_TEST(test_receive_closed_mid_line)
{
	char *line;
	size_t len;

	peer_write("{\"jsonrpc\"");
	close(fds[1]);
	fds[1] = -1;
	ck_assert_int_eq(session_receive(&conn, in_ms(1000), &line, &len), -ECONNABORTED);
}
END_TEST

/* Forks a child that writes n bytes of 'x' to the peer end, then tail. */
static pid_t peer_write_long(size_t n, const char *tail)
{
	pid_t pid = fork();

	/* The child makes no check calls: it shares the runner's message file. */
	if (pid == 0) {
		static char chunk[65536];
		size_t left = n;

		memset(chunk, 'x', sizeof(chunk));
		while (left) {
			size_t part = left < sizeof(chunk) ? left : sizeof(chunk);
			ssize_t w = write(fds[1], chunk, part);

			if (w <= 0)
				_exit(0);
			left -= (size_t)w;
		}
		if (write(fds[1], tail, strlen(tail)) < 0)
			_exit(0);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	close(fds[1]);
	fds[1] = -1;
	return pid;
}

/* A line of exactly UBLKD_MAX_LINE bytes is accepted. */
START_TEST(test_receive_longest_line)
{
	pid_t pid = peer_write_long(UBLKD_MAX_LINE, "\n");
	char *line;
	size_t len;

	ck_assert_int_eq(session_receive(&conn, in_ms(10000), &line, &len), 0);
	ck_assert_uint_eq(len, UBLKD_MAX_LINE);
	ck_assert_uint_eq(strlen(line), UBLKD_MAX_LINE);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

/* A byte more is -EMSGSIZE, without growing the buffer further. */
START_TEST(test_receive_too_long)
{
	pid_t pid = peer_write_long(UBLKD_MAX_LINE + 1, "\n");
	char *line;
	size_t len;

	ck_assert_int_eq(session_receive(&conn, in_ms(10000), &line, &len), -EMSGSIZE);
	ck_assert_uint_le(conn.cap, (size_t)UBLKD_MAX_LINE + 1);
	session_close(&conn);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

/* A request goes out whole. */
START_TEST(test_send)
{
	static const char msg[] = "{\"a\":1}\n";
	char buf[64] = { 0 };

	ck_assert_int_eq(session_send(&conn, msg, strlen(msg), in_ms(1000)), 0);
	ck_assert_int_eq(read(fds[1], buf, sizeof(buf) - 1), (ssize_t)strlen(msg));
	ck_assert_str_eq(buf, msg);
}
END_TEST

/* A peer that never reads makes send time out. */
START_TEST(test_send_blocked_times_out)
{
	static char big[1 << 16];
	int ret = 0;

	/* Nobody reads fds[1]: the socket fills and the deadline passes. */
	for (int i = 0; i < 1024 && ret == 0; i++)
		ret = session_send(&conn, big, sizeof(big), in_ms(50));
	ck_assert_int_eq(ret, -ETIMEDOUT);
}
END_TEST

/* Sending to a closed peer is -EPIPE, not SIGPIPE. */
START_TEST(test_send_peer_gone)
{
	close(fds[1]);
	fds[1] = -1;
	ck_assert_int_eq(session_send(&conn, "x\n", 2, in_ms(1000)), -EPIPE);
}
END_TEST

/* Missing, empty and over-long socket paths fail cleanly. */
START_TEST(test_open_errors)
{
	struct session c;
	char longpath[200];

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(session_open(&c, "/nonexistent/ublkd.sock", 5, &f), -ENOENT);
	ck_assert_int_eq(c.fd, -1);
	ck_assert_int_eq(f.kind, FAILURE_CONNECT);
	ck_assert_str_eq(f.socket, "/nonexistent/ublkd.sock");
	session_close(&c);
	ck_assert_int_eq(session_open(&c, "", 5, &f), -ENOENT);
	session_close(&c);
	ck_assert_int_eq(session_open(&c, longpath, 5, &f), -ENAMETOOLONG);
	session_close(&c);
}
END_TEST

/* Forks a fake daemon on fds[1] that reads one request line, checks it is
 * want, and sends reply; its exit status says whether the request matched. */
static pid_t peer_answer(const char *want, const char *reply)
{
	pid_t pid = fork();

	/* The child makes no check calls: it shares the runner's message file. */
	if (pid == 0) {
		char buf[4096];
		size_t len = 0;
		ssize_t n;

		while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
			n = read(fds[1], buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				_exit(2);
			len += (size_t)n;
		}
		buf[len] = '\0';
		if (write(fds[1], reply, strlen(reply)) < 0)
			_exit(3);
		_exit(strcmp(buf, want) == 0 ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

/* A call sends the expected request and checks the reply's id. */
START_TEST(test_session_call)
{
	struct json_object *params = json_object_new_object(), *result;
	pid_t pid;
	int status;

	json_object_object_add(params, "id", json_object_new_int(3));
	pid = peer_answer("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_info\",\"params\":{\"id\":3}}\n",
			  "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"id\":3,\"state\":\"live\"}}\n");
	ck_assert_int_eq(session_call(&conn, RPC_M_DEVICE_INFO, params, &result, &f), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN),
			 "{\"id\":3,\"state\":\"live\"}");
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the request sent was not the one expected");
	json_object_put(result);

	/* The second call has id 2; a reply for id 1 is refused. */
	pid = peer_answer("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"device_list\",\"params\":{}}\n",
			  "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}\n");
	json_object_put(params);
	params = json_object_new_object();
	ck_assert_int_eq(session_call(&conn, RPC_M_DEVICE_LIST, params, &result, &f), -EPROTO);
	ck_assert_int_eq(f.kind, FAILURE_BAD_REPLY);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	json_object_put(params);
}
END_TEST

/* A call with no reply fails after the timeout. */
START_TEST(test_session_timeout)
{
	struct json_object *result;
	int64_t start;

	conn.timeout = 1;
	start = session_now_ms();
	ck_assert_int_eq(session_call(&conn, RPC_M_DAEMON_INFO, NULL, &result, &f), -ETIMEDOUT);
	ck_assert_int_eq(f.kind, FAILURE_RECEIVE);
	ck_assert_str_eq(f.socket, "/test.sock");
	ck_assert_uint_eq(f.timeout, 1);
	ck_assert_int_ge(session_now_ms() - start, 900);
}
END_TEST

/* Builds the suite of wire tests. */
static Suite *wire_suite(void)
{
	Suite *s = suite_create("client_wire");
	TCase *response = tcase_create("response");
	TCase *connection = tcase_create("connection");

	tcase_add_test(response, test_response_result);
	tcase_add_test(response, test_response_error);
	tcase_add_test(response, test_response_error_null_id);
	tcase_add_test(response, test_response_not_json);
	tcase_add_test(response, test_response_embedded_nul);
	tcase_add_test(response, test_response_not_jsonrpc);

	tcase_add_checked_fixture(connection, pair_setup, pair_teardown);
	tcase_set_timeout(connection, 30);
	tcase_add_test(connection, test_receive_lines);
	tcase_add_test(connection, test_receive_closed);
	tcase_add_test(connection, test_receive_closed_mid_line);
	tcase_add_test(connection, test_receive_longest_line);
	tcase_add_test(connection, test_receive_too_long);
	tcase_add_test(connection, test_send);
	tcase_add_test(connection, test_send_blocked_times_out);
	tcase_add_test(connection, test_send_peer_gone);
	tcase_add_test(connection, test_open_errors);
	tcase_add_test(connection, test_session_call);
	tcase_add_test(connection, test_session_timeout);

	suite_add_tcase(s, response);
	suite_add_tcase(s, connection);
	return s;
}

/* Runs the suite; the exit status says whether every test passed. */
int main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
