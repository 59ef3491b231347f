/* Unit tests of the nbd backend's pure logic: URL and timeout checks, and
 * the reconnection back-off. */
#include "config.h"
#include "backends/nbd_url.h"

#include <check.h>
#include <errno.h>
#include <string.h>

static char err[512];

START_TEST(test_url)
{
	bool tls = true;

	ck_assert_int_eq(nbd_url_check("nbd://127.0.0.1:10809/disk", false, &tls, err, sizeof(err)), 0);
	ck_assert(!tls);
	ck_assert_int_eq(nbd_url_check("nbd://host", false, &tls, err, sizeof(err)), 0);
	ck_assert_int_eq(nbd_url_check("nbd+unix:///x?socket=/run/s", false, &tls, err, sizeof(err)), 0);
	ck_assert(!tls);
	ck_assert_int_eq(nbd_url_check("nbds://host/x", false, &tls, err, sizeof(err)), 0);
	ck_assert(tls);
	ck_assert_int_eq(nbd_url_check("nbds+unix:///?socket=/s", false, &tls, err, sizeof(err)), 0);
	ck_assert(tls);
	/* A client other than root names no socket or file through ublkd. */
	ck_assert_int_eq(nbd_url_check("nbd://host/x", true, &tls, err, sizeof(err)), 0);
	ck_assert_int_eq(nbd_url_check("nbd+unix:///x?socket=/run/s", true, &tls, err, sizeof(err)),
			 -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "other than root"));
	ck_assert_int_eq(nbd_url_check("nbds://h/x?tls-psk-file=/root/k", true, &tls, err,
				       sizeof(err)), -EPERM);
	ck_assert_int_eq(nbd_url_check(NULL, false, &tls, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "url: required"));
	ck_assert_int_eq(nbd_url_check("", false, &tls, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(nbd_url_check("http://host/x", false, &tls, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "url: 'http://host/x' is not an NBD URI"));
	ck_assert_int_eq(nbd_url_check("nbd:/host", false, &tls, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(nbd_url_check("NBD", false, &tls, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(nbd_url_check("nbd:///export", false, &tls, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "names no host"));
	ck_assert_int_eq(nbd_url_check("nbd://", false, &tls, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_timeout)
{
	double t = 0;

	ck_assert_int_eq(nbd_timeout_parse(NULL, &t, err, sizeof(err)), 0);
	ck_assert(t == 30.0);
	ck_assert_int_eq(nbd_timeout_parse("5", &t, err, sizeof(err)), 0);
	ck_assert(t == 5.0);
	ck_assert_int_eq(nbd_timeout_parse("2.5s", &t, err, sizeof(err)), 0);
	ck_assert(t == 2.5);
	ck_assert_int_eq(nbd_timeout_parse("0", &t, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "timeout: '0' is not a number of seconds from more than 0 to 86400");
	ck_assert_int_eq(nbd_timeout_parse("-1", &t, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(nbd_timeout_parse("ten", &t, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(nbd_timeout_parse("5m", &t, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(nbd_timeout_parse("", &t, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(nbd_timeout_parse("nan", &t, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(nbd_timeout_parse("100000", &t, err, sizeof(err)), -EINVAL);
	ck_assert(t == 2.5);	/* untouched by failures */
}
END_TEST

START_TEST(test_backoff)
{
	ck_assert(nbd_backoff(0) == 0.25);
	ck_assert(nbd_backoff(1) == 0.5);
	ck_assert(nbd_backoff(2) == 1.0);
	ck_assert(nbd_backoff(3) == 2.0);
	ck_assert(nbd_backoff(4) == 4.0);
	ck_assert(nbd_backoff(5) == 4.0);
	ck_assert(nbd_backoff(4000000000U) == 4.0);
	ck_assert(nbd_tick(30) == 1.0);
	ck_assert(nbd_tick(2) == 0.5);
	ck_assert(nbd_tick(0.2) == 0.1);
}
END_TEST

/* Builds the suite. */
static Suite *nbd_url_suite(void)
{
	Suite *s = suite_create("nbd_url");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_url);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nbd_url_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
