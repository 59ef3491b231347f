/* Test harness for the control socket: a server loop in a thread with fake
 * methods, and blocking clients that talk to it line by line. */
#ifndef UBLKD_CONTROL_HARNESS_H
#define UBLKD_CONTROL_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "daemon/control.h"
#include "daemon/rpc.h"

/* What the fake methods saw, read by the tests. */
struct harness_stats {
	int later_done;			/* "later" calls answered */
	int later_disconnected;		/* ... whose client was gone by then */
	int echo_calls;			/* "echo" and "state" calls */
};
extern struct harness_stats harness_stats;

/* A fresh temporary directory for a test (removed by harness_cleanup). */
const char *harness_dir(void);
/* A path inside harness_dir() (static buffer per call slot 0..3). */
const char *harness_path(int slot, const char *name);
/* Removes everything harness_dir() holds, and the directory. */
void harness_cleanup(void);

/* rpc_init with methods, control_start with opts (rpc.c as its handler
 * unless opts has one), then runs the loop in a thread; returns
 * control_start's result (on failure no thread runs). */
int harness_start_methods(const struct control_opts *opts, const struct rpc_method *methods);
/* harness_start_methods with the fake methods (echo, later, fail, ...). */
int harness_start(const struct control_opts *opts);
/* Stops the control socket from the loop thread and waits until the loop has
 * no more work (pending "later" calls included), then frees it. */
void harness_stop(void);

struct client {
	int fd;
	char *buf;
	size_t len, cap;
};

/* Connects to path (receive timeout set); fd -1 on failure. */
struct client client_open(const char *path);
/* Closes the client's socket and frees its buffer. */
void client_close(struct client *c);
/* Sends all of text; 0 or -errno. */
int client_send(struct client *c, const char *text, size_t len);
/* Sends a NUL-terminated string; 0 or -errno. */
int client_puts(struct client *c, const char *text);
/* Receives one line (without its newline), malloc'd; NULL on EOF, error or
 * timeout. */
char *client_line(struct client *c);
/* Receives one line and parses it as JSON; NULL if none or not JSON. */
struct json_object *client_json(struct client *c);
/* True if the server closed the connection (EOF or reset) with nothing more
 * to read. */
bool client_eof(struct client *c);

/* The response's error.code, or 0 if it has none. */
int resp_code(struct json_object *resp);
/* The response's id serialized ("1", "\"a\"", "null"), static buffer. */
const char *resp_id(struct json_object *resp);
/* error.data.errno, or NULL. */
const char *resp_errno(struct json_object *resp);
/* error.data, or NULL. */
struct json_object *resp_data(struct json_object *resp);
/* error.message, or NULL. */
const char *resp_message(struct json_object *resp);

#endif
