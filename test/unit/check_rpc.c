/* Unit tests for the JSON-RPC layer (daemon/rpc.c), spoken over a real
 * control socket served by a loop in a thread. */
#include "config.h"
#include "control_harness.h"
#include "daemon/rpc_log.h"
#include "common/log.h"
#include "common/protocol.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct client cl;

/* Starts a server on a fresh path and connects one client to it. */
static void setup(void)
{
	struct control_opts opts = { .socket_path = harness_path(0, "ublkd.sock") };

	/* The default log limits, nothing counted: with CK_FORK=no every
	 * test is the same peer. */
	rpc_log_set_limit(10.0, 20, 200);
	ck_assert_int_eq(harness_start(&opts), 0);
	cl = client_open(opts.socket_path);
	ck_assert_int_ge(cl.fd, 0);
}

/* Disconnects the client and stops the server. */
static void teardown(void)
{
	client_close(&cl);
	harness_stop();
	harness_cleanup();
}

/* Sends one line and returns the response parsed. */
static struct json_object *call(const char *line)
{
	ck_assert_int_eq(client_puts(&cl, line), 0);
	ck_assert_int_eq(client_puts(&cl, "\n"), 0);
	return client_json(&cl);
}

/* Sends one line and checks the error code and id of the response. */
static void expect_error(const char *line, int code, const char *id)
{
	struct json_object *r = call(line);

	ck_assert_msg(r, "no response to %s", line);
	ck_assert_msg(resp_code(r) == code, "%s: code %d, expected %d", line, resp_code(r), code);
	ck_assert_msg(!strcmp(resp_id(r), id), "%s: id %s, expected %s", line, resp_id(r), id);
	ck_assert_msg(!json_object_object_get_ex(r, "result", NULL), "%s: has a result", line);
	json_object_put(r);
}

static const struct {
	const char *line;
	int code;
	const char *id;
} bad_requests[] = {
	{ "not json", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"} trailing", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}{}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}", RPC_PARSE_ERROR, "null" },
	{ "42", RPC_INVALID_REQUEST, "null" },
	{ "\"echo\"", RPC_INVALID_REQUEST, "null" },
	{ "null", RPC_INVALID_REQUEST, "null" },
	{ "[]", RPC_INVALID_REQUEST, "null" },
	{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}]", RPC_INVALID_REQUEST, "null" },
	{ "{\"id\":1,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "1" },
	{ "{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "2" },
	{ "{\"jsonrpc\":2.0,\"id\":3,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "3" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":4}", RPC_INVALID_REQUEST, "4" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":5}", RPC_INVALID_REQUEST, "5" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":null}", RPC_INVALID_REQUEST, "5" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"echo\",\"params\":5}", RPC_INVALID_REQUEST, "6" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":\"x\"}", RPC_INVALID_REQUEST, "7" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"echo\",\"params\":null}", RPC_INVALID_REQUEST, "8" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ec\\u0000ho\"}", RPC_INVALID_REQUEST, "9" },
	/* Invalid even as a notification: answered with a null id. */
	{ "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":true}", RPC_INVALID_REQUEST, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"nope\"}", RPC_METHOD_NOT_FOUND, "\"x\"" },
	/* json-c takes these even with JSON_TOKENER_STRICT: not JSON, or not
	 * strict UTF-8 (overlong, surrogate, beyond U+10FFFF, a lone
	 * surrogate escape), or a raw control character in a string. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":NaN,\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":Infinity,\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":-Infinity,\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1.,\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"\xc0\xaf\",\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"\xed\xa0\x80\",\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"\xf4\x90\x80\x80\",\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"\\ud800\",\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"\\udc00\\ud800\",\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":\"a\x01\",\"method\":\"echo\"}", RPC_PARSE_ERROR, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", RPC_PARSE_ERROR, "null" },
	/* An id is a string, an integer that fits in 64 bits, or null. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775809,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	/* json-c would read "id\u0000x" as "id". */
	{ "{\"jsonrpc\":\"2.0\",\"id\\u0000x\":1,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"params\":{\"a\":1e999},\"id\\u0000x\":1,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	/* A problem in params does not hide one in the id. */
	{ "{\"jsonrpc\":\"2.0\",\"params\":{\"a\":1e999},\"id\":1e999,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	{ "{\"jsonrpc\":\"2.0\",\"params\":[99999999999999999999],\"id\":99999999999999999999,\"method\":\"echo\"}", RPC_INVALID_REQUEST, "null" },
	/* Numbers beyond 64 bits and names with a NUL in params: invalid params. */
	{ "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"echo\",\"params\":{\"n\":1e999}}", RPC_INVALID_PARAMS, "12" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"echo\",\"params\":[-99999999999999999999]}", RPC_INVALID_PARAMS, "13" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":\"echo\",\"params\":{\"a\\u0000b\":1}}", RPC_INVALID_PARAMS, "14" },
	{ "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"\"}", RPC_METHOD_NOT_FOUND, "10" },
};

/* Each malformed request gets its error code and id. */
START_TEST(test_bad_request)
{
	expect_error(bad_requests[_i].line, bad_requests[_i].code, bad_requests[_i].id);
	/* The connection stays usable. */
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"fail\"}", RPC_DEVICE_ERROR, "11");
}
END_TEST

/* A NUL byte inside a line is garbage too, even after a complete request. */
START_TEST(test_embedded_nul)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}\0x\n";
	static const char req2[] = "  \0{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\"}\n";
	struct json_object *r;

	ck_assert_int_eq(client_send(&cl, req, sizeof(req) - 1), 0);
	r = client_json(&cl);
	ck_assert_int_eq(resp_code(r), RPC_PARSE_ERROR);
	ck_assert_str_eq(resp_id(r), "null");
	json_object_put(r);
	ck_assert_int_eq(client_send(&cl, req2, sizeof(req2) - 1), 0);
	r = client_json(&cl);
	ck_assert_int_eq(resp_code(r), RPC_PARSE_ERROR);
	json_object_put(r);
}
END_TEST

/* Messages say what is wrong: batches, unknown methods. */
START_TEST(test_error_messages)
{
	struct json_object *r;

	r = call("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}]");
	ck_assert_str_eq(resp_message(r), "batch requests are not supported");
	json_object_put(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"frobnicate\"}");
	ck_assert_ptr_nonnull(strstr(resp_message(r), "frobnicate"));
	ck_assert_ptr_null(resp_errno(r));
	json_object_put(r);
}
END_TEST

static const struct {
	int err;
	int code;
	const char *name;
} errno_map[] = {
	{ EINVAL, RPC_INVALID_PARAMS, "EINVAL" },
	{ ENODEV, RPC_NO_SUCH_DEVICE, "ENODEV" },
	{ EEXIST, RPC_DEVICE_EXISTS, "EEXIST" },
	{ ESHUTDOWN, RPC_SHUTTING_DOWN, "ESHUTDOWN" },
	{ EBUSY, RPC_BUSY, "EBUSY" },
	{ ENOSPC, RPC_DEVICE_ERROR, "ENOSPC" },
	{ ENOENT, RPC_DEVICE_ERROR, "ENOENT" },
	{ EIO, RPC_DEVICE_ERROR, "EIO" },
	{ 4000, RPC_DEVICE_ERROR, NULL },
	{ 0, RPC_DEVICE_ERROR, NULL },
};

/* A long unknown method name is cut in the message, never inside a UTF-8
 * character. */
START_TEST(test_unknown_method_utf8)
{
	char req[512], *line, *p;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *r;

	p = req + sprintf(req, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a");
	for (int i = 0; i < 80; i++)
		p += sprintf(p, "\xc3\xa9");
	strcpy(p, "\"}\n");
	ck_assert_int_eq(client_puts(&cl, req), 0);
	line = client_line(&cl);
	ck_assert_ptr_nonnull(line);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	r = json_tokener_parse_ex(tok, line, (int)strlen(line) + 1);
	ck_assert_msg(r, "not valid UTF-8 JSON: %s", line);
	ck_assert_int_eq(resp_code(r), RPC_METHOD_NOT_FOUND);
	ck_assert_int_eq(strlen(resp_message(r)), strlen("unknown method \"\"") + 99);
	json_object_put(r);
	json_tokener_free(tok);
	free(line);
}
END_TEST

/* rpc_fail maps each errno to its code and names it in data.errno. */
START_TEST(test_errno_mapping)
{
	char line[128];
	struct json_object *r;

	snprintf(line, sizeof(line),
		 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"errno\",\"params\":{\"err\":%d}}",
		 _i, errno_map[_i].err);
	r = call(line);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(resp_code(r), errno_map[_i].code);
	ck_assert_int_eq(atoi(resp_id(r)), _i);
	if (errno_map[_i].name)
		ck_assert_str_eq(resp_errno(r), errno_map[_i].name);
	else
		ck_assert_ptr_null(resp_data(r));
	ck_assert_ptr_nonnull(strstr(resp_message(r), "failed with errno"));
	json_object_put(r);
}
END_TEST

/* The fake methods fail and bad, and rpc_fail_code. */
START_TEST(test_fail_methods)
{
	struct json_object *r;

	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"fail\"}");
	ck_assert_int_eq(resp_code(r), RPC_DEVICE_ERROR);
	ck_assert_str_eq(resp_errno(r), "ENOENT");
	ck_assert_str_eq(resp_message(r), "no such thing: thing");
	json_object_put(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"bad\"}");
	ck_assert_int_eq(resp_code(r), RPC_INVALID_PARAMS);
	ck_assert_str_eq(resp_errno(r), "EINVAL");
	ck_assert_str_eq(resp_message(r), "bad parameter 7");
	json_object_put(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"code\",\"params\":{\"code\":-32003,\"err\":2}}");
	ck_assert_int_eq(resp_code(r), RPC_NO_DRIVER);
	ck_assert_str_eq(resp_errno(r), "ENOENT");
	json_object_put(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"code\",\"params\":{\"code\":-32099}}");
	ck_assert_int_eq(resp_code(r), -32099);
	ck_assert_ptr_null(resp_errno(r));
	json_object_put(r);
}
END_TEST

/* Responses are plain one-line JSON in the documented shape, slashes kept. */
START_TEST(test_exact_format)
{
	char *line;

	ck_assert_int_eq(client_puts(&cl, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\","
				      "\"params\":{\"path\":\"/dev/ublkb0\",\"n\":[1,2]}}\n"), 0);
	line = client_line(&cl);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":"
			 "{\"path\":\"/dev/ublkb0\",\"n\":[1,2]}}");
	free(line);
	ck_assert_int_eq(client_puts(&cl, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"fail\"}\n"), 0);
	line = client_line(&cl);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32000,"
			 "\"message\":\"no such thing: thing\",\"data\":{\"errno\":\"ENOENT\"}}}");
	free(line);
	ck_assert_int_eq(client_puts(&cl, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"errno\","
				      "\"params\":{\"err\":4000}}\n"), 0);
	line = client_line(&cl);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32000,"
			 "\"message\":\"failed with errno 4000\"}}");
	free(line);
	ck_assert_int_eq(client_puts(&cl, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"null\"}\n"), 0);
	line = client_line(&cl);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}");
	free(line);
	ck_assert_int_eq(client_puts(&cl, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"echo\"}\n"), 0);
	line = client_line(&cl);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}");
	free(line);
}
END_TEST

static const char *const ids[] = {
	"\"abc\"", "\"\"", "0", "-3", "12345678901234", "null", "\"a/b\\\"c\"",
	/* The ends of 64 bits, as sent (json-c clamps beyond them). */
	"18446744073709551615", "-9223372036854775808", "9223372036854775808",
	"\"\\u0000\\u001b\xc3\xa9\"",
};

/* Every kind of id comes back as sent. */
START_TEST(test_ids_echoed)
{
	char line[160];
	struct json_object *r, *result;

	snprintf(line, sizeof(line),
		 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"echo\",\"params\":[%s]}",
		 ids[_i], ids[_i]);
	r = call(line);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(resp_id(r), ids[_i]);
	ck_assert(json_object_object_get_ex(r, "result", &result));
	ck_assert_int_eq(json_object_array_length(result), 1);
	ck_assert_int_eq(resp_code(r), 0);
	json_object_put(r);
}
END_TEST

/* Pipelined requests are all answered, the slow one last. */
START_TEST(test_pipelined)
{
	struct json_object *r;

	ck_assert_int_eq(client_puts(&cl,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"later\",\"params\":{\"ms\":300}}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\",\"params\":[2]}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"fail\"}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"echo\",\"params\":[4]}\n"), 0);
	for (int want = 2; want <= 5; want++) {
		r = client_json(&cl);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(atoi(resp_id(r)), want == 5 ? 1 : want);
		json_object_put(r);
	}
}
END_TEST

/* Notifications run but get no response, not even errors. */
START_TEST(test_notifications)
{
	struct json_object *r;

	ck_assert_int_eq(client_puts(&cl,
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1]}\n"
		"{\"jsonrpc\":\"2.0\",\"method\":\"fail\"}\n"
		"{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}\n"
		"{\"jsonrpc\":\"2.0\",\"method\":\"later\",\"params\":{\"ms\":10}}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"echo\"}\n"), 0);
	r = client_json(&cl);
	ck_assert_str_eq(resp_id(r), "99");
	json_object_put(r);
	/* The notified "later" finishes meanwhile and sends nothing. */
	r = call("{\"jsonrpc\":\"2.0\",\"id\":100,\"method\":\"later\",\"params\":{\"ms\":100}}");
	ck_assert_str_eq(resp_id(r), "100");
	json_object_put(r);
	ck_assert_int_eq(__atomic_load_n(&harness_stats.echo_calls, __ATOMIC_SEQ_CST), 2);
	ck_assert_int_eq(__atomic_load_n(&harness_stats.later_done, __ATOMIC_SEQ_CST), 2);
}
END_TEST

/* Requests may arrive a byte at a time, with CRLF and blank lines. */
START_TEST(test_framing)
{
	const char *req = "\n  \r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[1]}\r\n"
			  "\t\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\"}\n";
	struct json_object *r;

	for (const char *p = req; *p; p++)
		ck_assert_int_eq(client_send(&cl, p, 1), 0);
	r = client_json(&cl);
	ck_assert_str_eq(resp_id(r), "1");
	json_object_put(r);
	r = client_json(&cl);
	ck_assert_str_eq(resp_id(r), "2");
	json_object_put(r);
}
END_TEST

/* A response too long for a line becomes an internal error. */
START_TEST(test_response_too_long)
{
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":\"big\",\"method\":\"big\"}",
		     RPC_INTERNAL_ERROR, "\"big\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"fail\"}", RPC_DEVICE_ERROR, "1");
}
END_TEST

/* A result holding text that is not UTF-8 goes out repaired, not as
 * invalid JSON and not as an error. */
START_TEST(test_result_repaired)
{
	char *line;

	ck_assert_int_eq(client_puts(&cl, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"notutf8\"}\n"), 0);
	line = client_line(&cl);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"names\":[\"a?b\"],"
			 "\"fine\":\"\xc3\xa9\"}}");
	free(line);
}
END_TEST

/* Methods see the caller's credentials. */
START_TEST(test_peer)
{
	struct json_object *r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"peer\"}"), *res, *v;

	ck_assert(json_object_object_get_ex(r, "result", &res));
	ck_assert(json_object_object_get_ex(res, "uid", &v));
	ck_assert_int_eq(json_object_get_int64(v), getuid());
	ck_assert(json_object_object_get_ex(res, "gid", &v));
	ck_assert_int_eq(json_object_get_int64(v), getgid());
	ck_assert(json_object_object_get_ex(res, "pid", &v));
	ck_assert_int_eq(json_object_get_int64(v), getpid());
	ck_assert(json_object_object_get_ex(res, "connected", &v));
	ck_assert(json_object_get_boolean(v));
	json_object_put(r);
}
END_TEST

/* A client that shuts down its sending side still gets its answers,
 * including one for an unterminated last line. */
START_TEST(test_half_close)
{
	struct json_object *r;

	ck_assert_int_eq(client_puts(&cl,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"later\",\"params\":{\"ms\":100}}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\"}"), 0);
	ck_assert_int_eq(shutdown(cl.fd, SHUT_WR), 0);
	r = client_json(&cl);
	ck_assert_str_eq(resp_id(r), "2");
	json_object_put(r);
	r = client_json(&cl);
	ck_assert_str_eq(resp_id(r), "1");
	json_object_put(r);
	ck_assert(client_eof(&cl));
	ck_assert_int_eq(harness_stats.later_disconnected, 0);
}
END_TEST

/* A method may stop the control socket while requests are still queued: its
 * reply goes out, the rest is dropped, nothing is used after being freed. */
START_TEST(test_stop_from_method)
{
	struct json_object *r;
	struct client other;

	ck_assert_int_eq(client_puts(&cl,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"later\",\"params\":{\"ms\":200}}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"stop\"}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\"}\n"), 0);
	r = client_json(&cl);
	ck_assert_str_eq(resp_id(r), "2");
	json_object_put(r);
	ck_assert(client_eof(&cl));
	other = client_open(harness_path(0, "ublkd.sock"));
	ck_assert_int_lt(other.fd, 0);
	/* harness_stop waits for "later", which finds its client gone. */
	harness_stop();
	ck_assert_int_eq(harness_stats.later_done, 1);
	ck_assert_int_eq(harness_stats.later_disconnected, 1);
	ck_assert_int_eq(harness_stats.echo_calls, 0);
}
END_TEST

/* State-changing calls are logged at info with the caller and a summary of
 * the params; others are not. */
START_TEST(test_state_log)
{
	char tmpl[] = "/tmp/ublkd-test-log-XXXXXX", want[128], req[1024], *text;
	int fd = mkstemp(tmpl), saved = dup(2);
	struct json_object *r;
	size_t len;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	unlink(tmpl);
	memset(req, 0, sizeof(req));
	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"state\","
		 "\"params\":{\"path\":\"/dev/x\",\"long\":\"%0600d\"}}", 0);
	log_init("check_rpc", LOG_LEVEL_INFO);
	dup2(fd, 2);
	r = call(req);
	json_object_put(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\",\"params\":[\"quiet\"]}");
	json_object_put(r);
	dup2(saved, 2);
	close(saved);
	log_init("check_rpc", LOG_LEVEL_DEBUG);
	f = fdopen(fd, "r");
	rewind(f);
	text = calloc(1, 65536);
	len = fread(text, 1, 65535, f);
	fclose(f);
	ck_assert_int_gt(len, 0);
	snprintf(want, sizeof(want), "state from uid=%u pid=%d params={\"path\":\"/dev/x\",",
		 (unsigned int)getuid(), (int)getpid());
	ck_assert_msg(strstr(text, want), "no \"%s\" in: %s", want, text);
	ck_assert_ptr_nonnull(strstr(text, "0000..."));
	ck_assert_ptr_null(strstr(text, "quiet"));
	free(text);
}
END_TEST

/* Sends line and returns the reply line (malloc'd), checked to be strict
 * JSON with the error code and message wanted. */
static char *expect_message(const char *line, int code, const char *message)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *r;
	char *reply;

	ck_assert_int_eq(client_puts(&cl, line), 0);
	ck_assert_int_eq(client_puts(&cl, "\n"), 0);
	reply = client_line(&cl);
	ck_assert_ptr_nonnull(reply);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	r = json_tokener_parse_ex(tok, reply, (int)strlen(reply) + 1);
	ck_assert_msg(r, "not JSON: %s", reply);
	ck_assert_int_eq(resp_code(r), code);
	ck_assert_str_eq(resp_message(r), message);
	json_object_put(r);
	json_tokener_free(tok);
	return reply;
}

/* Numbers out of range are quoted as sent (cut after 40 bytes), never
 * clamped; the parse error says what and where. */
START_TEST(test_range_messages)
{
	free(expect_message("{\"jsonrpc\":\"2.0\",\"id\":99999999999999999999999,\"method\":\"echo\"}",
			    RPC_INVALID_REQUEST, "\"id\": 99999999999999999999999 is out of range "
			    "(an integer id must fit in 64 bits)"));
	free(expect_message("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"size\":"
			    "123456789012345678901234567890123456789012345678901234567890}}",
			    RPC_INVALID_PARAMS, "size: 1234567890123456789012345678901234567890... "
			    "is out of range (numbers must fit in 64 bits)"));
	free(expect_message("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\",\"params\":{\"a\":"
			    "{\"b\":-1e400}}}", RPC_INVALID_PARAMS,
			    "a: -1e400 is out of range (numbers must fit in 64 bits)"));
	free(expect_message("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\",\"params\":"
			    "{\"size\\u0000junk\":1}}", RPC_INVALID_PARAMS,
			    "params: the name \"size\\u0000junk\" contains a NUL character (\\u0000)"));
	free(expect_message("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"echo\"}",
			    RPC_INVALID_REQUEST, "\"id\" must be a string, an integer or null"));
	free(expect_message("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"x\":NaN}",
			    RPC_PARSE_ERROR, "the request is not valid JSON: an unexpected character "
			    "(not a JSON value) (at byte 44)"));
	free(expect_message("{\"jsonrpc\":\"2.0\",\"id\":\"\xed\xa0\x80\"}", RPC_PARSE_ERROR,
			    "the request is not valid JSON: a string is not valid UTF-8 (at byte 23)"));
}
END_TEST

/* An id too long to echo (1 MiB of control characters would be 6 MiB of
 * \u escapes) is refused with a short error and a null id. */
START_TEST(test_long_id)
{
	size_t n = UBLKD_MAX_LINE - 100;
	char *req = malloc(n + 100), *reply, *p;

	p = req + sprintf(req, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":\"");
	memset(p, '\x01', n - (size_t)(p - req));
	strcpy(req + n, "\"}");
	/* Raw control characters are not JSON: escaped ones are. */
	reply = expect_message(req, RPC_PARSE_ERROR, "the request is not valid JSON: a control "
			       "character in a string must be escaped (at byte 39)");
	free(reply);
	p = req + sprintf(req, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":\"");
	while ((size_t)(p - req) < n)
		p += sprintf(p, "\\u0001");
	strcpy(p, "\"}");
	reply = expect_message(req, RPC_INVALID_REQUEST, "\"id\": a string id of 174740 bytes is "
			       "longer than the limit of 128");
	ck_assert_int_lt(strlen(reply), 200);
	ck_assert_ptr_nonnull(strstr(reply, "\"id\":null"));
	free(reply);
	free(req);
	/* At the limit it is echoed. */
	reply = expect_message("{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":\""
			       "1234567890123456789012345678901234567890123456789012345678901234"
			       "1234567890123456789012345678901234567890123456789012345678901234\"}",
			       RPC_DEVICE_ERROR, "no such thing: thing");
	free(reply);
}
END_TEST

/* Runs fn with stderr in a temporary file; returns what was logged. */
static char *capture_log(void (*fn)(void))
{
	char tmpl[] = "/tmp/ublkd-test-log-XXXXXX", *text;
	int fd = mkstemp(tmpl), saved = dup(2);
	size_t len;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	unlink(tmpl);
	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	text = calloc(1, 1 << 20);
	len = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[len] = '\0';
	return text;
}

/* Sends requests whose method names and params hold a newline, a forged
 * priority prefix and a terminal escape. */
static void send_injections(void)
{
	struct json_object *r;

	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\\n<3>ublkd: FORGED\\u001b[2J\"}");
	json_object_put(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"state\",\"params\":"
		 "{\"backend\":\"y\\n<3>ublkd: FORGED2\\\\\"}}");
	json_object_put(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"state\",\"params\":"
		 "{\"n\":99999999999999999999999}}");
	ck_assert_int_eq(resp_code(r), RPC_INVALID_PARAMS);
	json_object_put(r);
}

/* What a client sends is escaped in the log: it never starts a line. */
START_TEST(test_log_injection)
{
	char *text = capture_log(send_injections);

	ck_assert_msg(!strstr(text, "\n<3>ublkd: FORGED"), "forged line in: %s", text);
	ck_assert_msg(!strchr(text, '\x1b'), "terminal escape in: %s", text);
	ck_assert_msg(strstr(text, "unknown method \"x\\n<3>ublkd: FORGED\\x1b[2J\""),
		      "no escaped method name in: %s", text);
	ck_assert_msg(strstr(text, "\"backend\":\"y\\\\n<3>ublkd: FORGED2\\\\\\\\\"}"),
		      "no escaped params in: %s", text);
	/* The params as sent: json-c would show 18446744073709551615. */
	ck_assert_msg(strstr(text, "params={\"n\":99999999999999999999999}"),
		      "params not as sent in: %s", text);
	for (char *line = text; *line; line = strchr(line, '\n') + 1) {
		ck_assert_msg(!strncmp(line, "<7>check_rpc: ", 14) ||
			      !strncmp(line, "<6>check_rpc: ", 14), "a line of its own: %s", line);
		if (!strchr(line, '\n'))
			break;
	}
	free(text);
}
END_TEST

/* Sends 10 state calls, waits out the interval, sends one more. */
static void send_flood(void)
{
	struct json_object *r;

	for (int i = 0; i < 10; i++) {
		r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"state\",\"params\":{\"a\":1}}");
		json_object_put(r);
	}
	usleep(1100 * 1000);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"state\",\"params\":{\"a\":2}}");
	json_object_put(r);
}

/* Counts the occurrences of needle in text. */
static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* A client's request lines are limited per interval; the next line that
 * passes says how many were suppressed. Every call is still answered. */
START_TEST(test_log_rate_limit)
{
	struct control_opts opts = { .socket_path = harness_path(0, "ublkd.sock") };
	char want[128], *text;

	client_close(&cl);
	harness_stop();
	rpc_log_set_limit(1.0, 3, 100);
	ck_assert_int_eq(harness_start(&opts), 0);
	cl = client_open(opts.socket_path);
	ck_assert_int_ge(cl.fd, 0);
	log_init("check_rpc", LOG_LEVEL_INFO);
	text = capture_log(send_flood);
	log_init("check_rpc", LOG_LEVEL_DEBUG);
	ck_assert_int_eq(__atomic_load_n(&harness_stats.echo_calls, __ATOMIC_SEQ_CST), 11);
	ck_assert_msg(count(text, "state from uid=") == 4, "not 3 + 1 lines in: %s", text);
	snprintf(want, sizeof(want), "uid=%u pid=%d: 7 request lines suppressed (more than 3 in 1 s)",
		 (unsigned int)getuid(), (int)getpid());
	ck_assert_msg(strstr(text, want), "no \"%s\" in: %s", want, text);
	ck_assert_ptr_nonnull(strstr(text, "params={\"a\":2}"));
	free(text);
}
END_TEST

/* "ping" of table A. */
static void ping_a(struct rpc_call *call, struct json_object *params)
{
	(void)params;
	rpc_reply(call, json_object_new_string("a"));
}

/* "ping" of table B. */
static void ping_b(struct rpc_call *call, struct json_object *params)
{
	(void)params;
	rpc_reply(call, json_object_new_string("b"));
}

static const struct rpc_method table_a[] = {
	{ "ping", ping_a, false },
	{ NULL, NULL, false },
};
static const struct rpc_method table_b[] = {
	{ "other", ping_a, false },
	{ "ping", ping_b, false },
	{ NULL, NULL, false },
};

/* Restarts the server with methods as its table and reconnects cl. */
static void restart_with(const struct rpc_method *methods)
{
	struct control_opts opts = { .socket_path = harness_path(0, "ublkd.sock") };

	client_close(&cl);
	harness_stop();
	ck_assert_int_eq(harness_start_methods(&opts, methods), 0);
	cl = client_open(opts.socket_path);
	ck_assert_int_ge(cl.fd, 0);
}

/* Sends "ping" and returns the string result, or NULL (static buffer). */
static const char *ping(void)
{
	static char buf[16];
	struct json_object *r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"), *res;

	ck_assert_ptr_nonnull(r);
	if (!json_object_object_get_ex(r, "result", &res)) {
		json_object_put(r);
		return NULL;
	}
	snprintf(buf, sizeof(buf), "%s", json_object_get_string(res));
	json_object_put(r);
	return buf;
}

/* Requests go to the methods of the table given to rpc_init, and only to
 * those: no other table is consulted. */
START_TEST(test_dispatch_table)
{
	restart_with(table_a);
	ck_assert_str_eq(ping(), "a");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\"}",
		     RPC_METHOD_NOT_FOUND, "2");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"device_list\"}",
		     RPC_METHOD_NOT_FOUND, "3");
	restart_with(table_b);
	ck_assert_str_eq(ping(), "b");
	restart_with(NULL);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}",
		     RPC_METHOD_NOT_FOUND, "4");
}
END_TEST

/* The tests, in one suite. */
static Suite *rpc_suite(void)
{
	Suite *s = suite_create("rpc");
	TCase *tc = tcase_create("rpc");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bad_request, 0, sizeof(bad_requests) / sizeof(bad_requests[0]));
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_error_messages);
	tcase_add_test(tc, test_unknown_method_utf8);
	tcase_add_loop_test(tc, test_errno_mapping, 0, sizeof(errno_map) / sizeof(errno_map[0]));
	tcase_add_test(tc, test_fail_methods);
	tcase_add_test(tc, test_exact_format);
	tcase_add_loop_test(tc, test_ids_echoed, 0, sizeof(ids) / sizeof(ids[0]));
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_notifications);
	tcase_add_test(tc, test_framing);
	tcase_add_test(tc, test_response_too_long);
	tcase_add_test(tc, test_result_repaired);
	tcase_add_test(tc, test_peer);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_stop_from_method);
	tcase_add_test(tc, test_state_log);
	tcase_add_test(tc, test_dispatch_table);
	tcase_add_test(tc, test_range_messages);
	tcase_add_test(tc, test_long_id);
	tcase_add_test(tc, test_log_injection);
	tcase_add_test(tc, test_log_rate_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rpc_suite());
	int failed;

	log_init("check_rpc", LOG_LEVEL_DEBUG);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
