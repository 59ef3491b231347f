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
	ck_assert_str_eq(err, "f: expected an integer from 0 to 10");
	ck_assert_int_eq(params_uint(p, "s", 0, 10, &v, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(params_uint(p, "big", 0, 1000, &v, err, sizeof(err)), -EINVAL);
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
	ck_assert_int_eq(params_size(p, "e", &v, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(params_size(p, "z", &v, err, sizeof(err)), 1);
	json_object_put(p);
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
