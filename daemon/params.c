/* Reading JSON-RPC params with checks that name what was wrong. */
#include "config.h"
#include "daemon/params.h"
#include "common/size.h"
#include "common/text.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* How many bytes of a client's string s a message quotes ("%.*s"). */
int params_quote_len(const char *s)
{
	return (int)text_utf8_cut(s, strlen(s), PARAMS_QUOTE);
}

/* "..." when s is longer than what params_quote_len quotes, else "". */
const char *params_quote_more(const char *s)
{
	return strlen(s) > (size_t)params_quote_len(s) ? "..." : "";
}

/* The JSON text of a number v as the client wrote it, for "%.*s%s". */
static const char *params_number_text(struct json_object *v)
{
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* Returns the member key of params, or NULL when params or the key is absent. */
static struct json_object *params_member(struct json_object *params, const char *key)
{
	struct json_object *v = NULL;

	if (!params || !json_object_is_type(params, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(params, key, &v))
		return NULL;
	return v;
}

/* Returns -EINVAL with a message unless params is an object with allowed keys only. */
int params_check_keys(struct json_object *params, const char *const *allowed,
		      char *err, size_t errlen)
{
	return params_check_keys_for(params, allowed, NULL, err, errlen);
}

/* The same, saying whose parameters they are in the message. */
int params_check_keys_for(struct json_object *params, const char *const *allowed,
			  const char *whose, char *err, size_t errlen)
{
	if (!params)
		return 0;
	if (!json_object_is_type(params, json_type_object)) {
		snprintf(err, errlen, "params: expected an object of named parameters");
		return -EINVAL;
	}
	json_object_object_foreach(params, key, val) {
		bool ok = false;

		(void)val;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = true;
		if (!ok) {
			size_t n = (size_t)snprintf(err, errlen, "%.*s%s: unknown parameter%s%s (expected",
						    params_quote_len(key), key, params_quote_more(key),
						    whose ? " for " : "", whose ? whose : "");

			for (const char *const *a = allowed; *a && n < errlen; a++)
				n += (size_t)snprintf(err + n, errlen - n, "%s %s",
						      a == allowed ? "" : ",", *a);
			if (n < errlen)
				snprintf(err + n, errlen - n, ")");
			return -EINVAL;
		}
	}
	return 0;
}

/* Reads an integer in [min, max]: 0 found, 1 absent, -EINVAL wrong. */
int params_uint(struct json_object *params, const char *key, uint64_t min,
		uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	struct json_object *v = params_member(params, key);
	int64_t i;
	uint64_t u;

	if (!v)
		return 1;
	if (json_object_is_type(v, json_type_double)) {
		const char *text = params_number_text(v);

		snprintf(err, errlen, "%s: %.*s%s is not an integer (expected an integer from %"
			 PRIu64 " to %" PRIu64 ")", key, params_quote_len(text), text,
			 params_quote_more(text), min, max);
		return -EINVAL;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s: expected an integer from %" PRIu64 " to %" PRIu64,
			 key, min, max);
		return -EINVAL;
	}
	/* Beyond INT64_MAX json-c keeps a uint64 (get_int64 would clamp it,
	 * get_uint64 makes a negative 0); json_strict refused whatever lies
	 * beyond 64 bits. */
	i = json_object_get_int64(v);
	u = json_object_get_uint64(v);
	if (i < 0 || u < min || u > max) {
		snprintf(err, errlen, "%s: %s is out of range (expected %" PRIu64 " to %" PRIu64 ")",
			 key, json_object_to_json_string(v), min, max);
		return -EINVAL;
	}
	*out = u;
	return 0;
}

/* Returns -EINVAL with a message if the string v holds a NUL character
 * (json-c keeps it; C would read the string up to it), else 0. */
static int params_no_nul(struct json_object *v, const char *key, char *err, size_t errlen)
{
	const char *s = json_object_get_string(v);

	if (strlen(s) == (size_t)json_object_get_string_len(v))
		return 0;
	snprintf(err, errlen, "%s: '%.*s%s...' contains a NUL character (\\u0000); expected "
		 "a string without one", key, params_quote_len(s), s, params_quote_more(s));
	return -EINVAL;
}

/* Reads a size: an integer of bytes or a string like "1G": 0, 1 absent, -EINVAL. */
int params_size(struct json_object *params, const char *key, uint64_t *out,
		char *err, size_t errlen)
{
	struct json_object *v = params_member(params, key);

	if (v && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if (params_no_nul(v, key, err, errlen) < 0)
			return -EINVAL;
		if (size_parse(s, out) < 0 || *out > INT64_MAX) {
			snprintf(err, errlen, "%s: '%.*s%s' is not a size (expected bytes, or a "
				 "number with K, M, G or T)", key, params_quote_len(s), s,
				 params_quote_more(s));
			return -EINVAL;
		}
		return 0;
	}
	if (v && json_object_is_type(v, json_type_double)) {
		const char *text = params_number_text(v);

		snprintf(err, errlen, "%s: %.*s%s is not an integer (expected a number of bytes "
			 "or a string like \"1G\")", key, params_quote_len(text), text,
			 params_quote_more(text));
		return -EINVAL;
	}
	if (v && !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "%s: expected a number of bytes or a string like \"1G\"", key);
		return -EINVAL;
	}
	return params_uint(params, key, 0, INT64_MAX, out, err, errlen);
}

/* Reads a boolean: 0 found, 1 absent, -EINVAL wrong type. */
int params_bool(struct json_object *params, const char *key, bool *out,
		char *err, size_t errlen)
{
	struct json_object *v = params_member(params, key);

	if (!v)
		return 1;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "%s: expected true or false", key);
		return -EINVAL;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

/* Reads a non-empty string (borrowed): 0 found, 1 absent, -EINVAL wrong. */
int params_string(struct json_object *params, const char *key, const char **out,
		  char *err, size_t errlen)
{
	struct json_object *v = params_member(params, key);

	if (!v)
		return 1;
	if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v)) {
		snprintf(err, errlen, "%s: expected a non-empty string", key);
		return -EINVAL;
	}
	if (params_no_nul(v, key, err, errlen) < 0)
		return -EINVAL;
	*out = json_object_get_string(v);
	return 0;
}

/* Reads the value of one declared parameter p into a: 0 found, 1 absent,
 * -EINVAL wrong. */
static int params_declared_one(struct json_object *params, const struct backend_param *p,
			       struct backend_arg *a, char *err, size_t errlen)
{
	switch (p->type) {
	case BACKEND_PARAM_FLAG:
		return params_bool(params, p->name, &a->flag, err, errlen);
	case BACKEND_PARAM_TEXT:
	case BACKEND_PARAM_PATH:
		return params_string(params, p->name, &a->text, err, errlen);
	case BACKEND_PARAM_BYTES:
	case BACKEND_PARAM_SIZE:
		return params_size(params, p->name, &a->bytes, err, errlen);
	}
	return -EINVAL;
}

/* Checks a found value against what p allows beyond its type. */
static int params_declared_check(const struct backend_param *p, const struct backend_arg *a,
				 uint32_t block_size, char *err, size_t errlen)
{
	if (p->type == BACKEND_PARAM_BYTES && (a->bytes < p->min || a->bytes > p->max)) {
		snprintf(err, errlen, "%s: %" PRIu64 " is out of range (expected a byte count "
			 "from %" PRIu64 " to %" PRIu64 ")", p->name, a->bytes, p->min, p->max);
		return -EINVAL;
	}
	if (p->type == BACKEND_PARAM_SIZE && a->bytes == 0) {
		snprintf(err, errlen, "%s: must be greater than 0", p->name);
		return -EINVAL;
	}
	if (p->type == BACKEND_PARAM_SIZE && a->bytes % block_size) {
		snprintf(err, errlen, "%s: %" PRIu64 " is not a multiple of the block size %u",
			 p->name, a->bytes, block_size);
		return -EINVAL;
	}
	if (p->type == BACKEND_PARAM_PATH && a->text[0] != '/') {
		snprintf(err, errlen, "%s: %.*s%s is a relative path; give an absolute one "
			 "(ublkd's working directory is not yours)", p->name,
			 params_quote_len(a->text), a->text, params_quote_more(a->text));
		return -EINVAL;
	}
	if (p->type == BACKEND_PARAM_PATH && strlen(a->text) >= PATH_MAX) {
		snprintf(err, errlen, "%s: %.*s... is longer than a path may be (%d bytes)",
			 p->name, params_quote_len(a->text), a->text, PATH_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

/* Reads the parameters declared by the table decl (whose: "the zip
 * backend") into args, one per row, and the SIZE one into *size. */
int params_declared(struct json_object *params, const struct backend_param *decl,
		    const char *whose, uint32_t block_size, bool path_passed,
		    struct backend_arg *args, uint64_t *size, char *err, size_t errlen)
{
	for (size_t i = 0; decl && decl[i].name; i++) {
		int ret;

		if (i >= BACKEND_MAX_PARAMS) {
			snprintf(err, errlen, "%s declares more than %d parameters", whose,
				 BACKEND_MAX_PARAMS);
			return -EINVAL;
		}
		memset(&args[i], 0, sizeof(args[i]));
		ret = params_declared_one(params, &decl[i], &args[i], err, errlen);
		if (ret < 0)
			return ret;
		args[i].fd = -1;
		if (ret == 1 && decl[i].required &&
		    !(path_passed && decl[i].type == BACKEND_PARAM_PATH)) {
			snprintf(err, errlen, "%s: required for %s (%s)", decl[i].name, whose,
				 decl[i].help);
			return -EINVAL;
		}
		if (ret == 1)
			continue;
		args[i].given = true;
		ret = params_declared_check(&decl[i], &args[i], block_size, err, errlen);
		if (ret < 0)
			return ret;
		if (decl[i].type == BACKEND_PARAM_SIZE)
			*size = args[i].bytes;
	}
	return 0;
}
