/* Capturing the daemon's log (standard error) in a unit test, to count the
 * lines a piece of code wrote. */
#ifndef UBLKD_TEST_LOG_CAPTURE_H
#define UBLKD_TEST_LOG_CAPTURE_H

#include <stdio.h>

/* A capture in progress. */
struct log_capture {
	FILE *file;	/* where standard error goes meanwhile */
	int saved;	/* the standard error it replaced */
};

/* Sends standard error to a temporary file until log_capture_stop. */
void log_capture_start(struct log_capture *c);
/* Returns what was written since the capture started (free it); it goes on. */
char *log_capture_text(struct log_capture *c);
/* Restores standard error; returns what was written meanwhile (free it). */
char *log_capture_stop(struct log_capture *c);
/* Counts the lines of text that hold needle. */
int log_capture_count(const char *text, const char *needle);

#endif
