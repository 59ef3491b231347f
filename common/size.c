/* Parsing and printing byte sizes with binary (1024-based) suffixes. */
#include "config.h"
#include "common/size.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>

/* Suffix letters by power of 1024; index 0 is plain bytes. */
static const char size_units[] = "BKMGTPE";

/* Returns the shift (0, 10, ... 40) a suffix stands for, or -1 if it is none. */
static int size_suffix_shift(const char *suffix)
{
	static const struct {
		const char *text;
		int shift;
	} suffixes[] = {
		{ "", 0 }, { "B", 0 },
		{ "K", 10 }, { "KiB", 10 },
		{ "M", 20 }, { "MiB", 20 },
		{ "G", 30 }, { "GiB", 30 },
		{ "T", 40 }, { "TiB", 40 },
	};

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (strcasecmp(suffix, suffixes[i].text) == 0)
			return suffixes[i].shift;
	return -1;
}

/* Parses a decimal byte count with an optional binary suffix. */
int size_parse(const char *s, uint64_t *out)
{
	uint64_t value = 0;
	bool overflow = false;
	const char *p = s;
	int shift;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (value > (UINT64_MAX - digit) / 10)
			overflow = true;
		else
			value = value * 10 + digit;
	}
	shift = size_suffix_shift(p);
	if (shift < 0)
		return -EINVAL;
	if (overflow || (shift && value > (UINT64_MAX >> shift)))
		return -ERANGE;
	*out = value << shift;
	return 0;
}

/* Writes bytes the way lsblk shows them, with one rounded decimal. */
void size_format(uint64_t bytes, char *buf, size_t len)
{
	unsigned unit = 0;
	uint64_t whole, frac, tenths = 0;

	while (unit + 1 < sizeof(size_units) - 1 && bytes >> (10 * (unit + 1)))
		unit++;
	if (unit == 0) {
		snprintf(buf, len, "%" PRIu64 "B", bytes);
		return;
	}
	whole = bytes >> (10 * unit);
	frac = bytes & ((UINT64_C(1) << (10 * unit)) - 1);
	/* round(frac * 10 / 2^shift) without overflowing: halve both sides. */
	tenths = (frac * 5 + (UINT64_C(1) << (10 * unit - 2))) >> (10 * unit - 1);
	if (tenths == 10) {
		whole++;
		tenths = 0;
	}
	if (whole == 1024 && unit + 1 < sizeof(size_units) - 1) {
		whole = 1;
		unit++;
	}
	if (tenths)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%c", whole, tenths, size_units[unit]);
	else
		snprintf(buf, len, "%" PRIu64 "%c", whole, size_units[unit]);
}
