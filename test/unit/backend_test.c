/* Helpers for tests that drive a backend directly. */
#include "config.h"
#include "test/unit/backend_test.h"

#include <check.h>
#include <string.h>

/* The slot of b's parameter name in args (asserts it is declared). */
struct backend_arg *test_arg(const struct backend_ops *b, struct backend_arg *args,
			     const char *name)
{
	for (size_t i = 0; b->params && b->params[i].name; i++)
		if (strcmp(b->params[i].name, name) == 0)
			return &args[i];
	ck_abort_msg("the %s backend declares no parameter %s", b->name, name);
	return NULL;
}

/* Gives the text (or path) parameter name the value text; NULL: not given. */
void test_arg_text(const struct backend_ops *b, struct backend_arg *args, const char *name,
		   const char *text)
{
	struct backend_arg *a = test_arg(b, args, name);

	a->given = text != NULL;
	a->text = text;
}

/* Gives the flag parameter name the value on. */
void test_arg_flag(const struct backend_ops *b, struct backend_arg *args, const char *name,
		   bool on)
{
	struct backend_arg *a = test_arg(b, args, name);

	a->given = true;
	a->flag = on;
}

/* Gives the byte-count parameter name the value bytes. */
void test_arg_bytes(const struct backend_ops *b, struct backend_arg *args, const char *name,
		    uint64_t bytes)
{
	struct backend_arg *a = test_arg(b, args, name);

	a->given = true;
	a->bytes = bytes;
}

/* The JSON sink of describe. */
struct test_report {
	struct backend_report ops;
	struct json_object *obj;
};

/* Adds a text field. */
static void test_report_text(struct backend_report *r, const char *key, const char *value)
{
	json_object_object_add(((struct test_report *)r)->obj, key, json_object_new_string(value));
}

/* Adds a number field. */
static void test_report_number(struct backend_report *r, const char *key, uint64_t value)
{
	json_object_object_add(((struct test_report *)r)->obj, key,
			       json_object_new_int64((int64_t)value));
}

/* Adds a boolean field. */
static void test_report_flag(struct backend_report *r, const char *key, bool value)
{
	json_object_object_add(((struct test_report *)r)->obj, key, json_object_new_boolean(value));
}

/* Adds a real number field. */
static void test_report_real(struct backend_report *r, const char *key, double value)
{
	json_object_object_add(((struct test_report *)r)->obj, key, json_object_new_double(value));
}

/* Returns what b's describe reports of priv as a new JSON object. */
struct json_object *test_describe(const struct backend_ops *b, void *priv)
{
	struct test_report r = {
		.ops = { test_report_text, test_report_number, test_report_flag, test_report_real },
		.obj = json_object_new_object(),
	};

	ck_assert_ptr_nonnull(b->describe);
	b->describe(priv, &r.ops);
	return r.obj;
}

/* Asserts that len bytes at buf are all zero, naming the first that is not. */
void test_assert_zero(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i = 0;

	while (i < len && b[i] == 0)
		i++;
	ck_assert_msg(i == len, "byte %zu of %zu is 0x%02x, not zero", i, len, i < len ? b[i] : 0);
}
