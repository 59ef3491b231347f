/* Byte sizes as people write them: "4096", "512K", "1GiB". Shared by ublkctl
 * (command-line sizes) and ublkd (sizes given as strings). */
#ifndef UBLKD_SIZE_H
#define UBLKD_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Longest text size_format writes, with its NUL: "1023.9K" and the like. */
#define SIZE_FORMAT_MAX 24

/* Parses a decimal byte count with an optional binary suffix: B, K/KiB,
 * M/MiB, G/GiB, T/TiB (case-insensitive; powers of 1024). Returns 0 and sets
 * *out, -EINVAL for anything that is not such a size (empty, sign, junk), or
 * -ERANGE when it does not fit in 64 bits. */
int size_parse(const char *s, uint64_t *out);

/* Writes bytes the way lsblk shows them: "0B", "512B", "4K", "1.5G", "1T";
 * one decimal, rounded half up, dropped when it is zero. */
void size_format(uint64_t bytes, char *buf, size_t len);

#endif
