/* Unit tests for ublkctl's output: the device table, key: value lines, JSON. */
#include "config.h"
#include "client/output.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char device0[] =
	"{\"id\":0,\"block_device\":\"/dev/ublkb0\",\"char_device\":\"/dev/ublkc0\","
	"\"backend\":\"mem\",\"size\":1073741824,\"block_size\":4096,\"queues\":1,"
	"\"depth\":128,\"read_only\":false,\"state\":\"live\"}";
static const char device12[] =
	"{\"id\":12,\"block_device\":\"/dev/ublkb12\",\"backend\":\"null\","
	"\"size\":1610612736,\"queues\":4,\"depth\":64,\"state\":\"starting\"}";

static char *text;
static size_t text_len;
static FILE *out;

/* Opens an in-memory stream for the output under test. */
static void setup(void)
{
	text = NULL;
	out = open_memstream(&text, &text_len);
	ck_assert_ptr_nonnull(out);
}

/* Frees the stream's text. */
static void teardown(void)
{
	if (out)
		fclose(out);
	free(text);
}

/* Parses a JSON literal that a test relies on being valid. */
static struct json_object *json(const char *s)
{
	struct json_object *obj = json_tokener_parse(s);

	ck_assert_msg(obj != NULL, "test JSON does not parse: %s", s);
	return obj;
}

/* Closes the stream and returns what was written. */
static const char *written(void)
{
	fclose(out);
	out = NULL;
	return text;
}

/* An empty list prints exactly the header. */
START_TEST(test_table_empty)
{
	struct json_object *devices = json("[]");

	ck_assert_int_eq(output_table(out, devices), 0);
	ck_assert_str_eq(written(), "ID DEVICE BACKEND SIZE QUEUES DEPTH STATE\n");
	json_object_put(devices);
}
END_TEST

/* Columns are as wide as their widest cell; numbers right-aligned. */
START_TEST(test_table_rows)
{
	char src[1024];
	struct json_object *devices;

	snprintf(src, sizeof(src), "[%s,%s]", device0, device12);
	devices = json(src);
	ck_assert_int_eq(output_table(out, devices), 0);
	ck_assert_str_eq(written(),
		"ID DEVICE       BACKEND SIZE QUEUES DEPTH STATE\n"
		" 0 /dev/ublkb0  mem       1G      1   128 live\n"
		"12 /dev/ublkb12 null    1.5G      4    64 starting\n");
	json_object_put(devices);
}
END_TEST

/* Missing and null fields show as "-". */
START_TEST(test_table_missing_fields)
{
	struct json_object *devices = json("[{\"id\":3,\"size\":null,\"backend\":\"a-long-backend\"}]");

	ck_assert_int_eq(output_table(out, devices), 0);
	ck_assert_str_eq(written(),
		"ID DEVICE BACKEND        SIZE QUEUES DEPTH STATE\n"
		" 3 -      a-long-backend    -      -     - -\n");
	json_object_put(devices);
}
END_TEST

/* Odd types and negative sizes are printed as JSON. */
START_TEST(test_table_wide_size_and_odd_values)
{
	struct json_object *devices =
		json("[{\"id\":1000,\"size\":1536,\"queues\":\"many\",\"state\":\"failed\"},"
		     "{\"id\":2,\"size\":-5,\"depth\":1.5}]");

	ck_assert_int_eq(output_table(out, devices), 0);
	ck_assert_str_eq(written(),
		"  ID DEVICE BACKEND SIZE QUEUES DEPTH STATE\n"
		"1000 -      -       1.5K   many     - failed\n"
		"   2 -      -         -5      -   1.5 -\n");
	json_object_put(devices);
}
END_TEST

/* Anything but an array of objects is -EPROTO and prints nothing. */
START_TEST(test_table_not_devices)
{
	struct json_object *obj = json("{\"id\":1}");
	struct json_object *arr = json("[1,2]");

	ck_assert_int_eq(output_table(out, obj), -EPROTO);
	ck_assert_int_eq(output_table(out, arr), -EPROTO);
	ck_assert_int_eq(output_table(out, NULL), -EPROTO);
	ck_assert_str_eq(written(), "");
	json_object_put(obj);
	json_object_put(arr);
}
END_TEST

/* Every field in order, the size also human-readable, unknown ones too. */
START_TEST(test_fields_device)
{
	char src[1024];
	struct json_object *device;

	snprintf(src, sizeof(src), "%.*s,\"cache\":{\"mode\":\"wb\"},\"path\":null,\"tags\":[\"a\",\"b\"],"
		 "\"nums\":[1,2]}", (int)strlen(device0) - 1, device0);
	device = json(src);
	ck_assert_int_eq(output_fields(out, device), 0);
	ck_assert_str_eq(written(),
		"id: 0\n"
		"block_device: /dev/ublkb0\n"
		"char_device: /dev/ublkc0\n"
		"backend: mem\n"
		"size: 1073741824 (1G)\n"
		"block_size: 4096\n"
		"queues: 1\n"
		"depth: 128\n"
		"read_only: false\n"
		"state: live\n"
		"cache: {\"mode\":\"wb\"}\n"
		"path: null\n"
		"tags: a b\n"
		"nums: [1,2]\n");
	json_object_put(device);
}
END_TEST

/* daemon_info: features in hex, names joined, uptime spelled out. */
START_TEST(test_fields_status)
{
	struct json_object *info =
		json("{\"version\":\"0.1.0\",\"protocol\":1,\"driver_loaded\":true,\"features\":66,"
		     "\"feature_names\":[\"zero_copy\",\"user_copy\"],\"uptime\":93784,\"devices\":2,"
		     "\"empty\":[]}");

	ck_assert_int_eq(output_fields(out, info), 0);
	ck_assert_str_eq(written(),
		"version: 0.1.0\n"
		"protocol: 1\n"
		"driver_loaded: true\n"
		"features: 66 (0x42)\n"
		"feature_names: zero_copy user_copy\n"
		"uptime: 93784 (1d 2h 3m 4s)\n"
		"devices: 2\n"
		"empty:\n");
	json_object_put(info);
}
END_TEST

/* Values of unexpected types are shown plainly. */
START_TEST(test_fields_short_uptime_and_odd_size)
{
	struct json_object *info = json("{\"uptime\":59,\"size\":\"big\",\"features\":-1}");

	ck_assert_int_eq(output_fields(out, info), 0);
	ck_assert_str_eq(written(), "uptime: 59 (59s)\nsize: big\nfeatures: -1\n");
	json_object_put(info);
}
END_TEST

/* key: value output needs an object. */
START_TEST(test_fields_not_object)
{
	struct json_object *arr = json("[]");

	ck_assert_int_eq(output_fields(out, arr), -EPROTO);
	json_object_put(arr);
}
END_TEST

/* --json output is compact, one line, slashes unescaped. */
START_TEST(test_json)
{
	struct json_object *device = json(device0), *empty = json("[]");

	ck_assert_int_eq(output_json(out, device), 0);
	ck_assert_int_eq(output_json(out, empty), 0);
	/* One line each, compact, and slashes left alone. */
	ck_assert_str_eq(written(), "{\"id\":0,\"block_device\":\"/dev/ublkb0\",\"char_device\":"
			 "\"/dev/ublkc0\",\"backend\":\"mem\",\"size\":1073741824,\"block_size\":4096,"
			 "\"queues\":1,\"depth\":128,\"read_only\":false,\"state\":\"live\"}\n[]\n");
	json_object_put(device);
	json_object_put(empty);
}
END_TEST

/* add prints block_device, and refuses a device without it. */
START_TEST(test_device_path)
{
	struct json_object *device = json(device12), *bad = json("{\"block_device\":5}");

	ck_assert_int_eq(output_device_path(out, device), 0);
	ck_assert_int_eq(output_device_path(out, bad), -EPROTO);
	ck_assert_int_eq(output_device_path(out, NULL), -EPROTO);
	ck_assert_str_eq(written(), "/dev/ublkb12\n");
	json_object_put(device);
	json_object_put(bad);
}
END_TEST

/* Builds the suite of output tests. */
static Suite *output_suite(void)
{
	Suite *s = suite_create("client_output");
	TCase *table = tcase_create("table");
	TCase *fields = tcase_create("fields");
	TCase *other = tcase_create("json");

	tcase_add_checked_fixture(table, setup, teardown);
	tcase_add_checked_fixture(fields, setup, teardown);
	tcase_add_checked_fixture(other, setup, teardown);
	tcase_add_test(table, test_table_empty);
	tcase_add_test(table, test_table_rows);
	tcase_add_test(table, test_table_missing_fields);
	tcase_add_test(table, test_table_wide_size_and_odd_values);
	tcase_add_test(table, test_table_not_devices);
	tcase_add_test(fields, test_fields_device);
	tcase_add_test(fields, test_fields_status);
	tcase_add_test(fields, test_fields_short_uptime_and_odd_size);
	tcase_add_test(fields, test_fields_not_object);
	tcase_add_test(other, test_json);
	tcase_add_test(other, test_device_path);
	suite_add_tcase(s, table);
	suite_add_tcase(s, fields);
	suite_add_tcase(s, other);
	return s;
}

/* Runs the suite; the exit status says whether every test passed. */
int main(void)
{
	SRunner *sr = srunner_create(output_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
