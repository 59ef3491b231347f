/* Unit tests for common/size.c: parsing and formatting byte sizes. */
#include "config.h"
#include "common/size.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Parses s, expecting ret and (on success) value. */
static void check_parse(const char *s, int ret, uint64_t value)
{
	uint64_t out = 0xdeadbeef;

	ck_assert_msg(size_parse(s, &out) == ret, "size_parse(\"%s\") != %d", s ? s : "(null)", ret);
	if (ret == 0)
		ck_assert_msg(out == value, "size_parse(\"%s\") gave %llu, not %llu", s,
			      (unsigned long long)out, (unsigned long long)value);
	else
		ck_assert_msg(out == 0xdeadbeef, "size_parse(\"%s\") wrote a value on failure", s);
}

/* Formats bytes, expecting text. */
static void check_format(uint64_t bytes, const char *text)
{
	char buf[SIZE_FORMAT_MAX];

	size_format(bytes, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, text) == 0, "size_format(%llu) gave \"%s\", not \"%s\"",
		      (unsigned long long)bytes, buf, text);
}

/* Plain byte counts, leading zeros and the largest 64-bit value. */
START_TEST(test_parse_plain)
{
	check_parse("0", 0, 0);
	check_parse("1", 0, 1);
	check_parse("4096", 0, 4096);
	check_parse("007", 0, 7);
	check_parse("18446744073709551615", 0, UINT64_MAX);
}
END_TEST

/* Every suffix in either case is a power of 1024. */
START_TEST(test_parse_suffixes)
{
	check_parse("512B", 0, 512);
	check_parse("1K", 0, 1024);
	check_parse("1k", 0, 1024);
	check_parse("4KiB", 0, 4096);
	check_parse("4kib", 0, 4096);
	check_parse("2M", 0, UINT64_C(2) << 20);
	check_parse("2m", 0, UINT64_C(2) << 20);
	check_parse("256MiB", 0, UINT64_C(256) << 20);
	check_parse("1G", 0, UINT64_C(1) << 30);
	check_parse("3g", 0, UINT64_C(3) << 30);
	check_parse("1GiB", 0, UINT64_C(1) << 30);
	check_parse("1T", 0, UINT64_C(1) << 40);
	check_parse("5t", 0, UINT64_C(5) << 40);
	check_parse("1TiB", 0, UINT64_C(1) << 40);
	check_parse("0G", 0, 0);
}
END_TEST

/* Signs, blanks, fractions, unknown suffixes and junk are -EINVAL. */
START_TEST(test_parse_junk)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "\t1", "1.5G", "1,5G", "1KB", "1Ki", "1KiBB",
		"1 K", "G", "K1", "0x10", "1e3", "1P", "1E", "abc", "1G\n", "--1",
		"99999999999999999999999x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_parse(bad[i], -EINVAL, 0);
	check_parse(NULL, -EINVAL, 0);
}
END_TEST

/* Values past 2^64 - 1, before or after the suffix, are -ERANGE. */
START_TEST(test_parse_overflow)
{
	check_parse("18446744073709551616", -ERANGE, 0);
	check_parse("99999999999999999999999", -ERANGE, 0);
	check_parse("18014398509481984K", -ERANGE, 0);	/* 2^54 K = 2^64 */
	check_parse("18014398509481983K", 0, UINT64_C(18014398509481983) << 10);
	check_parse("17179869184G", -ERANGE, 0);	/* 2^34 G */
	check_parse("16777216T", -ERANGE, 0);		/* 2^24 T */
	check_parse("16777215T", 0, UINT64_C(16777215) << 40);
	check_parse("99999999999999999999T", -ERANGE, 0);
}
END_TEST

/* Below 1K the size is shown in bytes with a B. */
START_TEST(test_format_bytes)
{
	check_format(0, "0B");
	check_format(1, "1B");
	check_format(512, "512B");
	check_format(1023, "1023B");
}
END_TEST

/* Exact multiples show no decimal, up to 16E. */
START_TEST(test_format_units)
{
	check_format(1024, "1K");
	check_format(1536, "1.5K");
	check_format(4096, "4K");
	check_format(UINT64_C(256) << 20, "256M");
	check_format(UINT64_C(3) << 29, "1.5G");
	check_format(UINT64_C(1) << 30, "1G");
	check_format(UINT64_C(1) << 40, "1T");
	check_format(UINT64_C(1) << 50, "1P");
	check_format(UINT64_C(1) << 60, "1E");
	check_format(UINT64_MAX, "16E");
}
END_TEST

/* One decimal, rounded half up; 1024 of a unit becomes the next unit. */
START_TEST(test_format_rounding)
{
	/* 1.05G and a byte less: the tenth rounds half up. */
	check_format((UINT64_C(1) << 30) + 53687092, "1.1G");
	check_format((UINT64_C(1) << 30) + 53687091, "1G");
	check_format((UINT64_C(1) << 30) + 1, "1G");
	check_format(1048524, "1023.9K");
	/* 1023.99K rounds to 1024K, shown as 1M. */
	check_format(1048575, "1M");
	check_format((UINT64_C(1) << 40) - 1, "1T");
	/* 2.25K is a tie: up to 2.3K; 2.75K to 2.8K. */
	check_format(2304, "2.3K");
	check_format(2816, "2.8K");
	check_format((UINT64_C(15) << 60) + (UINT64_C(1) << 59), "15.5E");
}
END_TEST

/* What size_format prints for exact sizes, size_parse reads back. */
START_TEST(test_format_roundtrip)
{
	static const char *const texts[] = { "0B", "512B", "4K", "256M", "1G", "7T" };
	char buf[SIZE_FORMAT_MAX];
	uint64_t v;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		ck_assert_int_eq(size_parse(texts[i], &v), 0);
		size_format(v, buf, sizeof(buf));
		ck_assert_str_eq(buf, texts[i]);
	}
}
END_TEST

/* A short buffer truncates rather than overflows. */
START_TEST(test_format_truncates)
{
	char buf[3] = "xx";

	size_format(UINT64_C(3) << 29, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.");
}
END_TEST

/* Builds the suite of size tests. */
static Suite *size_suite(void)
{
	Suite *s = suite_create("size");
	TCase *parse = tcase_create("parse");
	TCase *format = tcase_create("format");

	tcase_add_test(parse, test_parse_plain);
	tcase_add_test(parse, test_parse_suffixes);
	tcase_add_test(parse, test_parse_junk);
	tcase_add_test(parse, test_parse_overflow);
	tcase_add_test(format, test_format_bytes);
	tcase_add_test(format, test_format_units);
	tcase_add_test(format, test_format_rounding);
	tcase_add_test(format, test_format_roundtrip);
	tcase_add_test(format, test_format_truncates);
	suite_add_tcase(s, parse);
	suite_add_tcase(s, format);
	return s;
}

/* Runs the suite; the exit status says whether every test passed. */
int main(void)
{
	SRunner *sr = srunner_create(size_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
