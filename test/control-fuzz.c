/* control-fuzz: runs ublkd (no ublk driver needed: device_add then ends
 * in "no ublk driver") on a private socket and feeds it a corpus of
 * malformed requests, each with the error it must get, then mutated
 * requests (seeded, bounded in number and time). Every reply line must be
 * strict JSON in strict UTF-8 (checked by the reader below, not json-c's),
 * a JSON-RPC 2.0 response, and within the size caps; the daemon's log must
 * be one line per message, with nothing forged, and limited; the daemon
 * must exit cleanly (no sanitizer report) at the end.
 *
 * Usage: test/control-fuzz [--daemon PATH] [--seed N] [--count N]
 *                          [--seconds N] [--keep]
 * Exit: 0 passed, 1 failed, 77 skipped (a ublk driver is loaded here, and
 * a mutated request might add a real device), 99 could not run. */
#include "config.h"
#include "common/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* An error reply (a code and a short message, an id of at most 128
 * bytes, escaped) is never longer than this. */
#define FUZZ_MAX_ERROR_REPLY	4096
/* Requests sent before each sync request. */
#define FUZZ_BATCH		64
/* Seconds to wait for a reply. */
#define FUZZ_REPLY_TIMEOUT	20
/* The daemon's log may not grow beyond this during the whole run. */
#define FUZZ_MAX_LOG		(4 << 20)

static struct {
	const char *daemon;
	unsigned long seed;
	long count;
	int seconds;
	bool keep;
	char dir[32], sock[96], log[96];
	pid_t pid;
	int fd;
	char *in;		/* received, not yet taken as lines */
	size_t in_len, in_cap;
	long failures, printed, replies, sent;
	unsigned long sync;
} fz = { .seed = 1, .count = 100000, .seconds = 600, .fd = -1 };

/* Reports a failure (and counts it); the run goes on. */
static void fail(const char *fmt, ...)
{
	va_list ap;

	fz.failures++;
	if (++fz.printed > 50)
		return;
	fputs("control-fuzz: FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Stops the run: the daemon cannot be driven any more. */
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("control-fuzz: ERROR: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fz.pid > 0)
		kill(fz.pid, SIGKILL);
	exit(fz.failures ? 1 : 99);
}

/* Shows at most 120 bytes of s (len bytes) escaped, for messages. */
static const char *shown(const char *s, size_t len)
{
	static char buf[4][600];
	static int slot;
	char *b = buf[slot++ % 4], *p = b;

	for (size_t i = 0; i < len && i < 120; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			*p++ = (char)c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	if (len > 120)
		p += sprintf(p, "...(%zu bytes)", len);
	*p = '\0';
	return b;
}

/* ---- A strict JSON reader of its own: RFC 8259, strict UTF-8. ---- */

struct sj {
	const unsigned char *s;
	size_t len, pos;
	int depth;
	const char *why;
};

/* Fails the reading with why; returns false. */
static bool sj_bad(struct sj *j, const char *why)
{
	if (!j->why)
		j->why = why;
	return false;
}

/* Skips whitespace. */
static void sj_ws(struct sj *j)
{
	while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
				   j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
		j->pos++;
}

/* Reads one UTF-8 character of 2 to 4 bytes at pos, strictly. */
static bool sj_utf8(struct sj *j)
{
	const unsigned char *u = j->s + j->pos;
	size_t left = j->len - j->pos, n;
	uint32_t cp;

	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2, cp = u[0] & 0x1fu;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3, cp = u[0] & 0x0fu;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4, cp = u[0] & 0x07u;
	else
		return sj_bad(j, "a byte that starts no UTF-8 character");
	if (left < n)
		return sj_bad(j, "a UTF-8 character cut short");
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return sj_bad(j, "a UTF-8 character cut short");
		cp = (cp << 6) | (u[i] & 0x3fu);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return sj_bad(j, "an overlong UTF-8 form");
	if (cp >= 0xd800 && cp <= 0xdfff)
		return sj_bad(j, "a surrogate in UTF-8");
	if (cp > 0x10ffff)
		return sj_bad(j, "a code point above U+10FFFF");
	j->pos += n;
	return true;
}

/* Reads \uXXXX at pos into *v. */
static bool sj_u4(struct sj *j, uint32_t *v)
{
	*v = 0;
	if (j->len - j->pos < 6 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u')
		return false;
	for (int i = 2; i < 6; i++) {
		int c = j->s[j->pos + i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		*v = *v << 4 | (uint32_t)d;
	}
	j->pos += 6;
	return true;
}

/* Reads a string at pos. */
static bool sj_string(struct sj *j)
{
	j->pos++;
	while (j->pos < j->len) {
		unsigned char c = j->s[j->pos];
		uint32_t u, lo;

		if (c == '"') {
			j->pos++;
			return true;
		}
		if (c < 0x20)
			return sj_bad(j, "a raw control character in a string");
		if (c >= 0x80) {
			if (!sj_utf8(j))
				return false;
			continue;
		}
		if (c != '\\') {
			j->pos++;
			continue;
		}
		if (j->pos + 1 < j->len && strchr("\"\\/bfnrt", j->s[j->pos + 1]) &&
		    j->s[j->pos + 1]) {
			j->pos += 2;
			continue;
		}
		if (!sj_u4(j, &u))
			return sj_bad(j, "a bad escape");
		if (u >= 0xdc00 && u <= 0xdfff)
			return sj_bad(j, "a lone low surrogate escape");
		if (u >= 0xd800 && u <= 0xdbff && (!sj_u4(j, &lo) || lo < 0xdc00 || lo > 0xdfff))
			return sj_bad(j, "a lone high surrogate escape");
	}
	return sj_bad(j, "an unterminated string");
}

/* Reads digits; false if there is none. */
static bool sj_digits(struct sj *j)
{
	size_t start = j->pos;

	while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
		j->pos++;
	return j->pos > start;
}

/* Reads a number at pos. */
static bool sj_number(struct sj *j)
{
	if (j->s[j->pos] == '-')
		j->pos++;
	if (j->pos < j->len && j->s[j->pos] == '0')
		j->pos++;
	else if (!sj_digits(j))
		return sj_bad(j, "a number without digits");
	if (j->pos < j->len && j->s[j->pos] == '.') {
		j->pos++;
		if (!sj_digits(j))
			return sj_bad(j, "no digits after '.'");
	}
	if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->len && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		if (!sj_digits(j))
			return sj_bad(j, "no digits in an exponent");
	}
	return true;
}

static bool sj_value(struct sj *j);

/* Reads an object or array (open is '{' or '[') at pos. */
static bool sj_container(struct sj *j, char open)
{
	char close = open == '{' ? '}' : ']';

	if (++j->depth > 64)
		return sj_bad(j, "nested too deeply");
	j->pos++;
	sj_ws(j);
	if (j->pos < j->len && j->s[j->pos] == close) {
		j->pos++;
		j->depth--;
		return true;
	}
	for (;;) {
		if (open == '{') {
			sj_ws(j);
			if (j->pos >= j->len || j->s[j->pos] != '"')
				return sj_bad(j, "a member name that is not a string");
			if (!sj_string(j))
				return false;
			sj_ws(j);
			if (j->pos >= j->len || j->s[j->pos] != ':')
				return sj_bad(j, "no ':' after a member name");
			j->pos++;
		}
		if (!sj_value(j))
			return false;
		if (j->pos < j->len && j->s[j->pos] == ',') {
			j->pos++;
			continue;
		}
		if (j->pos < j->len && j->s[j->pos] == close) {
			j->pos++;
			j->depth--;
			return true;
		}
		return sj_bad(j, "no ',' or end of an object or array");
	}
}

/* Reads one value with the whitespace around it. */
static bool sj_value(struct sj *j)
{
	static const char *const words[] = { "true", "false", "null" };
	bool ok = false;

	sj_ws(j);
	if (j->pos >= j->len)
		return sj_bad(j, "a missing value");
	if (j->s[j->pos] == '{' || j->s[j->pos] == '[')
		ok = sj_container(j, (char)j->s[j->pos]);
	else if (j->s[j->pos] == '"')
		ok = sj_string(j);
	else if (j->s[j->pos] == '-' || (j->s[j->pos] >= '0' && j->s[j->pos] <= '9'))
		ok = sj_number(j);
	else {
		for (size_t i = 0; i < 3 && !ok; i++) {
			size_t n = strlen(words[i]);

			if (j->len - j->pos >= n && !memcmp(j->s + j->pos, words[i], n)) {
				j->pos += n;
				ok = true;
			}
		}
		if (!ok)
			return sj_bad(j, "not a JSON value (NaN, Infinity, garbage?)");
	}
	if (ok)
		sj_ws(j);
	return ok;
}

/* NULL if s (len bytes) is one strict JSON text in strict UTF-8, else why
 * not. */
static const char *strict_json(const char *s, size_t len)
{
	struct sj j = { .s = (const unsigned char *)s, .len = len };

	if (!sj_value(&j))
		return j.why;
	if (j.pos != len)
		return "text after the value";
	return NULL;
}

/* True if s (len bytes) is strict UTF-8. */
static bool utf8_ok(const char *s, size_t len)
{
	struct sj j = { .s = (const unsigned char *)s, .len = len };

	while (j.pos < len) {
		if (j.s[j.pos] < 0x80)
			j.pos++;
		else if (!sj_utf8(&j))
			return false;
	}
	return true;
}

/* ---- The daemon and the connection. ---- */

/* Starts ublkd on the private socket, its log in the private directory. */
static void start_daemon(void)
{
	char state[160];
	int logfd;

	snprintf(state, sizeof(state), "%s/state", fz.dir);
	logfd = open(fz.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		die("cannot create %s: %s", fz.log, strerror(errno));
	fz.pid = fork();
	if (fz.pid < 0)
		die("fork: %s", strerror(errno));
	if (fz.pid == 0) {
		dup2(logfd, 2);
		execl(fz.daemon, fz.daemon, "--socket", fz.sock, "--state-dir", state,
		      (char *)NULL);
		fprintf(stderr, "control-fuzz: cannot run %s: %s\n", fz.daemon, strerror(errno));
		_exit(127);
	}
	close(logfd);
}

/* Connects to the daemon, waiting up to 20 s for its socket. */
static void connect_daemon(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fz.sock);
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			fz.fd = fd;
			fz.in_len = 0;
			return;
		}
		close(fd);
		if (waitpid(fz.pid, NULL, WNOHANG) == fz.pid) {
			fz.pid = 0;
			die("ublkd exited at start; see %s", fz.log);
		}
		usleep(100 * 1000);
	}
	die("ublkd did not open %s", fz.sock);
}

/* Sends all of s (len bytes). */
static void send_all(const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fz.fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("send: %s", strerror(errno));
		s += n;
		len -= (size_t)n;
	}
}

/* Sends s and a newline. */
static void send_line(const char *s, size_t len)
{
	send_all(s, len);
	send_all("\n", 1);
	fz.sent++;
}

/* Receives one reply line (malloc'd, without its newline, *len bytes);
 * NULL at EOF. Dies after FUZZ_REPLY_TIMEOUT without one. */
static char *recv_line(size_t *len)
{
	for (;;) {
		char *nl = fz.in_len ? memchr(fz.in, '\n', fz.in_len) : NULL;
		struct pollfd p = { .fd = fz.fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			char *line = malloc((size_t)(nl - fz.in) + 1);

			*len = (size_t)(nl - fz.in);
			memcpy(line, fz.in, *len);
			line[*len] = '\0';
			fz.in_len -= *len + 1;
			memmove(fz.in, nl + 1, fz.in_len);
			return line;
		}
		if (fz.in_len > 8 * (size_t)UBLKD_MAX_LINE)
			die("a reply line longer than %d bytes", 8 * UBLKD_MAX_LINE);
		if (fz.in_cap - fz.in_len < 65536) {
			fz.in_cap = fz.in_cap ? fz.in_cap * 2 : 1 << 20;
			fz.in = realloc(fz.in, fz.in_cap);
			if (!fz.in)
				die("out of memory");
		}
		if (poll(&p, 1, FUZZ_REPLY_TIMEOUT * 1000) == 0)
			die("no reply within %d s (%ld requests sent)", FUZZ_REPLY_TIMEOUT, fz.sent);
		n = recv(fz.fd, fz.in + fz.in_len, fz.in_cap - fz.in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		fz.in_len += (size_t)n;
	}
}

/* Checks one reply line: strict JSON, a JSON-RPC 2.0 response within the
 * size caps. Returns it parsed (NULL if it is not a response). */
static struct json_object *check_reply(const char *line, size_t len, const char *req,
				       size_t req_len)
{
	struct json_object *r, *v, *err, *code, *msg;
	const char *why;

	fz.replies++;
	if (len > UBLKD_MAX_LINE) {
		fail("a reply of %zu bytes (cap %d) to %s", len, UBLKD_MAX_LINE,
		     shown(req, req_len));
		return NULL;
	}
	why = strict_json(line, len);
	if (why) {
		fail("reply is not strict JSON (%s): %s; request: %s", why, shown(line, len),
		     shown(req, req_len));
		return NULL;
	}
	r = json_tokener_parse(line);
	if (!r || !json_object_is_type(r, json_type_object) ||
	    !json_object_object_get_ex(r, "jsonrpc", &v) ||
	    strcmp(json_object_get_string(v), "2.0") != 0 ||
	    !json_object_object_get_ex(r, "id", &v) ||
	    json_object_object_get_ex(r, "result", NULL) ==
	    json_object_object_get_ex(r, "error", &err)) {
		fail("not a JSON-RPC 2.0 response: %s", shown(line, len));
		json_object_put(r);
		return NULL;
	}
	if (v && !json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int))
		fail("an id that is neither a string, an integer nor null: %s", shown(line, len));
	if (json_object_object_get_ex(r, "error", &err)) {
		if (!json_object_object_get_ex(err, "code", &code) ||
		    !json_object_is_type(code, json_type_int) ||
		    !json_object_object_get_ex(err, "message", &msg) ||
		    !json_object_is_type(msg, json_type_string))
			fail("an error without an integer code and a message: %s", shown(line, len));
		if (len > FUZZ_MAX_ERROR_REPLY)
			fail("an error reply of %zu bytes (more than %d): %s", len,
			     FUZZ_MAX_ERROR_REPLY, shown(line, len));
	}
	return r;
}

/* The error code of a response (0 for a result). */
static int code_of(struct json_object *r)
{
	struct json_object *err, *code;

	if (!json_object_object_get_ex(r, "error", &err) ||
	    !json_object_object_get_ex(err, "code", &code))
		return 0;
	return json_object_get_int(code);
}

/* The error message of a response, or "". */
static const char *message_of(struct json_object *r)
{
	struct json_object *err, *msg;

	if (!json_object_object_get_ex(r, "error", &err) ||
	    !json_object_object_get_ex(err, "message", &msg))
		return "";
	return json_object_get_string(msg);
}

/* The id of a response as JSON text (static buffer). */
static const char *id_of(struct json_object *r)
{
	static char buf[512];
	struct json_object *id = NULL;

	json_object_object_get_ex(r, "id", &id);
	snprintf(buf, sizeof(buf), "%s", id ? json_object_to_json_string_ext(id,
		 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "null");
	return buf;
}

/* Sends a sync request and collects (checked) every reply up to its own,
 * at most max into out (the rest are dropped); returns how many came
 * before it. The sync request is answered last: requests are answered
 * in order unless a method answers later, and none of those sent here do
 * without a driver. */
static int sync_replies(struct json_object **out, int max, const char *req, size_t req_len)
{
	char sync[96], want[48];
	int n = 0;

	fz.sync++;
	snprintf(want, sizeof(want), "\"sync-%lu\"", fz.sync);
	snprintf(sync, sizeof(sync), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"device_list\"}",
		 want);
	send_line(sync, strlen(sync));
	for (;;) {
		size_t len;
		char *line = recv_line(&len);
		struct json_object *r;

		if (!line)
			die("the connection closed before the sync reply; request: %s",
			    shown(req, req_len));
		r = check_reply(line, len, req, req_len);
		free(line);
		if (r && !strcmp(id_of(r), want) && code_of(r) == 0) {
			json_object_put(r);
			return n;
		}
		if (n < max)
			out[n] = r;
		else
			json_object_put(r);
		n++;
	}
}

/* ---- The corpus: malformed requests and the error each must get. ---- */

#define NO_REPLY	1	/* code: no reply at all */

struct corpus_case {
	const char *name;
	char *line;		/* malloc'd */
	size_t len;
	int code;		/* 0 result, NO_REPLY, or the error code */
	const char *id;		/* the id wanted back ("null"), or NULL */
	const char *fragment;	/* in the message, or NULL */
};

static struct corpus_case corpus[64];
static int ncorpus;

/* Adds a case whose line is len bytes of line (len -1: strlen). */
static void add_case(const char *name, const char *line, long len, int code,
		     const char *id, const char *fragment)
{
	struct corpus_case *c = &corpus[ncorpus++];

	c->name = name;
	c->len = len < 0 ? strlen(line) : (size_t)len;
	c->line = malloc(c->len + 1);
	memcpy(c->line, line, c->len);
	c->line[c->len] = '\0';
	c->code = code;
	c->id = id;
	c->fragment = fragment;
}

/* A device_add request with params p (static buffer per call slot). */
static const char *add_req(const char *p)
{
	static char buf[4][1024];
	static int slot;
	char *b = buf[slot++ % 4];

	snprintf(b, sizeof(buf[0]), "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"device_add\","
		 "\"params\":%s}", p);
	return b;
}

/* Builds every case of the corpus. */
static void build_corpus(void)
{
	static const char nul_line[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_list\"}\0x";
	char *big = malloc(UBLKD_MAX_LINE + 64), *p;

	add_case("id NaN", "{\"jsonrpc\":\"2.0\",\"id\":NaN,\"method\":\"daemon_info\"}", -1,
		 -32700, "null", "not valid JSON");
	add_case("id Infinity", "{\"jsonrpc\":\"2.0\",\"id\":Infinity,\"method\":\"daemon_info\"}",
		 -1, -32700, "null", NULL);
	add_case("id -Infinity", "{\"jsonrpc\":\"2.0\",\"id\":-Infinity,\"method\":\"daemon_info\"}",
		 -1, -32700, "null", NULL);
	add_case("overlong UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":\"\xc0\xaf\",\"method\":\"daemon_info\"}",
		 -1, -32700, "null", "UTF-8");
	add_case("surrogate UTF-8", add_req("{\"backend\":\"\xed\xa0\x80\"}"), -1, -32700, "null",
		 "UTF-8");
	add_case("above U+10FFFF", add_req("{\"backend\":\"\xf4\x90\x80\x80\"}"), -1, -32700, "null",
		 NULL);
	add_case("lone surrogate escape", add_req("{\"backend\":\"\\udc00\"}"), -1, -32700, "null",
		 "surrogate");
	add_case("raw control character", add_req("{\"backend\":\"a\tb\"}"), -1, -32700, "null", NULL);
	add_case("1.", add_req("{\"backend\":\"mem\",\"size\":1.}"), -1, -32700, "null", NULL);
	add_case("NUL byte in the line", nul_line, sizeof(nul_line) - 1, -32700, "null", NULL);
	add_case("truncated", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_l", -1, -32700,
		 "null", NULL);
	add_case("trailing comma", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_list\",}", -1,
		 -32700, "null", NULL);
	add_case("two values", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_list\"}{}", -1,
		 -32700, "null", NULL);
	p = big + sprintf(big, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_list\",\"x\":");
	for (int i = 0; i < 5000; i++)
		*p++ = '[';
	for (int i = 0; i < 5000; i++)
		*p++ = ']';
	strcpy(p, "}");
	add_case("deep nesting", big, -1, -32700, "null", "deep");
	add_case("empty line", "", 0, NO_REPLY, NULL, NULL);
	add_case("blank line", " \t ", -1, NO_REPLY, NULL, NULL);
	add_case("batch", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_list\"}]", -1, -32600,
		 "null", "batch");
	add_case("empty batch", "[]", -1, -32600, "null", NULL);
	add_case("a number", "42", -1, -32600, "null", NULL);
	add_case("id 1.5", "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"device_list\"}", -1, -32600,
		 "null", "id");
	add_case("id true", "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"device_list\"}", -1,
		 -32600, "null", NULL);
	add_case("id beyond 64 bits", "{\"jsonrpc\":\"2.0\",\"id\":99999999999999999999999,"
		 "\"method\":\"device_list\"}", -1, -32600, "null", "99999999999999999999999");
	add_case("id beyond 64 bits after params beyond them", "{\"jsonrpc\":\"2.0\",\"params\":"
		 "{\"a\":1e999},\"id\":99999999999999999999999,\"method\":\"device_list\"}", -1,
		 -32600, "null", "99999999999999999999999");
	add_case("id below int64", "{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775809,"
		 "\"method\":\"device_list\"}", -1, -32600, "null", "-9223372036854775809");
	add_case("id 1e400", "{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"device_list\"}", -1,
		 -32600, "null", NULL);
	add_case("id UINT64_MAX", "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551615,"
		 "\"method\":\"device_list\"}", -1, 0, "18446744073709551615", NULL);
	add_case("id name with NUL", "{\"jsonrpc\":\"2.0\",\"id\\u0000x\":5,\"method\":\"device_list\"}",
		 -1, -32600, "null", "NUL");
	p = big + sprintf(big, "{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"id\":\"");
	while ((size_t)(p - big) < UBLKD_MAX_LINE - 16)
		p += sprintf(p, "\\u0001");
	strcpy(p, "\"}");
	add_case("id of 1 MiB of control characters", big, -1, -32600, "null", "longer than");
	add_case("duplicate keys", "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"device_list\"}",
		 -1, 0, "2", NULL);
	add_case("method 5", "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":5}", -1, -32600, "3", NULL);
	add_case("params a string", "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"device_list\","
		 "\"params\":\"x\"}", -1, -32600, "3", NULL);
	add_case("jsonrpc 1.0", "{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"device_list\"}", -1,
		 -32600, "3", NULL);
	add_case("unknown method", "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"x\\n<3>ublkd: FORGED\"}",
		 -1, -32601, "4", "FORGED");
	add_case("notification", "{\"jsonrpc\":\"2.0\",\"method\":\"device_list\"}", -1, NO_REPLY,
		 NULL, NULL);
	add_case("forged log line", add_req("{\"backend\":\"x\\n<3>ublkd: FORGED\",\"size\":4096}"),
		 -1, -32602, "7", "unknown backend");
	add_case("terminal escape", add_req("{\"backend\":\"mem\\u001b[2J\",\"size\":4096}"), -1,
		 -32602, "7", "unknown backend");
	add_case("size 1e30", add_req("{\"backend\":\"mem\",\"size\":1e30}"), -1, -32602, "7",
		 "size: 1e30 is not an integer");
	add_case("size beyond 64 bits", add_req("{\"backend\":\"mem\",\"size\":"
		 "123456789012345678901234567890}"), -1, -32602, "7",
		 "size: 123456789012345678901234567890 is out of range");
	add_case("size UINT64_MAX", add_req("{\"backend\":\"mem\",\"size\":18446744073709551615}"), -1,
		 -32602, "7", "18446744073709551615 is out of range");
	add_case("size true", add_req("{\"backend\":\"mem\",\"size\":true}"), -1, -32602, "7", "size");
	add_case("backend with NUL", add_req("{\"backend\":\"mem\\u0000junk\",\"size\":4096}"), -1,
		 -32602, "7", "backend: 'mem...' contains a NUL");
	add_case("path with NUL", add_req("{\"backend\":\"file\",\"path\":\"/x.img\\u0000junk\"}"), -1,
		 -32602, "7", "path: '/x.img...' contains a NUL");
	add_case("param name with NUL", add_req("{\"backend\":\"mem\",\"size\\u0000x\":4096}"), -1,
		 -32602, "7", "NUL");
	p = big + sprintf(big, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"device_add\","
			  "\"params\":{\"backend\":\"");
	for (int i = 0; i < 600; i++)
		p += sprintf(p, "\xe2\x82\xac");
	strcpy(p, "\",\"size\":4096}}");
	add_case("long multibyte backend name", big, -1, -32602, "7", "unknown backend");
	p = big + sprintf(big, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"device_add\","
			  "\"params\":{\"backend\":\"file\",\"path\":\"");
	for (int i = 0; i < 400; i++)
		p += sprintf(p, "\xc3\xa9/");
	strcpy(p, "\"}}");
	add_case("long relative path", big, -1, -32602, "7", "is a relative path");
	add_case("a valid add without a driver", add_req("{\"backend\":\"mem\",\"size\":4096}"), -1,
		 -32003, "7", "no ublk driver");
	add_case("no such device", "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"device_del\","
		 "\"params\":{\"id\":5}}", -1, -32001, "8", NULL);
	add_case("device_info id 1e999", "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"device_info\","
		 "\"params\":{\"id\":1e999}}", -1, -32602, "8", "id: 1e999 is out of range");
	free(big);
}

/* Runs each corpus case on the connection, checking its reply. */
static void run_corpus(void)
{
	for (int i = 0; i < ncorpus; i++) {
		struct corpus_case *c = &corpus[i];
		struct json_object *r[4] = { NULL };
		int n;

		send_line(c->line, c->len);
		n = sync_replies(r, 4, c->line, c->len);
		if (c->code == NO_REPLY) {
			if (n)
				fail("corpus \"%s\": %d replies, expected none", c->name, n);
		} else if (n != 1) {
			fail("corpus \"%s\": %d replies, expected one", c->name, n);
		} else if (r[0]) {
			if (code_of(r[0]) != c->code)
				fail("corpus \"%s\": code %d, expected %d (%s)", c->name,
				     code_of(r[0]), c->code, message_of(r[0]));
			if (c->id && strcmp(id_of(r[0]), c->id) != 0)
				fail("corpus \"%s\": id %s, expected %s", c->name,
				     shown(id_of(r[0]), strlen(id_of(r[0]))), c->id);
			if (c->fragment && !strstr(message_of(r[0]), c->fragment))
				fail("corpus \"%s\": message \"%s\" lacks \"%s\"", c->name,
				     message_of(r[0]), c->fragment);
		}
		for (int k = 0; k < n && k < 4; k++)
			json_object_put(r[k]);
	}
	printf("control-fuzz: corpus: %d cases\n", ncorpus);
}

/* A line over the limit is refused and its connection closed. */
static void run_too_long(void)
{
	size_t n = UBLKD_MAX_LINE + 10, len;
	char *line = malloc(n);
	struct json_object *r;
	char *reply;

	memset(line, ' ', n);
	line[0] = '[';
	line[n - 1] = ']';
	send_line(line, n);
	free(line);
	reply = recv_line(&len);
	if (!reply) {
		fail("no reply to a line over the limit");
	} else {
		r = check_reply(reply, len, "(a line over the limit)", 23);
		if (r && code_of(r) != -32600)
			fail("a line over the limit: code %d, expected -32600", code_of(r));
		json_object_put(r);
		free(reply);
	}
	close(fz.fd);
	connect_daemon();
}

/* ---- Mutated requests. ---- */

/* A small deterministic generator (xorshift64*), seeded from --seed. */
static uint64_t rng_state;

/* The next pseudo-random number. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* A pseudo-random number below n (n > 0). */
static size_t below(size_t n)
{
	return (size_t)(rnd() % n);
}

static const char *const seeds[] = {
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device_add\",\"params\":{\"backend\":\"mem\",\"size\":1048576}}",
	"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"device_add\",\"params\":{\"backend\":\"null\",\"size\":\"1G\",\"queues\":2,\"depth\":64,\"block_size\":4096,\"read_only\":true}}",
	"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"device_add\",\"params\":{\"backend\":\"file\",\"path\":\"/nonexistent/x.img\",\"size\":4096,\"buffered\":false}}",
	"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"device_add\",\"params\":{\"backend\":\"zip\",\"path\":\"/nonexistent/a.zip\",\"entry\":\"disk.img\",\"chunk_size\":\"1M\",\"cache_limit\":0,\"recovery\":\"none\"}}",
	"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"device_del\",\"params\":{\"id\":0}}",
	"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"device_info\",\"params\":{\"id\":1}}",
	"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"device_list\",\"params\":{}}",
	"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"daemon_info\"}",
	"{\"jsonrpc\":\"2.0\",\"method\":\"device_list\"}",
	"[{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"device_list\"}]",
};

static const char *const tokens[] = {
	"NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1.", "-0", "0.0", "1E+2",
	"99999999999999999999999", "18446744073709551615", "18446744073709551616",
	"-9223372036854775809", "9223372036854775807", "4096", "-1", "1.5",
	"\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\ud83d\\ude00\"", "\"\xc0\xaf\"",
	"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"\\n<3>ublkd: FORGED\"",
	"\"\x1b[2J\"", "\"\\u001b[2J\"", "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "true",
	"false", "{}", "[]", "\"mem\"", "\"file\"", "\"zip\"", "\"size\"", "\"id\"", "\"params\"",
	"\"method\"", "\"/x.img\\u0000junk\"", "\"mem\\u0000junk\"", "\"1G\"", "\"1Q\"",
	"\"\xe2\x82\xac\xe2\x82\xac\"", "\"device_add\"", "\"device_del\"", "\"device_info\"",
	" ", "\t", "\r", "\xff", "\x80", "\x01", "\x7f",
};

/* Writes a mutation of a seed into buf (cap bytes); returns its length. */
static size_t mutate(char *buf, size_t cap)
{
	const char *seed = seeds[below(sizeof(seeds) / sizeof(seeds[0]))];
	size_t len = strlen(seed), rounds = 1 + below(4);

	memcpy(buf, seed, len);
	for (size_t r = 0; r < rounds; r++) {
		size_t at = len ? below(len + 1) : 0, n;
		const char *t;

		switch (below(7)) {
		case 0:		/* flip a bit */
			if (len)
				buf[below(len)] ^= (char)(1 << below(8));
			break;
		case 1:		/* a random byte */
			if (len < cap - 1) {
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = (char)below(256);
				len++;
			}
			break;
		case 2:		/* delete a run */
			if (len) {
				at = below(len);
				n = 1 + below(len - at < 8 ? len - at : 8);
				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
			}
			break;
		case 3:		/* cut the line short */
			len = at;
			break;
		case 4:		/* repeat a piece */
			if (len) {
				size_t from = below(len);

				n = 1 + below(len - from);
				if (len + n < cap) {
					memmove(buf + at + n, buf + at, len - at);
					memmove(buf + at, buf + (from >= at ? from + n : from), n);
					len += n;
				}
			}
			break;
		default:	/* a token, replacing a run or not */
			t = tokens[below(sizeof(tokens) / sizeof(tokens[0]))];
			n = strlen(t);
			if (below(2) && at < len) {
				size_t drop = 1 + below(len - at < 12 ? len - at : 12);

				memmove(buf + at, buf + at + drop, len - at - drop);
				len -= drop;
			}
			if (len + n < cap) {
				memmove(buf + at + n, buf + at, len - at);
				memcpy(buf + at, t, n);
				len += n;
			}
			break;
		}
	}
	/* A newline would make two requests of one; keep them apart. */
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	return len;
}

/* True if line would stop the daemon: json-c (lenient) reads it as a
 * daemon_shutdown; the daemon reads no more than json-c does. */
static bool stops_daemon(const char *line, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = json_tokener_parse_ex(tok, line, (int)len), *m;
	bool stops = false;

	if (o && json_object_object_get_ex(o, "method", &m) &&
	    json_object_is_type(m, json_type_string) &&
	    strstr(json_object_get_string(m), "shutdown"))
		stops = true;
	json_object_put(o);
	json_tokener_free(tok);
	return stops || memmem(line, len, "shutdown", 8);
}

/* Sends fz.count mutated requests in batches, each checked, until done or
 * out of time. */
static void run_mutations(time_t deadline)
{
	static char lines[FUZZ_BATCH][4096];
	static size_t lens[FUZZ_BATCH];
	struct json_object *r[FUZZ_BATCH + 1];
	long done = 0;

	while (done < fz.count && time(NULL) < deadline) {
		int batch = 0, n;

		while (batch < FUZZ_BATCH && done + batch < fz.count) {
			lens[batch] = mutate(lines[batch], sizeof(lines[0]));
			if (stops_daemon(lines[batch], lens[batch]))
				continue;
			send_line(lines[batch], lens[batch]);
			batch++;
		}
		/* The checks name the first request of the batch. */
		n = sync_replies(r, FUZZ_BATCH + 1, lines[0], lens[0]);
		if (n > batch)
			fail("%d replies to %d requests", n, batch);
		for (int k = 0; k < n && k <= FUZZ_BATCH; k++)
			json_object_put(r[k]);
		done += batch;
	}
	printf("control-fuzz: %ld mutated requests (seed %lu)%s\n", done, fz.seed,
	       done < fz.count ? ", stopped by the time limit" : "");
}

/* Floods device_add failures: the request log stays limited. */
static void run_flood(void)
{
	const char *line = add_req("{\"backend\":\"mem\",\"size\":1000}");

	for (int b = 0; b < 20; b++) {
		for (int i = 0; i < 100; i++)
			send_line(line, strlen(line));
		if (sync_replies(NULL, 0, line, strlen(line)) != 100)
			fail("not 100 replies to 100 device_add requests");
	}
}

/* Checks the daemon's log: one line per message, the priority prefix
 * first, strict UTF-8, nothing forged, limited, and no sanitizer report. */
static void check_log(void)
{
	struct stat st;
	FILE *f = fopen(fz.log, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lines = 0;
	bool suppressed = false;

	if (!f || fstat(fileno(f), &st) < 0) {
		fail("cannot read %s", fz.log);
		return;
	}
	if (st.st_size > FUZZ_MAX_LOG)
		fail("the log grew to %lld bytes (more than %d)", (long long)st.st_size,
		     FUZZ_MAX_LOG);
	while ((n = getline(&line, &cap, f)) > 0) {
		size_t len = (size_t)n - (line[n - 1] == '\n');

		lines++;
		if (strstr(line, "Sanitizer") || strstr(line, "runtime error"))
			fail("sanitizer report in the log: %s", shown(line, len));
		else if (len < 10 || line[0] != '<' || line[1] < '0' || line[1] > '7' ||
			 strncmp(line + 2, ">ublkd: ", 8) != 0)
			fail("a log line without its prefix: %s", shown(line, len));
		if (strstr(line, "<3>ublkd: FORGED") == line)
			fail("a forged log line: %s", shown(line, len));
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
				fail("a control character in a log line: %s", shown(line, len));
		if (!utf8_ok(line, len))
			fail("a log line that is not strict UTF-8: %s", shown(line, len));
		if (strstr(line, "request lines suppressed"))
			suppressed = true;
	}
	free(line);
	fclose(f);
	if (!suppressed)
		fail("the log never says request lines were suppressed");
	printf("control-fuzz: log: %ld lines, %lld bytes\n", lines, (long long)st.st_size);
}

/* Asks the daemon to shut down and checks that it exits with status 0. */
static void stop_daemon(void)
{
	const char *line = "{\"jsonrpc\":\"2.0\",\"id\":\"bye\",\"method\":\"daemon_shutdown\"}";
	int status = 0;

	send_line(line, strlen(line));
	for (int i = 0; i < 300; i++) {
		pid_t p = waitpid(fz.pid, &status, WNOHANG);

		if (p == fz.pid) {
			fz.pid = 0;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fail("ublkd ended with status 0x%x after daemon_shutdown", status);
			return;
		}
		usleep(100 * 1000);
	}
	fail("ublkd did not exit within 30 s of daemon_shutdown");
	kill(fz.pid, SIGKILL);
	waitpid(fz.pid, NULL, 0);
	fz.pid = 0;
}

/* Reads the command line. */
static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "daemon", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "keep", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	fz.daemon = getenv("UBLKD_FUZZ_DAEMON") ? getenv("UBLKD_FUZZ_DAEMON") : "daemon/ublkd";
	if (getenv("UBLKD_FUZZ_SEED"))
		fz.seed = strtoul(getenv("UBLKD_FUZZ_SEED"), NULL, 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': fz.daemon = optarg; break;
		case 's': fz.seed = strtoul(optarg, NULL, 0); break;
		case 'n': fz.count = strtol(optarg, NULL, 0); break;
		case 't': fz.seconds = atoi(optarg); break;
		case 'k': fz.keep = true; break;
		default:
			fprintf(stderr, "usage: %s [--daemon PATH] [--seed N] [--count N] "
				"[--seconds N] [--keep]\n", argv[0]);
			exit(99);
		}
	}
}

int main(int argc, char **argv)
{
	time_t deadline, flood_end;
	char cmd[160];

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (access("/dev/ublk-control", F_OK) == 0) {
		printf("control-fuzz: SKIP: a ublk driver is loaded here; mutated requests "
		       "could add real devices\n");
		return 77;
	}
	if (access(fz.daemon, X_OK) != 0)
		die("no ublkd at %s (--daemon or UBLKD_FUZZ_DAEMON)", fz.daemon);
	signal(SIGPIPE, SIG_IGN);
	rng_state = fz.seed * 0x9e3779b97f4a7c15ULL + 1;
	snprintf(fz.dir, sizeof(fz.dir), "/tmp/ublkd-fuzz-XXXXXX");
	if (!mkdtemp(fz.dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(fz.sock, sizeof(fz.sock), "%s/ublkd.sock", fz.dir);
	snprintf(fz.log, sizeof(fz.log), "%s/ublkd.log", fz.dir);
	deadline = time(NULL) + fz.seconds;
	start_daemon();
	connect_daemon();
	build_corpus();
	run_corpus();
	run_too_long();
	flood_end = time(NULL);
	run_flood();
	run_mutations(deadline);
	/* Still serving after all of it; once the log limit's interval (10 s)
	 * is over since the flood, the next request line says how many were
	 * suppressed. */
	while (time(NULL) < flood_end + 11)
		sleep(1);
	run_corpus();
	stop_daemon();
	/* The log's problems are shown even after 50 of the replies'. */
	fz.printed = 0;
	check_log();
	printf("control-fuzz: %ld requests sent, %ld replies checked, %ld failures\n", fz.sent,
	       fz.replies, fz.failures);
	if (fz.failures || fz.keep) {
		printf("control-fuzz: the daemon's log is in %s\n", fz.log);
	} else {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fz.dir);
		if (system(cmd) != 0)
			printf("control-fuzz: cannot remove %s\n", fz.dir);
	}
	for (int i = 0; i < ncorpus; i++)
		free(corpus[i].line);
	free(fz.in);
	return fz.failures ? 1 : 0;
}
