/* Unit tests of strict UTF-8, log escaping (common/text.c), escaped log
 * lines (common/log.c) and the rate limiter (common/ratelimit.c). */
#include "config.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "common/text.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *s;
	size_t len;
	bool valid;
} utf8_cases[] = {
	{ "plain ascii", 11, true },
	{ "\xc3\xa9", 2, true },			/* U+00E9 */
	{ "\xe2\x82\xac", 3, true },			/* U+20AC */
	{ "\xf0\x9f\x98\x80", 4, true },		/* U+1F600 */
	{ "\xf4\x8f\xbf\xbf", 4, true },		/* U+10FFFF */
	{ "\xed\x9f\xbf", 3, true },			/* U+D7FF */
	{ "\xee\x80\x80", 3, true },			/* U+E000 */
	{ "a\0b", 3, true },				/* NUL is UTF-8 */
	{ "\xc0\xaf", 2, false },			/* overlong '/' */
	{ "\xc1\xbf", 2, false },			/* overlong */
	{ "\xe0\x80\xaf", 3, false },			/* overlong */
	{ "\xe0\x9f\xbf", 3, false },			/* overlong U+07FF */
	{ "\xf0\x80\x80\xaf", 4, false },		/* overlong */
	{ "\xf0\x8f\xbf\xbf", 4, false },		/* overlong U+FFFF */
	{ "\xed\xa0\x80", 3, false },			/* U+D800 */
	{ "\xed\xbf\xbf", 3, false },			/* U+DFFF */
	{ "\xf4\x90\x80\x80", 4, false },		/* U+110000 */
	{ "\xf5\x80\x80\x80", 4, false },
	{ "\xff", 1, false },
	{ "\x80", 1, false },				/* a lone continuation */
	{ "\xc3", 1, false },				/* cut short */
	{ "\xe2\x82", 2, false },
	{ "\xc3\x28", 2, false },			/* not a continuation */
};

/* Each sequence is strict UTF-8 or not, as the comment says. */
START_TEST(test_utf8_valid)
{
	ck_assert_msg(text_utf8_valid(utf8_cases[_i].s, utf8_cases[_i].len) == utf8_cases[_i].valid,
		      "case %d", _i);
}
END_TEST

/* Cutting never splits a character; repair drops a cut one and marks
 * stray bytes. */
START_TEST(test_utf8_cut_repair)
{
	const char *s = "ab\xe2\x82\xac" "cd";	/* a, b, EURO SIGN, c, d */
	char buf[32];

	ck_assert_uint_eq(text_utf8_cut(s, 7, 10), 7);
	ck_assert_uint_eq(text_utf8_cut(s, 7, 5), 5);
	ck_assert_uint_eq(text_utf8_cut(s, 7, 4), 2);
	ck_assert_uint_eq(text_utf8_cut(s, 7, 3), 2);
	ck_assert_uint_eq(text_utf8_cut(s, 7, 2), 2);
	strcpy(buf, "ab\xe2\x82");
	ck_assert_uint_eq(text_utf8_repair(buf, 4), 2);
	ck_assert_str_eq(buf, "ab");
	strcpy(buf, "a\xffz\xc0\xaf\xed\xa0\x80" "b\xc3\xa9");
	ck_assert_uint_eq(text_utf8_repair(buf, strlen(buf)), 11);
	ck_assert_str_eq(buf, "a?z?????b\xc3\xa9");
	ck_assert(text_utf8_valid(buf, strlen(buf)));
	/* A NUL is a character like any other. */
	memcpy(buf, "a\0\xff", 3);
	ck_assert_uint_eq(text_utf8_repair(buf, 3), 3);
	ck_assert_mem_eq(buf, "a\0?", 3);
}
END_TEST

/* Escaping shows every byte on one line, and never forges a prefix. */
START_TEST(test_escape)
{
	char out[64];
	const char in[] = "x\n<3>ublkd: FORGED\x1b[2J\\\t\r\x7f\xc2\x9b\xff\xc3\xa9";

	ck_assert_uint_eq(text_escape(out, sizeof(out), in, sizeof(in) - 1), sizeof(in) - 1);
	ck_assert_str_eq(out, "x\\n<3>ublkd: FORGED\\x1b[2J\\\\\\t\\r\\x7f\\xc2\\x9b\\xff\xc3\xa9");
	ck_assert_uint_eq(text_escape(out, sizeof(out), "a\0b", 3), 3);
	ck_assert_str_eq(out, "a\\x00b");
	/* Stops before an escape or a character that does not fit. */
	ck_assert_uint_eq(text_escape(out, 4, "ab\ncd", 5), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(text_escape(out, 4, "a\xe2\x82\xac", 4), 1);
	ck_assert_str_eq(out, "a");
	ck_assert_uint_eq(text_escape(out, 5, "a\xe2\x82\xac", 4), 4);
}
END_TEST

/* Runs log lines with stderr in a file and returns what was written. */
static char *log_capture(const char *what)
{
	char tmpl[] = "/tmp/ublkd-check-text-XXXXXX", *text = calloc(1, 8192);
	int fd = mkstemp(tmpl), saved = dup(2);
	char long_msg[1100];
	FILE *f;

	unlink(tmpl);
	dup2(fd, 2);
	log_init("t", LOG_LEVEL_INFO);
	log_error("backend '%s'", what);
	log_debug("not shown %s", what);
	/* 1019 bytes, then a character across the 1020-byte cut. */
	memset(long_msg, 'm', 1019);
	strcpy(long_msg + 1019, "\xe2\x82\xac" "tail");
	log_info("%s", long_msg);
	dup2(saved, 2);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	if (fread(text, 1, 8191, f) == 0)
		text[0] = '\0';
	fclose(f);
	return text;
}

/* log_msg escapes the message: one line each, the level prefix first; a
 * long message is cut at a character with "...". */
START_TEST(test_log_escaped)
{
	char *text = log_capture("x\n<3>ublkd: FORGED\x1b[0m");
	char *second;

	ck_assert(log_enabled(LOG_LEVEL_WARN));
	ck_assert(!log_enabled(LOG_LEVEL_DEBUG));
	ck_assert_msg(!strncmp(text, "<3>t: backend 'x\\n<3>ublkd: FORGED\\x1b[0m'\n", 43),
		      "got: %s", text);
	second = strchr(text, '\n') + 1;
	ck_assert_msg(!strncmp(second, "<6>t: mmm", 9), "got: %s", second);
	ck_assert_uint_eq(strlen(second), strlen("<6>t: ") + 1019 + strlen("...\n"));
	ck_assert_ptr_null(strstr(text, "not shown"));
	free(text);
}
END_TEST

/* burst events pass per interval; the first to pass afterwards carries
 * the count held back. */
START_TEST(test_ratelimit)
{
	struct ratelimit rl;
	unsigned long n = 99;

	ratelimit_init(&rl, 10.0, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert(ratelimit_pass(&rl, 100.0 + i, &n));
		ck_assert_uint_eq(n, 0);
	}
	for (int i = 0; i < 5; i++) {
		ck_assert(!ratelimit_pass(&rl, 105.0, &n));
		ck_assert_uint_eq(n, 0);
	}
	ck_assert(!ratelimit_pass(&rl, 109.9, &n));
	ck_assert(ratelimit_pass(&rl, 110.0, &n));
	ck_assert_uint_eq(n, 6);
	ck_assert(ratelimit_pass(&rl, 110.5, &n));
	ck_assert_uint_eq(n, 0);
	/* A clock that goes back starts over rather than blocking. */
	ck_assert(ratelimit_pass(&rl, 50.0, &n));
	/* burst 0 holds everything back. */
	ratelimit_init(&rl, 1.0, 0);
	ck_assert(!ratelimit_pass(&rl, 1.0, &n));
	ck_assert(!ratelimit_pass(&rl, 2.5, &n));
}
END_TEST

/* A log line's suffix: empty while nothing was held back, then the count
 * of lines held back since the last one; held-back lines leave it empty. */
START_TEST(test_ratelimit_line)
{
	struct ratelimit rl;
	char more[64] = "stale";

	ratelimit_init(&rl, 10.0, 1);
	ck_assert(ratelimit_pass_line(&rl, 1.0, more, sizeof(more)));
	ck_assert_str_eq(more, "");
	strcpy(more, "stale");
	ck_assert(!ratelimit_pass_line(&rl, 2.0, more, sizeof(more)));
	ck_assert_str_eq(more, "");
	ck_assert(!ratelimit_pass_line(&rl, 3.0, more, sizeof(more)));
	ck_assert(ratelimit_pass_line(&rl, 11.0, more, sizeof(more)));
	ck_assert_str_eq(more, " (and 2 more since the last such line)");
	ck_assert(ratelimit_pass_line(&rl, 21.0, more, sizeof(more)));
	ck_assert_str_eq(more, "");
	/* A short buffer is cut, never overrun. */
	ck_assert(!ratelimit_pass_line(&rl, 22.0, more, sizeof(more)));
	ck_assert(ratelimit_pass_line(&rl, 31.0, more, 8));
	ck_assert_str_eq(more, " (and 1");
}
END_TEST

/* The tests, in one suite. */
static Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("text");

	tcase_add_loop_test(tc, test_utf8_valid, 0, sizeof(utf8_cases) / sizeof(utf8_cases[0]));
	tcase_add_test(tc, test_utf8_cut_repair);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_log_escaped);
	tcase_add_test(tc, test_ratelimit);
	tcase_add_test(tc, test_ratelimit_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(text_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
