/* Formatting replies: the device table, key: value lines and JSON. */
#include "config.h"
#include "client/output.h"
#include "common/size.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#define OUTPUT_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Room for a cell or value made here rather than taken from the JSON. */
#define OUTPUT_CELL_MAX 64

/* A column of the device table. */
struct output_column {
	const char *header;
	const char *key;	/* the device object's member */
	bool right;		/* right-aligned (numbers) */
	bool size;		/* a byte count shown human-readable */
};

static const struct output_column output_columns[] = {
	{ "ID", "id", true, false },
	{ "DEVICE", "block_device", false, false },
	{ "BACKEND", "backend", false, false },
	{ "SIZE", "size", true, true },
	{ "QUEUES", "queues", true, false },
	{ "DEPTH", "depth", true, false },
	{ "STATE", "state", false, false },
	{ "OWNER", "owner_uid", true, false },	/* only when a user owns one */
};

#define OUTPUT_ALL_COLUMNS (sizeof(output_columns) / sizeof(output_columns[0]))
/* The columns shown: OWNER only when a device belongs to a user but root,
 * so a root-only table stays as it always was. */
static size_t output_ncolumns = OUTPUT_ALL_COLUMNS - 1;
#define OUTPUT_N_COLUMNS output_ncolumns

/* True if a device in the array belongs to a uid other than root. */
static bool output_user_owned(struct json_object *devices)
{
	struct json_object *v;

	for (size_t i = 0; i < json_object_array_length(devices); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(devices, i), "owner_uid",
					      &v) && json_object_get_int64(v) != 0)
			return true;
	return false;
}

/* Prints a JSON value on one line, as compact as it came. */
int output_json(FILE *out, struct json_object *value)
{
	fprintf(out, "%s\n", json_object_to_json_string_ext(value, OUTPUT_JSON_FLAGS));
	return 0;
}

/* Prints the device's block device path: its "block_device" field. */
int output_device_path(FILE *out, struct json_object *device)
{
	struct json_object *path;

	if (!json_object_object_get_ex(device, "block_device", &path) ||
	    !json_object_is_type(path, json_type_string))
		return -EPROTO;
	fprintf(out, "%s\n", json_object_get_string(path));
	return 0;
}

/* Text of a scalar: strings as they are, anything else as JSON. */
static const char *output_scalar(struct json_object *value)
{
	if (json_object_is_type(value, json_type_string))
		return json_object_get_string(value);
	return json_object_to_json_string_ext(value, OUTPUT_JSON_FLAGS);
}

/* Text of one table cell; buf holds it when it is made here. */
static const char *output_cell(struct json_object *device, const struct output_column *col,
			       char buf[OUTPUT_CELL_MAX])
{
	struct json_object *value;

	if (!json_object_object_get_ex(device, col->key, &value) || !value)
		return "-";
	if (col->size && json_object_is_type(value, json_type_int) &&
	    json_object_get_int64(value) >= 0) {
		size_format(json_object_get_uint64(value), buf, OUTPUT_CELL_MAX);
		return buf;
	}
	return output_scalar(value);
}

/* Prints one row: cells padded to widths, no trailing blanks. */
static void output_row(FILE *out, const char *const cells[], const size_t widths[])
{
	for (size_t i = 0; i < OUTPUT_N_COLUMNS; i++) {
		int width = (int)widths[i];
		const char *sep = i ? " " : "";

		if (output_columns[i].right)
			fprintf(out, "%s%*s", sep, width, cells[i]);
		else if (i + 1 == OUTPUT_N_COLUMNS)
			fprintf(out, "%s%s", sep, cells[i]);
		else
			fprintf(out, "%s%-*s", sep, width, cells[i]);
	}
	fputc('\n', out);
}

/* Prints an array of devices as an aligned table. */
int output_table(FILE *out, struct json_object *devices)
{
	size_t widths[OUTPUT_ALL_COLUMNS] = { 0 };
	const char *cells[OUTPUT_ALL_COLUMNS] = { NULL };
	char bufs[OUTPUT_ALL_COLUMNS][OUTPUT_CELL_MAX];
	size_t n, i, c;

	if (!json_object_is_type(devices, json_type_array))
		return -EPROTO;
	output_ncolumns = OUTPUT_ALL_COLUMNS - !output_user_owned(devices);
	n = json_object_array_length(devices);
	for (i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(devices, i), json_type_object))
			return -EPROTO;

	for (c = 0; c < OUTPUT_N_COLUMNS; c++)
		widths[c] = strlen(output_columns[c].header);
	for (i = 0; i < n; i++) {
		struct json_object *device = json_object_array_get_idx(devices, i);

		for (c = 0; c < OUTPUT_N_COLUMNS; c++) {
			size_t len = strlen(output_cell(device, &output_columns[c], bufs[c]));

			if (len > widths[c])
				widths[c] = len;
		}
	}

	for (c = 0; c < OUTPUT_N_COLUMNS; c++)
		cells[c] = output_columns[c].header;
	output_row(out, cells, widths);
	for (i = 0; i < n; i++) {
		struct json_object *device = json_object_array_get_idx(devices, i);

		for (c = 0; c < OUTPUT_N_COLUMNS; c++)
			cells[c] = output_cell(device, &output_columns[c], bufs[c]);
		output_row(out, cells, widths);
	}
	return 0;
}

/* True if value is an array holding only strings. */
static bool output_string_array(struct json_object *value)
{
	if (!json_object_is_type(value, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(value); i++)
		if (!json_object_is_type(json_object_array_get_idx(value, i), json_type_string))
			return false;
	return true;
}

/* Writes seconds as "1d 2h 3m 4s", leaving out leading zero units. */
static void output_duration(uint64_t seconds, char *buf, size_t len)
{
	uint64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60,
		 s = seconds % 60;

	if (d)
		snprintf(buf, len, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m %" PRIu64 "s", d, h, m, s);
	else if (h)
		snprintf(buf, len, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s", h, m, s);
	else if (m)
		snprintf(buf, len, "%" PRIu64 "m %" PRIu64 "s", m, s);
	else
		snprintf(buf, len, "%" PRIu64 "s", s);
}

/* Prints a value that has a friendlier form too: "N (friendly)". Returns
 * false if key has none or value is not a non-negative integer. */
static bool output_annotated(FILE *out, const char *key, struct json_object *value)
{
	char buf[OUTPUT_CELL_MAX];
	uint64_t n;

	if (!json_object_is_type(value, json_type_int) || json_object_get_int64(value) < 0)
		return false;
	n = json_object_get_uint64(value);
	if (strcmp(key, "size") == 0)
		size_format(n, buf, sizeof(buf));
	else if (strcmp(key, "uptime") == 0)
		output_duration(n, buf, sizeof(buf));
	else if (strcmp(key, "features") == 0)
		snprintf(buf, sizeof(buf), "0x%" PRIx64, n);
	else
		return false;
	fprintf(out, "%s: %" PRIu64 " (%s)\n", key, n, buf);
	return true;
}

/* Prints every member of an object as a "key: value" line, in order. */
int output_fields(FILE *out, struct json_object *object)
{
	if (!json_object_is_type(object, json_type_object))
		return -EPROTO;
	json_object_object_foreach(object, key, value) {
		if (output_annotated(out, key, value))
			continue;
		if (output_string_array(value)) {
			fprintf(out, "%s:", key);
			for (size_t i = 0; i < json_object_array_length(value); i++)
				fprintf(out, " %s",
					json_object_get_string(json_object_array_get_idx(value, i)));
			fputc('\n', out);
		} else {
			fprintf(out, "%s: %s\n", key, output_scalar(value));
		}
	}
	return 0;
}
