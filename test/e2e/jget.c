/* jget: prints fields of one JSON document, as `jq -r FILTER` would, for
 * the e2e tests. jq 1.6 compiles its builtins at every start: 0.5-0.7 s in
 * the emulated test guest, where this takes a few milliseconds.
 *
 * Usage: jget FILTER... [< JSON]   or   jget -f FILE FILTER...
 *
 * A FILTER is a path, `.` or `.key`, `.[N]` and `.key.key[N]...`, with an
 * optional `|length` after it. Each FILTER prints one line: a string
 * raw, anything else as compact JSON (null for a missing key or index).
 * Empty input prints nothing (as jq does). Exit status: 0; 2 on bad usage
 * or input that is not JSON; 5 when a path steps into a value that has no
 * such key or index (a string's key, say), as jq exits then. */
#include <errno.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads all of stream f into a NUL-terminated buffer; NULL when out of memory. */
static char *read_all(FILE *f)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nbuf;
	size_t n;

	if (!buf)
		return NULL;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				free(buf);
				return NULL;
			}
			buf = nbuf;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	return buf;
}

/* True when s holds only white space. */
static int blank(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/* Steps from *v along path p (after its leading dot); 0, or 5 with a
 * message when a step does not apply to the value it meets. */
static int walk(const char *filter, const char *p, struct json_object **v)
{
	char key[256];
	size_t n;
	char *end;
	long idx;

	while (*p) {
		if (*p == '[') {
			errno = 0;
			idx = strtol(p + 1, &end, 10);
			if (end == p + 1 || *end != ']' || errno || idx < 0) {
				fprintf(stderr, "jget: bad index in '%s'\n", filter);
				return 2;
			}
			p = end + 1;
			if (*v && !json_object_is_type(*v, json_type_array)) {
				fprintf(stderr, "jget: '%s': cannot index %s with a number\n", filter,
					json_type_to_name(json_object_get_type(*v)));
				return 5;
			}
			if (*v)
				*v = (size_t)idx < json_object_array_length(*v) ? json_object_array_get_idx(*v, idx) : NULL;
			if (*p == '.')
				p++;
			continue;
		}
		n = strcspn(p, ".[");
		if (n == 0 || n >= sizeof(key)) {
			fprintf(stderr, "jget: bad path '%s'\n", filter);
			return 2;
		}
		memcpy(key, p, n);
		key[n] = '\0';
		p += n;
		if (*p == '.')
			p++;
		if (*v && !json_object_is_type(*v, json_type_object)) {
			fprintf(stderr, "jget: '%s': cannot index %s with \"%s\"\n", filter,
				json_type_to_name(json_object_get_type(*v)), key);
			return 5;
		}
		if (*v && !json_object_object_get_ex(*v, key, v))
			*v = NULL;
	}
	return 0;
}

/* Writes double d as jq prints a number: an integral value without a
 * fraction (20.0 is 20), else the shortest text that reads back as d. */
static int jq_number(struct json_object *jso, struct printbuf *pb, int level, int flags)
{
	double d = json_object_get_double(jso);
	char buf[64];
	int prec;

	(void)level;
	(void)flags;
	if (d == floor(d) && fabs(d) < 1e17) {
		snprintf(buf, sizeof(buf), "%.0f", d);
	} else {
		for (prec = 1; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
	}
	return printbuf_memappend(pb, buf, (int)strlen(buf));
}

/* Makes every number with a fraction or an exponent in v print as jq's do
 * (json-c keeps a parsed double's own text: "20.0" where jq prints 20). */
static void jq_numbers(struct json_object *v)
{
	size_t i;

	switch (json_object_get_type(v)) {
	case json_type_double:
		json_object_set_serializer(v, jq_number, NULL, NULL);
		break;
	case json_type_array:
		for (i = 0; i < json_object_array_length(v); i++)
			jq_numbers(json_object_array_get_idx(v, i));
		break;
	case json_type_object: {
		json_object_object_foreach(v, key, val)
		{
			(void)key;
			jq_numbers(val);
		}
		break;
	}
	default:
		break;
	}
}

/* Prints value v (NULL is JSON null) as jq -r would, on one line. */
static void print_value(struct json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		printf("%s\n", json_object_get_string(v));
	else
		printf("%s\n", v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "null");
}

/* Prints the length of v as jq's length does; 0, or 5 for a boolean. */
static int print_length(const char *filter, struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		printf("0\n");
		return 0;
	case json_type_array:
		printf("%zu\n", json_object_array_length(v));
		return 0;
	case json_type_object:
		printf("%d\n", json_object_object_length(v));
		return 0;
	case json_type_string:
		printf("%d\n", json_object_get_string_len(v));
		return 0;
	case json_type_int:
	case json_type_double:
		printf("%s\n", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		return 0;
	default:
		fprintf(stderr, "jget: '%s': a boolean has no length\n", filter);
		return 5;
	}
}

/* Applies one FILTER to doc and prints its line; 0, 2 or 5. */
static int apply(const char *filter, struct json_object *doc)
{
	const char *bar = strchr(filter, '|'), *rest;
	size_t n = bar ? (size_t)(bar - filter) : strlen(filter);
	struct json_object *v = doc;
	char path[512];
	int err;

	if (strcmp(filter, "length") == 0) { /* jq's "length" is ". | length" */
		n = 0;
		bar = filter + strlen(filter) - 1;
		rest = "length";
	} else {
		rest = bar ? bar + 1 + strspn(bar + 1, " ") : NULL;
	}
	while (n > 0 && filter[n - 1] == ' ')
		n--;
	if (n >= sizeof(path)) {
		fprintf(stderr, "jget: filter too long: '%s'\n", filter);
		return 2;
	}
	memcpy(path, filter, n);
	path[n] = '\0';
	if (n == 0)
		strcpy(path, ".");
	if (path[0] != '.') {
		fprintf(stderr, "jget: a filter is a path starting with '.', not '%s'\n", filter);
		return 2;
	}
	if (rest && strcmp(rest, "length") != 0) {
		fprintf(stderr, "jget: only '|length' may follow a path, not '%s'\n", filter);
		return 2;
	}
	if ((err = walk(filter, path + 1, &v)))
		return err;
	if (rest)
		return print_length(filter, v);
	print_value(v);
	return 0;
}

int main(int argc, char **argv)
{
	enum json_tokener_error jerr;
	struct json_object *doc;
	FILE *in = stdin;
	char *text;
	int i = 1, err = 0;

	if (argc > 2 && strcmp(argv[1], "-f") == 0) {
		in = fopen(argv[2], "r");
		if (!in) {
			fprintf(stderr, "jget: cannot open %s: %s\n", argv[2], strerror(errno));
			return 2;
		}
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: jget [-f FILE] FILTER...\n");
		return 2;
	}
	text = read_all(in);
	if (in != stdin)
		fclose(in);
	if (!text) {
		fprintf(stderr, "jget: out of memory\n");
		return 2;
	}
	if (blank(text)) {
		free(text);
		return 0;
	}
	doc = json_tokener_parse_verbose(text, &jerr);
	if (jerr != json_tokener_success) {
		fprintf(stderr, "jget: input is not JSON: %s\n", json_tokener_error_desc(jerr));
		free(text);
		return 2;
	}
	free(text);
	jq_numbers(doc);
	for (; i < argc && !err; i++)
		err = apply(argv[i], doc);
	json_object_put(doc);
	return err;
}
