/* Capturing the daemon's log (standard error) in a unit test. */
#include "config.h"
#include "test/unit/log_capture.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sends standard error to a temporary file until log_capture_stop. */
void log_capture_start(struct log_capture *c)
{
	c->file = tmpfile();
	ck_assert_ptr_nonnull(c->file);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	ck_assert_int_ge(c->saved, 0);
	ck_assert_int_ge(dup2(fileno(c->file), STDERR_FILENO), 0);
}

/* Returns what was written since the capture started (free it); it goes on. */
char *log_capture_text(struct log_capture *c)
{
	struct stat st;
	char *text;

	fflush(stderr);
	ck_assert_int_eq(fstat(fileno(c->file), &st), 0);
	text = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(pread(fileno(c->file), text, (size_t)st.st_size, 0), st.st_size);
	text[st.st_size] = '\0';
	return text;
}

/* Restores standard error; returns what was written meanwhile (free it). */
char *log_capture_stop(struct log_capture *c)
{
	char *text = log_capture_text(c);

	ck_assert_int_ge(dup2(c->saved, STDERR_FILENO), 0);
	close(c->saved);
	fclose(c->file);
	return text;
}

/* Counts the lines of text that hold needle. */
int log_capture_count(const char *text, const char *needle)
{
	int n = 0;

	while (*text) {
		const char *end = strchr(text, '\n');
		size_t len = end ? (size_t)(end - text) : strlen(text);
		const char *hit = strstr(text, needle);

		n += hit && hit < text + len;
		text += len + (end != NULL);
	}
	return n;
}
