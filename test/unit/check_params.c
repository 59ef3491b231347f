/* Unit tests of reading JSON-RPC params. */
#include "config.h"
#include "daemon/params.h"

#include <check.h>
#include <errno.h>
#include <string.h>

static char err[512];

START_TEST(test_keys)
{
	static const char *const keys[] = { "a", "b", NULL };
	struct json_object *p = json_tokener_parse("{\"a\":1,\"c\":2}");

	ck_assert_int_eq(params_check_keys(NULL, keys, err, sizeof(err)), 0);
	ck_assert_int_eq(params_check_keys(p, keys, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "c: unknown parameter (expected a, b)");
	json_object_put(p);
	p = json_tokener_parse("[1]");
	ck_assert_int_eq(params_check_keys(p, keys, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "object"));
	json_object_put(p);
}
END_TEST

START_TEST(test_uint)
{
	struct json_object *p = json_tokener_parse(
		"{\"n\":5,\"neg\":-1,\"f\":1.5,\"s\":\"5\",\"big\":18446744073709551615}");
	uint64_t v = 0;

	ck_assert_int_eq(params_uint(p, "n", 1, 10, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 5);
	ck_assert_int_eq(params_uint(p, "absent", 1, 10, &v, err, sizeof(err)), 1);
	ck_assert_int_eq(params_uint(p, "n", 6, 10, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "n: 5 is out of range (expected 6 to 10)");
	ck_assert_int_eq(params_uint(p, "neg", 0, 10, &v, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(params_uint(p, "f", 0, 10, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "f: 1.5 is not an integer (expected an integer from 0 to 10)");
	ck_assert_int_eq(params_uint(p, "s", 0, 10, &v, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(params_uint(p, "big", 0, 1000, &v, err, sizeof(err)), -EINVAL);
	/* A uint64 beyond INT64_MAX is quoted as sent, not clamped. */
	ck_assert_str_eq(err, "big: 18446744073709551615 is out of range (expected 0 to 1000)");
	ck_assert_int_eq(params_uint(p, "big", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(params_uint(p, "neg", 0, UINT64_MAX, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "neg: -1 is out of range (expected 0 to 18446744073709551615)");
	json_object_put(p);
}
END_TEST

START_TEST(test_bool_string)
{
	struct json_object *p = json_tokener_parse("{\"b\":true,\"i\":1,\"s\":\"x\",\"e\":\"\"}");
	const char *s = NULL;
	bool b = false;

	ck_assert_int_eq(params_bool(p, "b", &b, err, sizeof(err)), 0);
	ck_assert(b);
	ck_assert_int_eq(params_bool(p, "i", &b, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(params_bool(p, "none", &b, err, sizeof(err)), 1);
	ck_assert_int_eq(params_string(p, "s", &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s, "x");
	ck_assert_int_eq(params_string(p, "e", &s, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(params_string(p, "b", &s, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(params_string(NULL, "s", &s, err, sizeof(err)), 1);
	json_object_put(p);
}
END_TEST

START_TEST(test_size)
{
	struct json_object *p = json_tokener_parse(
		"{\"a\":4096,\"b\":\"1G\",\"c\":\"big\",\"d\":1.5,\"e\":-1}");
	uint64_t v = 0;

	ck_assert_int_eq(params_size(p, "a", &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(params_size(p, "b", &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 1ULL << 30);
	ck_assert_int_eq(params_size(p, "c", &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "c: 'big' is not a size (expected bytes, or a number with K, M, G or T)");
	ck_assert_int_eq(params_size(p, "d", &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "d: 1.5 is not an integer (expected a number of bytes or a "
			 "string like \"1G\")");
	ck_assert_int_eq(params_size(p, "e", &v, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(params_size(p, "z", &v, err, sizeof(err)), 1);
	json_object_put(p);
}
END_TEST

/* Strings with a NUL are refused whole, not read up to the NUL; numbers
 * are quoted as sent, and long strings cut at a character. */
START_TEST(test_nul_and_quotes)
{
	struct json_object *p = json_tokener_parse(
		"{\"s\":\"mem\\u0000junk\",\"z\":\"1G\\u0000x\",\"d\":1e30,"
		"\"x\":1.000000000000000000000000000000000000000000000000000000000000000000001}");
	char long_name[200];
	const char *s = NULL;
	uint64_t v = 0;

	ck_assert_int_eq(params_string(p, "s", &s, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "s: 'mem...' contains a NUL character (\\u0000); expected a "
			 "string without one");
	ck_assert_int_eq(params_size(p, "z", &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "z: '1G...' contains a NUL character (\\u0000); expected a "
			 "string without one");
	ck_assert_int_eq(params_size(p, "d", &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "d: 1e30 is not an integer (expected a number of bytes or a "
			 "string like \"1G\")");
	ck_assert_int_eq(params_uint(p, "x", 0, 9, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "x: 1.00000000000000000000000000000000000000000000000000000000000000"
			 "... is not an integer (expected an integer from 0 to 9)");
	json_object_put(p);
	/* 63 bytes, then a 2-byte character across the 64-byte limit. */
	memset(long_name, 'a', 63);
	strcpy(long_name + 63, "\xc3\xa9tail");
	ck_assert_int_eq(params_quote_len(long_name), 63);
	ck_assert_str_eq(params_quote_more(long_name), "...");
	ck_assert_int_eq(params_quote_len("short"), 5);
	ck_assert_str_eq(params_quote_more("short"), "");
}
END_TEST

/* Builds the suite. */
static Suite *params_suite(void)
{
	Suite *s = suite_create("params");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_uint);
	tcase_add_test(tc, test_bool_string);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_nul_and_quotes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(params_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
