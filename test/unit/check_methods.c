/* Unit tests for the JSON-RPC methods (daemon/methods.c), called through the
 * rpc layer with the real method table, over a fake control connection and
 * the fake device layer of fake_device.c: every error code of the README's
 * table, with its message, and the shape of every result. */
#include "config.h"
#include "fake_device.h"
#include "daemon/access.h"
#include "daemon/control.h"
#include "daemon/methods.h"
#include "daemon/rpc.h"
#include "common/log.h"
#include "common/protocol.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#define CONN_MAX_LINES	16

/* The fake connection: keeps what rpc.c sends for the test to read. */
struct control_conn {
	bool closed;
	int holds;
	int sent;			/* lines sent in all */
	int nlines;
	char *lines[CONN_MAX_LINES];	/* sent, not yet read by the test */
};

static struct control_conn conn;

/* The peer's uid (the test's own unless a test sets another). */
static uid_t peer_uid;
/* The descriptors that come with the next request line; -1 once taken. */
static int line_fds[CONTROL_MAX_FDS];
static unsigned line_nfds;

/* How many descriptors came with the line. */
unsigned control_conn_fds(const struct control_conn *c, unsigned *dropped)
{
	(void)c;
	if (dropped)
		*dropped = 0;
	return line_nfds;
}

/* Takes one of them, as control.c does. */
int control_conn_take_fd(struct control_conn *c, unsigned i)
{
	int fd;

	(void)c;
	if (i >= line_nfds || line_fds[i] < 0)
		return -EBADF;
	fd = line_fds[i];
	line_fds[i] = -1;
	return fd;
}

/* Keeps the line for the test; -ENOTCONN once closed. */
int control_conn_send(struct control_conn *c, const char *line, size_t len)
{
	if (c->closed)
		return -ENOTCONN;
	ck_assert_int_lt(c->nlines, CONN_MAX_LINES);
	c->lines[c->nlines++] = strndup(line, len);
	c->sent++;
	return 0;
}

/* This process, as the peer. */
const struct control_peer *control_conn_peer(const struct control_conn *c)
{
	static struct control_peer peer;

	(void)c;
	peer.pid = getpid();
	peer.uid = peer_uid;
	peer.gid = getgid();
	return &peer;
}

/* True until the test closes the connection. */
bool control_conn_connected(const struct control_conn *c)
{
	return !c->closed;
}

/* Counts a hold (a call in progress). */
void control_conn_hold(struct control_conn *c)
{
	c->holds++;
}

/* Drops a hold. */
void control_conn_release(struct control_conn *c)
{
	ck_assert_int_gt(c->holds, 0);
	c->holds--;
}

/* The features of the 6.12 driver: bits 0 to 8 (no FAIL_IO, no QUIESCE). */
#define FEATURES_612	0x1ffULL

/* How often daemon_shutdown asked to stop, and how. */
static int stop_calls;
static bool stop_keep;

/* Records a stop request instead of stopping. */
static void fake_stop(bool keep_devices)
{
	stop_calls++;
	stop_keep = keep_devices;
}

/* A fresh connection, fake device layer and method state. */
static void setup(void)
{
	memset(&conn, 0, sizeof(conn));
	fake_device_reset();
	fake_device.features = FEATURES_612;
	stop_calls = 0;
	peer_uid = getuid();
	line_nfds = 0;
	access_init(&(struct access_quota){ ACCESS_DEFAULT_MAX_DEVICES, ACCESS_DEFAULT_MAX_MEM },
		    0);
	methods_init(fake_stop);
	rpc_init(methods_table);
}

/* Checks that every call was answered and nothing is left unread. */
static void teardown(void)
{
	int left = conn.nlines;

	for (int i = 0; i < conn.nlines; i++)
		free(conn.lines[i]);
	conn.nlines = 0;
	ck_assert_int_eq(conn.holds, 0);
	ck_assert_int_eq(left, 0);
}

/* Takes the oldest line sent, parsed; NULL if none was sent. */
static struct json_object *take_reply(void)
{
	struct json_object *r;

	if (!conn.nlines)
		return NULL;
	r = json_tokener_parse(conn.lines[0]);
	ck_assert_msg(r, "not JSON: %s", conn.lines[0]);
	free(conn.lines[0]);
	memmove(conn.lines, conn.lines + 1, (size_t)--conn.nlines * sizeof(conn.lines[0]));
	return r;
}

/* Takes the oldest line sent as text (malloc'd); NULL if none was sent. */
static char *take_line(void)
{
	char *line;

	if (!conn.nlines)
		return NULL;
	line = conn.lines[0];
	memmove(conn.lines, conn.lines + 1, (size_t)--conn.nlines * sizeof(conn.lines[0]));
	return line;
}

/* Hands one request line to the rpc layer, as the control socket would. */
static void send_line(const char *line)
{
	size_t len = strlen(line);
	char *copy = strdup(line);

	rpc_on_line(NULL, &conn, copy, len);
	free(copy);
}

/* Sends method(params) with id 1 (params NULL: none) and returns the reply,
 * or NULL if there was none yet. */
static struct json_object *request(const char *method, const char *params)
{
	char line[1024];

	snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}",
		 method, params ? ",\"params\":" : "", params ? params : "");
	send_line(line);
	return take_reply();
}

/* error.<key> of a reply, or NULL. */
static struct json_object *error_member(struct json_object *r, const char *key)
{
	struct json_object *e, *v;

	if (!json_object_object_get_ex(r, "error", &e) || !json_object_object_get_ex(e, key, &v))
		return NULL;
	return v;
}

/* Checks that r is an error with code, errno name (NULL: no data) and
 * message, then drops r. */
static void check_error(struct json_object *r, int code, const char *errname,
			const char *message)
{
	struct json_object *v, *data;

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(!json_object_object_get_ex(r, "result", NULL), "a result: %s",
		      json_object_to_json_string(r));
	v = error_member(r, "code");
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_object_get_int(v), code);
	v = error_member(r, "message");
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(json_object_get_string(v), message);
	data = error_member(r, "data");
	if (!errname) {
		ck_assert_ptr_null(data);
	} else {
		ck_assert(json_object_object_get_ex(data, "errno", &v));
		ck_assert_str_eq(json_object_get_string(v), errname);
	}
	json_object_put(r);
}

/* Checks that r is a result and returns it serialized (static buffer); drops r. */
static const char *result_text(struct json_object *r)
{
	static char buf[2048];
	struct json_object *res;

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(json_object_object_get_ex(r, "result", &res), "no result: %s",
		      json_object_to_json_string(r));
	snprintf(buf, sizeof(buf), "%s", json_object_to_json_string_ext(res,
		 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(r);
	return buf;
}


/* A user but root names no path: -32602 saying why, and nothing is added. */
START_TEST(test_user_path_refused)
{
	peer_uid = 1000;
	check_error(request("device_add", "{\"backend\":\"file\",\"path\":\"/root/x.img\","
			    "\"size\":1048576}"), RPC_INVALID_PARAMS, "EINVAL",
		    "path: ublkd opens no file for uid 1000, only for root; open it yourself and "
		    "pass the descriptor (\"fd\": 0 with SCM_RIGHTS), as ublkctl does");
	check_error(request("device_add", "{\"backend\":\"zip\",\"path\":\"/root/a.zip\"}"),
		    RPC_INVALID_PARAMS, "EINVAL",
		    "path: ublkd opens no file for uid 1000, only for root; open it yourself and "
		    "pass the descriptor (\"fd\": 0 with SCM_RIGHTS), as ublkctl does");
	ck_assert_int_eq(fake_device.add_calls, 0);
	/* Root still may. */
	peer_uid = 0;
	result_text(request("device_add", "{\"backend\":\"file\",\"path\":\"/root/x.img\"}"));
	ck_assert_int_eq(fake_device.add_calls, 1);
	ck_assert(!fake_device.spec.args[0].passed);
	ck_assert_uint_eq(fake_device.spec.owner_uid, 0);
}
END_TEST

#ifdef HAVE_RBD
/* rbd is root's (librados reads what the Ceph configuration names, with
 * ublkd's rights): a user is refused with -32007 saying why, passed conf
 * or not, while root and ublkd's own user go on to the device layer. */
START_TEST(test_user_rbd_refused)
{
	static const char why[] = "rbd: only root (or ublkd's own user) may add rbd devices: "
		"librados would read the Ceph configuration and the keyrings, logs and plugins "
		"it names with ublkd's rights, and connect as ublkd's Ceph client";
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	access_init(&(struct access_quota){ ACCESS_DEFAULT_MAX_DEVICES, ACCESS_DEFAULT_MAX_MEM },
		    1234);
	peer_uid = 1000;
	check_error(request("device_add", "{\"backend\":\"rbd\",\"pool\":\"p\",\"image\":\"i\"}"),
		    RPC_NOT_PERMITTED, "EPERM", why);
	line_fds[0] = fd;
	line_nfds = 1;
	check_error(request("device_add", "{\"backend\":\"rbd\",\"pool\":\"p\",\"image\":\"i\","
			    "\"fd\":0}"), RPC_NOT_PERMITTED, "EPERM", why);
	ck_assert_int_eq(fake_device.add_calls, 0);
	peer_uid = 1234;
	result_text(request("device_add", "{\"backend\":\"rbd\",\"pool\":\"p\",\"image\":\"i\"}"));
	ck_assert_int_eq(fake_device.add_calls, 1);
	ck_assert(!fake_device.spec.cfg.for_user);
	peer_uid = 0;
	result_text(request("device_add", "{\"backend\":\"rbd\",\"pool\":\"p\",\"image\":\"j\"}"));
	ck_assert_int_eq(fake_device.add_calls, 2);
	ck_assert(!fake_device.spec.cfg.for_user);
	/* Other backends still serve a user, who is marked as one. */
	peer_uid = 1000;
	result_text(request("device_add", "{\"backend\":\"mem\",\"size\":4096}"));
	ck_assert_int_eq(fake_device.add_calls, 3);
	ck_assert(fake_device.spec.cfg.for_user);
	if (line_fds[0] >= 0)
		close(line_fds[0]);
	line_fds[0] = -1;
	line_nfds = 0;
}
END_TEST
#endif

/* "fd": N binds the N-th passed descriptor to the backend's file; the
 * device belongs to the peer; unused descriptors stay for control.c. */
START_TEST(test_user_fd)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	peer_uid = 1000;
	line_fds[0] = fd;
	line_fds[1] = -1;
	line_nfds = 1;
	check_error(request("device_add", "{\"backend\":\"file\",\"fd\":1}"), RPC_INVALID_PARAMS,
		    "EINVAL", "fd: 1 names no descriptor: 1 came with the request (send them with "
		    "the request line, SCM_RIGHTS, at most 4)");
	check_error(request("device_add", "{\"backend\":\"mem\",\"fd\":0,\"size\":4096}"),
		    RPC_INVALID_PARAMS, "EINVAL",
		    "fd: the mem backend opens no file, so it takes no descriptor");
	check_error(request("device_add", "{\"backend\":\"file\",\"fd\":0,\"path\":\"/x\"}"),
		    RPC_INVALID_PARAMS, "EINVAL",
		    "fd: give either path or fd (a descriptor passed for it), not both");
	check_error(request("device_add", "{\"backend\":\"file\",\"fd\":4}"), RPC_INVALID_PARAMS,
		    "EINVAL", "fd: 4 is out of range (expected 0 to 3)");
	ck_assert_int_eq(fake_device.add_calls, 0);
	result_text(request("device_add", "{\"backend\":\"file\",\"fd\":0}"));
	ck_assert_int_eq(fake_device.add_calls, 1);
	ck_assert(fake_device.spec.args[0].passed);
	ck_assert_int_eq(fake_device.spec.args[0].fd, fd);
	ck_assert_str_eq(fake_device.path, "/dev/null");
	ck_assert_uint_eq(fake_device.spec.owner_uid, 1000);
	ck_assert_uint_eq(device_owner(device_find(0)), 1000);
	/* Taken, then closed by the method once device_add has its copy. */
	ck_assert_int_eq(line_fds[0], -1);
	ck_assert_int_lt(fcntl(fd, F_GETFD), 0);
}
END_TEST

/* Only the owner or root deletes a device; shutdown is root's. */
START_TEST(test_user_del_and_shutdown)
{
	fake_device_create(1, "mem", 4096);
	fake_device_create(2, "mem", 4096);
	fake_device_create(3, "mem", 4096);
	fake_device_set_owner(2, 1000);
	fake_device_set_owner(3, 1001);
	peer_uid = 1000;
	check_error(request("device_del", "{\"id\":1}"), RPC_NOT_PERMITTED, "EPERM",
		    "device 1 belongs to uid 0; only its owner or root may delete it");
	check_error(request("device_del", "{\"id\":3}"), RPC_NOT_PERMITTED, "EPERM",
		    "device 3 belongs to uid 1001; only its owner or root may delete it");
	ck_assert_int_eq(fake_device.del_calls, 0);
	ck_assert_str_eq(result_text(request("device_del", "{\"id\":2}")), "{}");
	ck_assert_uint_eq(fake_device.del_id, 2);
	check_error(request("daemon_shutdown", NULL), RPC_NOT_PERMITTED, "EPERM",
		    "only root (or ublkd's own user) may shut ublkd down");
	ck_assert_int_eq(stop_calls, 0);
	peer_uid = 0;
	ck_assert_str_eq(result_text(request("device_del", "{\"id\":3}")), "{}");
	ck_assert_uint_eq(fake_device.del_id, 3);
}
END_TEST

/* The quota: devices and bytes of mem per uid, root exempt. */
START_TEST(test_user_quota)
{
	access_init(&(struct access_quota){ 2, 1 << 20 }, 0);
	peer_uid = 1000;
	result_text(request("device_add", "{\"backend\":\"mem\",\"size\":524288}"));
	check_error(request("device_add", "{\"backend\":\"mem\",\"size\":1048576}"),
		    RPC_QUOTA_EXCEEDED, "EDQUOT", "quota: uid 1000 has 524288 bytes of mem "
		    "devices; 1048576 more would pass the limit of 1048576 (ublkd --max-user-mem)");
	result_text(request("device_add", "{\"backend\":\"null\",\"size\":1048576}"));
	check_error(request("device_add", "{\"backend\":\"null\",\"size\":4096}"),
		    RPC_QUOTA_EXCEEDED, "EDQUOT", "quota: uid 1000 has 2 device(s), the most a "
		    "user may have (ublkd --max-user-devices 2); delete one first");
	/* Another user has its own quota; root has none. */
	peer_uid = 1001;
	result_text(request("device_add", "{\"backend\":\"mem\",\"size\":1048576}"));
	peer_uid = 0;
	for (int i = 0; i < 3; i++)
		result_text(request("device_add", "{\"backend\":\"mem\",\"size\":1048576}"));
	ck_assert_uint_eq(device_count(), 6);
}
END_TEST

/* The rules alone. */
START_TEST(test_access_rules)
{
	struct access_usage use = { 0, 0 };
	char err[256];

	access_init(&(struct access_quota){ 1, 4096 }, 1234);
	ck_assert(access_is_root(0));
	ck_assert(!access_is_root(1234));
	ck_assert(access_daemon_wide(0));
	ck_assert(access_daemon_wide(1234));
	ck_assert(!access_daemon_wide(1000));
	ck_assert(access_may_change(0, 1000));
	ck_assert(access_may_change(1000, 1000));
	ck_assert(!access_may_change(1000, 0));
	ck_assert(!access_may_change(1000, 1001));
	ck_assert_int_eq(access_quota_check(1000, &use, 4096, err, sizeof(err)), 0);
	ck_assert_int_eq(access_quota_check(1000, &use, 4097, err, sizeof(err)), -EDQUOT);
	use.mem = 1;
	ck_assert_int_eq(access_quota_check(1000, &use, 4096, err, sizeof(err)), -EDQUOT);
	ck_assert_int_eq(access_quota_check(1000, &use, UINT64_MAX, err, sizeof(err)), -EDQUOT);
	use.devices = 1;
	ck_assert_int_eq(access_quota_check(1000, &use, 0, err, sizeof(err)), -EDQUOT);
	ck_assert_int_eq(access_quota_check(0, &use, UINT64_MAX, err, sizeof(err)), 0);
}
END_TEST

/* -32700, -32600 and -32601 come from the rpc layer before any method. */
START_TEST(test_request_errors)
{
	send_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_list\"");
	check_error(take_reply(), RPC_PARSE_ERROR, NULL,
		    "the request is not valid JSON: the text ended inside an object (at byte 46)");
	send_line("{\"id\":1,\"method\":\"device_list\"}");
	check_error(take_reply(), RPC_INVALID_REQUEST, NULL, "\"jsonrpc\" must be \"2.0\"");
	send_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_list\",\"params\":7}");
	check_error(take_reply(), RPC_INVALID_REQUEST, NULL,
		    "\"params\" must be an object or an array");
	check_error(request("device_frob", NULL), RPC_METHOD_NOT_FOUND, NULL,
		    "unknown method \"device_frob\"");
	check_error(request("methods_find", NULL), RPC_METHOD_NOT_FOUND, NULL,
		    "unknown method \"methods_find\"");
}
END_TEST

/* Every method of the table is found, and those that change state say so. */
START_TEST(test_table)
{
	static const struct {
		const char *name;
		bool changes_state;
	} want[] = {
		{ RPC_M_DEVICE_ADD, true },
		{ RPC_M_DEVICE_DEL, true },
		{ RPC_M_DEVICE_LIST, false },
		{ RPC_M_DEVICE_INFO, false },
		{ RPC_M_DAEMON_INFO, false },
		{ RPC_M_DAEMON_SHUTDOWN, true },
	};
	size_t n = 0;

	while (methods_table[n].name)
		n++;
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(methods_table[i].name, want[i].name);
		ck_assert_ptr_nonnull(methods_table[i].fn);
		ck_assert_int_eq(methods_table[i].changes_state, want[i].changes_state);
	}
}
END_TEST

/* Requests whose params are wrong: -32602 EINVAL with this message, and the
 * device layer is never asked. */
static const struct {
	const char *method;
	const char *params;	/* NULL: no params member */
	const char *message;
} invalid[] = {
	{ "device_add", NULL, "backend: required, one of: %s" },
	{ "device_add", "{}", "backend: required, one of: %s" },
	{ "device_add", "[\"mem\"]", "params: expected an object of named parameters" },
	{ "device_add", "{\"backend\":5}", "backend: required, one of: %s" },
	{ "device_add", "{\"backend\":\"floppy\"}",
	  "backend: unknown backend 'floppy' (expected one of: %s)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"id\":1048576}",
	  "id: 1048576 is out of range (expected 0 to 1048575)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"id\":\"7\"}",
	  "id: expected an integer from 0 to 1048575" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"queues\":0}",
	  "queues: 0 is out of range (expected 1 to 4096)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"depth\":4097}",
	  "depth: 4097 is out of range (expected 1 to 4096)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"block_size\":256}",
	  "block_size: 256 is out of range (expected 512 to 4096)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":6144,\"block_size\":1536}",
	  "block_size: 1536 is not a power of two (expected 512, 1024, 2048 or 4096)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"read_only\":\"yes\"}",
	  "read_only: expected true or false" },
	{ "device_add", "{\"backend\":\"mem\"}", "size: required for the mem backend (the device size: bytes, or with a K, M, G or T suffix)" },
	{ "device_add", "{\"backend\":\"null\"}", "size: required for the null backend (the device size: bytes, or with a K, M, G or T suffix)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":0}", "size: must be greater than 0" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":1000}",
	  "size: 1000 is not a multiple of the block size 512" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":6144,\"block_size\":4096}",
	  "size: 6144 is not a multiple of the block size 4096" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":\"1Q\"}",
	  "size: '1Q' is not a size (expected bytes, or a number with K, M, G or T)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":true}",
	  "size: expected a number of bytes or a string like \"1G\"" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":-512}",
	  "size: -512 is out of range (expected 0 to 9223372036854775807)" },
	{ "device_add", "{\"backend\":\"zip\",\"path\":\"/a.zip\",\"size\":4096}",
	  "size: unknown parameter for the zip backend (expected backend, id, queues, depth, block_size, read_only, recovery, path, entry, chunk_size, cache_limit)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"path\":\"/x\"}",
	  "path: unknown parameter for the mem backend (expected backend, id, queues, depth, block_size, read_only, recovery, size, reserve)" },
	{ "device_add", "{\"backend\":\"file\"}", "path: required for the file backend (the regular file or block device to serve)" },
	{ "device_add", "{\"backend\":\"file\",\"path\":\"\"}", "path: expected a non-empty string" },
	{ "device_add", "{\"backend\":\"file\",\"path\":\"/x\",\"entry\":\"e\"}",
	  "entry: unknown parameter for the file backend (expected backend, id, queues, depth, block_size, read_only, recovery, path, size, buffered)" },
	{ "device_add", "{\"backend\":\"zip\",\"path\":\"/a.zip\",\"entry\":7}",
	  "entry: expected a non-empty string" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"buffered\":true}",
	  "buffered: unknown parameter for the mem backend (expected backend, id, queues, depth, block_size, read_only, recovery, size, reserve)" },
	{ "device_add", "{\"backend\":\"file\",\"path\":\"/x\",\"buffered\":1}",
	  "buffered: expected true or false" },
	{ "device_add", "{\"backend\":\"file\",\"path\":\"/x\",\"reserve\":true}",
	  "reserve: unknown parameter for the file backend (expected backend, id, queues, depth, block_size, read_only, recovery, path, size, buffered)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"reserve\":\"yes\"}",
	  "reserve: expected true or false" },
	{ "device_add", "{\"backend\":\"file\",\"path\":\"disk.img\"}",
	  "path: disk.img is a relative path; give an absolute one (ublkd's working directory is not yours)" },
	{ "device_add", "{\"backend\":\"zip\",\"path\":\"/a.zip\",\"chunk_size\":\"1K\"}",
	  "chunk_size: 1024 is out of range (expected a byte count from 65536 to 67108864)" },
	{ "device_add", "{\"backend\":\"zip\",\"path\":\"/a.zip\",\"cache_limit\":\"2T\"}",
	  "cache_limit: 2199023255552 is out of range (expected a byte count from 0 to 1099511627776)" },
	{ "device_add", "{\"backend\":\"zip\",\"path\":\"/a.zip\",\"chunk_size\":true}",
	  "chunk_size: expected a number of bytes or a string like \"1G\"" },
	{ "device_add", "[\"mem\"]", "params: expected an object of named parameters" },
	{ "device_del", NULL, "id: required (a device id from device_list)" },
	{ "device_del", "{}", "id: required (a device id from device_list)" },
	{ "device_del", "[0]", "params: expected an object of named parameters" },
	{ "device_del", "{\"id\":-1}", "id: -1 is out of range (expected 0 to 1048575)" },
	{ "device_del", "{\"id\":0,\"force\":true}", "force: unknown parameter (expected id)" },
	{ "device_info", NULL, "id: required (a device id from device_list)" },
	{ "device_info", "{\"id\":\"0\"}", "id: expected an integer from 0 to 1048575" },
	{ "device_info", "{\"id\":0,\"x\":1}", "x: unknown parameter (expected id)" },
	{ "device_list", "{\"all\":true}", "all: unknown parameter (expected)" },
	{ "device_list", "[1]", "params: expected an object of named parameters" },
	{ "daemon_info", "{\"verbose\":true}", "verbose: unknown parameter (expected)" },
	/* A string with a NUL is refused whole, not taken as what comes
	 * before it; numbers are quoted as sent, never clamped. */
	{ "device_add", "{\"backend\":\"mem\\u0000junk\",\"size\":4096}",
	  "backend: 'mem...' contains a NUL character (\\u0000); expected a string without one" },
	{ "device_add", "{\"backend\":\"file\",\"path\":\"/x.img\\u0000junk\"}",
	  "path: '/x.img...' contains a NUL character (\\u0000); expected a string without one" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":\"1G\\u0000x\"}",
	  "size: '1G...' contains a NUL character (\\u0000); expected a string without one" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"recovery\":\"none\\u0000x\"}",
	  "recovery: 'none...' contains a NUL character (\\u0000); expected a string without one" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":1e30}",
	  "size: 1e30 is not an integer (expected a number of bytes or a string like \"1G\")" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":18446744073709551615}",
	  "size: 18446744073709551615 is out of range (expected 0 to 9223372036854775807)" },
	{ "device_add", "{\"backend\":\"mem\",\"size\":4096,\"id\":4.0}",
	  "id: 4.0 is not an integer (expected an integer from 0 to 1048575)" },
	{ "device_add", "{\"backend\":\"x\\n<3>ublkd: FORGED0123456789012345678901234567890123456789"
	  "0123456789\"}", "backend: unknown backend 'x\n<3>ublkd: FORGED01234567890123456789012345"
	  "67890123456789012345...' (expected one of: %s)" },
	{ "device_add", "{\"backend\":\"file\",\"path\":\"rel\\u00e9\"}",
	  "path: rel\xc3\xa9 is a relative path; give an absolute one (ublkd's working directory is not yours)" },
	{ "device_del", "{\"id\":1.5}", "id: 1.5 is not an integer (expected an integer from 0 to 1048575)" },
};

/* Each wrong request is refused with its message, before any device work. */
START_TEST(test_invalid_params)
{
	char message[512];

	fake_device_create(0, "mem", 4096);
	snprintf(message, sizeof(message), invalid[_i].message, backends_names());
	check_error(request(invalid[_i].method, invalid[_i].params), RPC_INVALID_PARAMS,
		    "EINVAL", message);
	ck_assert_int_eq(fake_device.open_calls, 0);
	ck_assert_int_eq(fake_device.add_calls, 0);
	ck_assert_int_eq(fake_device.del_calls, 0);
}
END_TEST

/* An unknown device_add parameter is refused with the list of known ones. */
START_TEST(test_add_unknown_param)
{
	struct json_object *r = request("device_add", "{\"backend\":\"mem\",\"size\":4096,\"frob\":1}");
	const char *want = "frob: unknown parameter for the mem backend (expected backend, id, "
			   "queues, depth, block_size, read_only, recovery, size, reserve)";
	struct json_object *v = error_member(r, "message");

	ck_assert_int_eq(json_object_get_int(error_member(r, "code")), RPC_INVALID_PARAMS);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(json_object_get_string(v), want);
	json_object_put(r);
	/* A zip parameter misspelt: named, with the zip backend's own list. */
	r = request("device_add", "{\"backend\":\"zip\",\"path\":\"/a.zip\",\"chunk\":\"1M\"}");
	ck_assert_int_eq(json_object_get_int(error_member(r, "code")), RPC_INVALID_PARAMS);
	ck_assert_str_eq(json_object_get_string(error_member(r, "message")),
			 "chunk: unknown parameter for the zip backend (expected backend, id, queues, "
			 "depth, block_size, read_only, recovery, path, entry, chunk_size, cache_limit)");
	json_object_put(r);
	ck_assert_int_eq(fake_device.add_calls, 0);
}
END_TEST

/* device_add with defaults: the spec the device layer gets, and the device
 * object as the result. */
START_TEST(test_add_defaults)
{
	struct device_spec *s = &fake_device.spec;

	ck_assert_str_eq(result_text(request("device_add", "{\"backend\":\"mem\",\"size\":\"1G\"}")),
			 "{\"id\":0,\"backend\":\"mem\",\"size\":1073741824,\"state\":\"live\"}");
	ck_assert_int_eq(fake_device.open_calls, 1);
	ck_assert_int_eq(fake_device.add_calls, 1);
	ck_assert_str_eq(fake_device.backend, "mem");
	ck_assert_uint_eq(s->id, DEVICE_ID_AUTO);
	ck_assert_uint_eq(s->queues, 1);
	ck_assert_uint_eq(s->depth, 128);
	ck_assert_uint_eq(s->cfg.block_size, 512);
	ck_assert_uint_eq(s->cfg.size, 1ULL << 30);
	ck_assert(!s->cfg.read_only);
	ck_assert_ptr_null(fake_device_arg("buffered"));
	ck_assert(!fake_device_arg("reserve")->given);
	ck_assert_str_eq(fake_device.path, "");
	ck_assert_str_eq(fake_device.entry, "");
	/* The next one gets the next id from the device layer. */
	ck_assert_str_eq(result_text(request("device_add", "{\"backend\":\"null\",\"size\":512}")),
			 "{\"id\":1,\"backend\":\"null\",\"size\":512,\"state\":\"live\"}");
}
END_TEST

/* device_add's recovery: reissue by default, a named mode, an unknown one
 * refused, and fail-io refused on a 6.12 driver naming the version needed. */
START_TEST(test_add_recovery)
{
	struct json_object *r;

	ck_assert_str_eq(result_text(request("device_add", "{\"backend\":\"null\",\"size\":512}")),
			 "{\"id\":0,\"backend\":\"null\",\"size\":512,\"state\":\"live\"}");
	ck_assert_int_eq(fake_device.spec.recovery, DEVICE_RECOVERY_REISSUE);
	ck_assert_str_eq(result_text(request("device_add",
		"{\"backend\":\"null\",\"size\":512,\"recovery\":\"none\"}")),
		"{\"id\":1,\"backend\":\"null\",\"size\":512,\"state\":\"live\"}");
	ck_assert_int_eq(fake_device.spec.recovery, DEVICE_RECOVERY_NONE);
	r = request("device_add", "{\"backend\":\"null\",\"size\":512,\"recovery\":\"maybe\"}");
	ck_assert_int_eq(json_object_get_int(error_member(r, "code")), RPC_INVALID_PARAMS);
	ck_assert_str_eq(json_object_get_string(error_member(r, "message")),
			 "recovery: 'maybe' is not a recovery mode (expected reissue, fail-io or none)");
	json_object_put(r);
	r = request("device_add", "{\"backend\":\"null\",\"size\":512,\"recovery\":\"fail-io\"}");
	ck_assert_str_eq(json_object_get_string(error_member(r, "message")),
			 "recovery: fail-io needs Linux 6.13 or later (this kernel's ublk driver lacks "
			 "USER_RECOVERY_FAIL_IO); use --recovery none or reissue");
	json_object_put(r);
	ck_assert_int_eq(fake_device.add_calls, 2);
	/* The 7.3 driver has it. */
	fake_device.features = 0x1fffffULL;
	ck_assert_str_eq(result_text(request("device_add",
		"{\"backend\":\"null\",\"size\":512,\"recovery\":\"fail-io\"}")),
		"{\"id\":2,\"backend\":\"null\",\"size\":512,\"state\":\"live\"}");
	ck_assert_int_eq(fake_device.spec.recovery, DEVICE_RECOVERY_FAIL_IO);
	ck_assert_uint_eq(device_recovery_flags(DEVICE_RECOVERY_FAIL_IO),
			  UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_FAIL_IO);
}
END_TEST

/* device_add with every param given: all of them reach the spec. */
START_TEST(test_add_all_params)
{
	struct device_spec *s = &fake_device.spec;

	ck_assert_str_eq(result_text(request("device_add",
		"{\"backend\":\"file\",\"path\":\"/srv/d.img\",\"size\":8192,\"id\":7,"
		"\"queues\":2,\"depth\":64,\"block_size\":4096,\"read_only\":true,"
		"\"buffered\":true}")),
		"{\"id\":7,\"backend\":\"file\",\"size\":8192,\"state\":\"live\"}");
	ck_assert_str_eq(fake_device.backend, "file");
	ck_assert_str_eq(fake_device.path, "/srv/d.img");
	ck_assert_uint_eq(s->id, 7);
	ck_assert_uint_eq(s->queues, 2);
	ck_assert_uint_eq(s->depth, 64);
	ck_assert_uint_eq(s->cfg.block_size, 4096);
	ck_assert_uint_eq(s->cfg.size, 8192);
	ck_assert(s->cfg.read_only);
	ck_assert(fake_device_arg("buffered")->given && fake_device_arg("buffered")->flag);
	/* mem: reserve. */
	ck_assert_str_eq(result_text(request("device_add",
		"{\"backend\":\"mem\",\"size\":4096,\"reserve\":true}")),
		"{\"id\":0,\"backend\":\"mem\",\"size\":4096,\"state\":\"live\"}");
	ck_assert(fake_device_arg("reserve")->given && fake_device_arg("reserve")->flag);
	/* zip: path and entry, no size (the backend decides). */
	ck_assert_str_eq(result_text(request("device_add",
		"{\"backend\":\"zip\",\"path\":\"/a.zip\",\"entry\":\"disk.img\"}")),
		"{\"id\":1,\"backend\":\"zip\",\"size\":0,\"state\":\"live\"}");
	ck_assert_str_eq(fake_device.path, "/a.zip");
	ck_assert_str_eq(fake_device.entry, "disk.img");
	ck_assert(!fake_device_arg("chunk_size")->given);
	ck_assert_uint_eq(s->cfg.size, 0);
	/* zip's tuning: sizes as strings or numbers. */
	ck_assert_str_eq(result_text(request("device_add",
		"{\"backend\":\"zip\",\"path\":\"/a.zip\",\"chunk_size\":\"256K\","
		"\"cache_limit\":0}")),
		"{\"id\":2,\"backend\":\"zip\",\"size\":0,\"state\":\"live\"}");
	ck_assert(fake_device_arg("chunk_size")->given);
	ck_assert_uint_eq(fake_device_arg("chunk_size")->bytes, 256 * 1024);
	ck_assert(fake_device_arg("cache_limit")->given);
	ck_assert_uint_eq(fake_device_arg("cache_limit")->bytes, 0);
	ck_assert_uint_eq(s->id, DEVICE_ID_AUTO);
}
END_TEST

/* -32000: the device layer failed (driver open or the add itself). */
START_TEST(test_operation_failed)
{
	fake_device.open_err = -EACCES;
	fake_device.open_msg = "cannot open /dev/ublk-control: Permission denied";
	check_error(request("device_add", "{\"backend\":\"mem\",\"size\":4096}"), RPC_DEVICE_ERROR,
		    "EACCES", "cannot open /dev/ublk-control: Permission denied");
	ck_assert_int_eq(fake_device.add_calls, 0);
	fake_device.open_err = 0;
	fake_device.add_err = -EIO;
	fake_device.add_msg = "ADD_DEV failed: Input/output error";
	check_error(request("device_add", "{\"backend\":\"mem\",\"size\":4096}"), RPC_DEVICE_ERROR,
		    "EIO", "ADD_DEV failed: Input/output error");
	ck_assert_int_eq(fake_device.add_calls, 1);
	ck_assert_uint_eq(device_count(), 0);
	/* Deleting can fail too. */
	fake_device_create(3, "mem", 4096);
	fake_device.del_err = -ETIMEDOUT;
	fake_device.del_msg = "DEL_DEV: no answer from the kernel";
	check_error(request("device_del", "{\"id\":3}"), RPC_DEVICE_ERROR, "ETIMEDOUT",
		    "DEL_DEV: no answer from the kernel");
	ck_assert_uint_eq(fake_device.del_id, 3);
}
END_TEST

/* -32001: no device with that id. */
START_TEST(test_no_such_device)
{
	fake_device_create(1, "mem", 4096);
	check_error(request("device_info", "{\"id\":5}"), RPC_NO_SUCH_DEVICE, "ENODEV",
		    "device 5: no such device");
	check_error(request("device_del", "{\"id\":1048575}"), RPC_NO_SUCH_DEVICE, "ENODEV",
		    "device 1048575: no such device");
	ck_assert_int_eq(fake_device.del_calls, 0);
}
END_TEST

/* -32002: the id is taken, by a device or by an add in progress; or the
 * kernel says so. */
START_TEST(test_device_exists)
{
	fake_device_create(3, "mem", 4096);
	check_error(request("device_add", "{\"backend\":\"mem\",\"size\":4096,\"id\":3}"),
		    RPC_DEVICE_EXISTS, "EEXIST", "id: device 3 already exists");
	ck_assert_int_eq(fake_device.open_calls, 0);
	ck_assert_int_eq(fake_device.add_calls, 0);
	fake_device.add_defer = true;
	ck_assert_ptr_null(request("device_add", "{\"backend\":\"mem\",\"size\":4096,\"id\":4}"));
	check_error(request("device_add", "{\"backend\":\"null\",\"size\":4096,\"id\":4}"),
		    RPC_DEVICE_EXISTS, "EEXIST", "id: device 4 already exists");
	fake_device_finish_add(-EEXIST, "ADD_DEV: device 4 exists in the kernel");
	check_error(take_reply(), RPC_DEVICE_EXISTS, "EEXIST",
		    "ADD_DEV: device 4 exists in the kernel");
}
END_TEST

/* -32003: no ublk driver (device_driver_open says ENOENT). */
START_TEST(test_no_driver)
{
	fake_device.open_err = -ENOENT;
	fake_device.open_msg = "no ublk driver: /dev/ublk-control does not exist";
	check_error(request("device_add", "{\"backend\":\"mem\",\"size\":4096}"), RPC_NO_DRIVER,
		    "ENOENT", "no ublk driver: /dev/ublk-control does not exist");
	ck_assert_int_eq(fake_device.add_calls, 0);
	/* ENOENT from the add itself (a missing file) is an ordinary failure. */
	fake_device.open_err = 0;
	fake_device.add_err = -ENOENT;
	fake_device.add_msg = "/srv/x.img: No such file or directory";
	check_error(request("device_add", "{\"backend\":\"file\",\"path\":\"/srv/x.img\"}"),
		    RPC_DEVICE_ERROR, "ENOENT", "/srv/x.img: No such file or directory");
}
END_TEST

/* -32004: once the daemon is stopping, no new devices; the rest works. */
START_TEST(test_shutting_down)
{
	fake_device_create(0, "mem", 4096);
	methods_shutdown();
	check_error(request("device_add", "{\"backend\":\"mem\",\"size\":4096}"), RPC_SHUTTING_DOWN,
		    "ESHUTDOWN", "ublkd is shutting down; no new devices");
	/* Before the params are even looked at. */
	check_error(request("device_add", "{\"frob\":1}"), RPC_SHUTTING_DOWN,
		    "ESHUTDOWN", "ublkd is shutting down; no new devices");
	ck_assert_int_eq(fake_device.open_calls, 0);
	ck_assert_int_eq(fake_device.add_calls, 0);
	ck_assert_str_eq(result_text(request("device_list", NULL)),
			 "[{\"id\":0,\"backend\":\"mem\",\"size\":4096,\"state\":\"live\"}]");
	ck_assert_str_eq(result_text(request("device_del", "{\"id\":0}")), "{}");
}
END_TEST

/* daemon_shutdown: answered first, then the stop is asked for once, with
 * keep_devices as given; bad params and a second call are refused. */
START_TEST(test_daemon_shutdown)
{
	check_error(request("daemon_shutdown", "{\"keep_devices\":1}"), RPC_INVALID_PARAMS,
		    "EINVAL", "keep_devices: expected true or false");
	check_error(request("daemon_shutdown", "{\"keep\":true}"), RPC_INVALID_PARAMS,
		    "EINVAL", "keep: unknown parameter (expected keep_devices)");
	ck_assert_int_eq(stop_calls, 0);
	ck_assert_str_eq(result_text(request("daemon_shutdown", "{\"keep_devices\":true}")), "{}");
	ck_assert_int_eq(stop_calls, 1);
	ck_assert(stop_keep);
	check_error(request("daemon_shutdown", NULL), RPC_SHUTTING_DOWN, "ESHUTDOWN",
		    "ublkd is already shutting down");
	check_error(request("device_add", "{\"backend\":\"mem\",\"size\":4096}"),
		    RPC_SHUTTING_DOWN, "ESHUTDOWN", "ublkd is shutting down; no new devices");
	ck_assert_int_eq(stop_calls, 1);
	/* Without params: every device deleted. */
	methods_init(fake_stop);
	ck_assert_str_eq(result_text(request("daemon_shutdown", NULL)), "{}");
	ck_assert_int_eq(stop_calls, 2);
	ck_assert(!stop_keep);
}
END_TEST

/* -32005: the device is busy (e.g. already being deleted). */
START_TEST(test_busy)
{
	fake_device_create(2, "mem", 4096);
	fake_device.del_err = -EBUSY;
	fake_device.del_msg = "device 2 is being deleted";
	check_error(request("device_del", "{\"id\":2}"), RPC_BUSY, "EBUSY",
		    "device 2 is being deleted");
	ck_assert_uint_eq(device_count(), 1);
}
END_TEST

/* device_del answers {} once the device layer is done, not before. */
START_TEST(test_del)
{
	fake_device_create(0, "mem", 4096);
	fake_device_create(9, "null", 512);
	fake_device.del_defer = true;
	ck_assert_ptr_null(request("device_del", "{\"id\":9}"));
	ck_assert_int_eq(conn.holds, 1);
	fake_device_finish_del(0, NULL);
	ck_assert_str_eq(result_text(take_reply()), "{}");
	ck_assert_uint_eq(fake_device.del_id, 9);
	ck_assert_ptr_null(device_find(9));
	ck_assert_ptr_nonnull(device_find(0));
}
END_TEST

/* device_list and device_info: device objects from the device layer. */
START_TEST(test_list_and_info)
{
	ck_assert_str_eq(result_text(request("device_list", NULL)), "[]");
	ck_assert_str_eq(result_text(request("device_list", "{}")), "[]");
	fake_device_create(5, "zip", 1 << 20);
	fake_device_create(2, "mem", 4096);
	ck_assert_str_eq(result_text(request("device_list", NULL)),
			 "[{\"id\":2,\"backend\":\"mem\",\"size\":4096,\"state\":\"live\"},"
			 "{\"id\":5,\"backend\":\"zip\",\"size\":1048576,\"state\":\"live\"}]");
	ck_assert_str_eq(result_text(request("device_info", "{\"id\":5}")),
			 "{\"id\":5,\"backend\":\"zip\",\"size\":1048576,\"state\":\"live\"}");
}
END_TEST

/* The names daemon_info gives the 7.3 driver's features (0x1fffff): the
 * kernel's UBLK_F_* names, less the prefix (bit 0 keeps its old short name). */
static const char *const feature_names[] = {
	"ZERO_COPY", "URING_CMD_COMP_IN_TASK", "NEED_GET_DATA", "USER_RECOVERY",
	"USER_RECOVERY_REISSUE", "UNPRIVILEGED_DEV", "CMD_IOCTL_ENCODE", "USER_COPY",
	"ZONED", "USER_RECOVERY_FAIL_IO", "UPDATE_SIZE", "AUTO_BUF_REG", "QUIESCE",
	"PER_IO_DAEMON", "BUF_REG_OFF_DAEMON", "BATCH_IO", "INTEGRITY",
	"SAFE_STOP_DEV", "NO_AUTO_PART_SCAN", "SHMEM_ZC", "IO_DESC_SIZE",
};

/* Returns daemon_info's feature_names for features, serialized. */
static const char *names_for(uint64_t features)
{
	static char buf[1024];
	struct json_object *r, *res, *names;

	fake_device.loaded = true;
	fake_device.features = features;
	r = request("daemon_info", NULL);
	ck_assert(json_object_object_get_ex(r, "result", &res));
	ck_assert(json_object_object_get_ex(res, "feature_names", &names));
	snprintf(buf, sizeof(buf), "%s", json_object_to_json_string_ext(names,
		 JSON_C_TO_STRING_PLAIN));
	json_object_put(r);
	return buf;
}

/* Every feature bit 0..20 has its name, never "BITn". */
START_TEST(test_feature_names)
{
	const unsigned nbits = sizeof(feature_names) / sizeof(feature_names[0]);
	char want[64];

	ck_assert_uint_eq(nbits, 21);
	for (unsigned bit = 0; bit < nbits; bit++) {
		snprintf(want, sizeof(want), "[\"%s\"]", feature_names[bit]);
		ck_assert_str_eq(names_for(1ULL << bit), want);
		ck_assert_ptr_null(strstr(want, "BIT"));
	}
	ck_assert_ptr_nonnull(strstr(names_for(0x1fffff), "\"SHMEM_ZC\",\"IO_DESC_SIZE\"]"));
	ck_assert_ptr_null(strstr(names_for(0x1fffff), "BIT"));
	/* Bits no kernel had by 7.3 are still shown, by number. */
	ck_assert_str_eq(names_for(1ULL << 21 | 1ULL << 63), "[\"BIT21\",\"BIT63\"]");
	ck_assert_str_eq(names_for(0), "[]");
	ck_assert_str_eq(names_for(0x1fe),
			 "[\"URING_CMD_COMP_IN_TASK\",\"NEED_GET_DATA\",\"USER_RECOVERY\","
			 "\"USER_RECOVERY_REISSUE\",\"UNPRIVILEGED_DEV\",\"CMD_IOCTL_ENCODE\","
			 "\"USER_COPY\",\"ZONED\"]");
}
END_TEST

/* daemon_info's shape; it probes the driver but never fails for it. */
START_TEST(test_daemon_info)
{
	struct json_object *r, *res, *v;
	char want[256];

	fake_device_create(0, "mem", 4096);
	fake_device_create(1, "mem", 4096);
	fake_device.open_err = -ENOENT;
	fake_device.open_msg = "no ublk driver";
	fake_device.features = 0;
	r = request("daemon_info", "{}");
	ck_assert(json_object_object_get_ex(r, "result", &res));
	ck_assert_int_eq(fake_device.open_calls, 1);
	ck_assert(json_object_object_get_ex(res, "uptime", &v));
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_int_ge(json_object_get_int64(v), 0);
	ck_assert_int_le(json_object_get_int64(v), 60);
	json_object_object_del(res, "uptime");
	snprintf(want, sizeof(want), "{\"version\":\"%s\",\"protocol\":%d,\"driver_loaded\":false,"
		 "\"features\":0,\"feature_names\":[],\"devices\":2}",
		 PACKAGE_VERSION, UBLKD_PROTOCOL_VERSION);
	ck_assert_str_eq(result_text(r), want);
	fake_device.open_err = 0;
	fake_device.loaded = true;
	fake_device.features = 0x42;
	r = request("daemon_info", NULL);
	ck_assert(json_object_object_get_ex(r, "result", &res));
	json_object_object_del(res, "uptime");
	snprintf(want, sizeof(want), "{\"version\":\"%s\",\"protocol\":%d,\"driver_loaded\":true,"
		 "\"features\":66,\"feature_names\":[\"URING_CMD_COMP_IN_TASK\","
		 "\"CMD_IOCTL_ENCODE\"],\"devices\":2}", PACKAGE_VERSION, UBLKD_PROTOCOL_VERSION);
	ck_assert_str_eq(result_text(r), want);
}
END_TEST

/* A client that leaves during device_add does not stop it: the device is
 * made and the answer dropped. A notification runs and is never answered. */
START_TEST(test_add_after_disconnect)
{
	fake_device.add_defer = true;
	ck_assert_ptr_null(request("device_add", "{\"backend\":\"mem\",\"size\":4096}"));
	conn.closed = true;
	fake_device_finish_add(0, NULL);
	ck_assert_int_eq(conn.sent, 0);
	ck_assert_uint_eq(device_count(), 1);
	conn.closed = false;
	fake_device.add_defer = false;
	send_line("{\"jsonrpc\":\"2.0\",\"method\":\"device_add\",\"params\":"
		  "{\"backend\":\"mem\",\"size\":4096}}");
	send_line("{\"jsonrpc\":\"2.0\",\"method\":\"device_del\",\"params\":{\"id\":99}}");
	ck_assert_int_eq(conn.sent, 0);
	ck_assert_uint_eq(device_count(), 2);
}
END_TEST

/* The exact reply line of an error, as the README shows it. */
START_TEST(test_readme_example)
{
	char *line;

	send_line("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\",\"params\":"
		  "{\"backend\":\"mem\",\"size\":1000}}");
	line = take_line();
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32602,"
			 "\"message\":\"size: 1000 is not a multiple of the block size 512\","
			 "\"data\":{\"errno\":\"EINVAL\"}}}");
	free(line);
}
END_TEST

/* The tests, in one suite. */
static Suite *methods_suite(void)
{
	Suite *s = suite_create("methods");
	TCase *tc = tcase_create("methods");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_request_errors);
	tcase_add_test(tc, test_table);
	tcase_add_loop_test(tc, test_invalid_params, 0, sizeof(invalid) / sizeof(invalid[0]));
	tcase_add_test(tc, test_add_unknown_param);
	tcase_add_test(tc, test_add_defaults);
	tcase_add_test(tc, test_add_all_params);
	tcase_add_test(tc, test_add_recovery);
	tcase_add_test(tc, test_operation_failed);
	tcase_add_test(tc, test_no_such_device);
	tcase_add_test(tc, test_device_exists);
	tcase_add_test(tc, test_no_driver);
	tcase_add_test(tc, test_shutting_down);
	tcase_add_test(tc, test_daemon_shutdown);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_del);
	tcase_add_test(tc, test_list_and_info);
	tcase_add_test(tc, test_feature_names);
	tcase_add_test(tc, test_daemon_info);
	tcase_add_test(tc, test_add_after_disconnect);
	tcase_add_test(tc, test_readme_example);
	tcase_add_test(tc, test_user_path_refused);
#ifdef HAVE_RBD
	tcase_add_test(tc, test_user_rbd_refused);
#endif
	tcase_add_test(tc, test_user_fd);
	tcase_add_test(tc, test_user_del_and_shutdown);
	tcase_add_test(tc, test_user_quota);
	tcase_add_test(tc, test_access_rules);
	suite_add_tcase(s, tc);
	return s;
}

/* Runs the suite; fails if any test did. */
int main(void)
{
	SRunner *sr = srunner_create(methods_suite());
	int failed;

	log_init("check_methods", LOG_LEVEL_WARN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
