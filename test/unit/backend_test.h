/* Helpers for tests that drive a backend directly: setting its declared
 * parameters by name, and reading what it describes as a JSON object. */
#ifndef UBLKD_TEST_BACKEND_TEST_H
#define UBLKD_TEST_BACKEND_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "backends/backend.h"

/* The slot of b's parameter name in args (asserts it is declared). */
struct backend_arg *test_arg(const struct backend_ops *b, struct backend_arg *args,
			     const char *name);
/* Gives the text (or path) parameter name the value text; NULL: not given. */
void test_arg_text(const struct backend_ops *b, struct backend_arg *args, const char *name,
		   const char *text);
/* Gives the flag parameter name the value on. */
void test_arg_flag(const struct backend_ops *b, struct backend_arg *args, const char *name,
		   bool on);
/* Gives the byte-count parameter name the value bytes. */
void test_arg_bytes(const struct backend_ops *b, struct backend_arg *args, const char *name,
		    uint64_t bytes);
/* Asserts that len bytes at buf are all zero, naming the first that is not
 * (one check for the whole range: per-byte asserts are slow under valgrind). */
void test_assert_zero(const void *buf, size_t len);
/* Returns what b's describe reports of priv as a new JSON object. */
struct json_object *test_describe(const struct backend_ops *b, void *priv);

#endif
