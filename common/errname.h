/* Symbolic names of errno values ("ENOENT"), for machine-readable errors. */
#ifndef UBLKD_ERRNAME_H
#define UBLKD_ERRNAME_H

/* Returns the name of a positive or negative errno, or NULL if unknown. */
const char *errname(int err);

#endif
