/* A fake device layer for the methods tests: implements what methods.c
 * calls from daemon/device.h, with no kernel, and is linked instead of
 * device.c. Tests set what it answers and read what it was asked. */
#ifndef UBLKD_FAKE_DEVICE_H
#define UBLKD_FAKE_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/device.h"

#define FAKE_DEVICE_MAX	8

/* What the fake answers (set by tests) and saw (read by tests). */
struct fake_device_state {
	/* device_driver_open: 0, or -errno with open_msg as its message. */
	int open_err;
	const char *open_msg;
	int open_calls;
	/* device_driver_features */
	uint64_t features;
	bool loaded;
	/* device_add: finishes at once with add_err (and add_msg), or waits
	 * for fake_device_finish_add when add_defer is set. */
	int add_err;
	const char *add_msg;
	bool add_defer;
	int add_calls;
	/* The last spec device_add got; its strings copied ("" if NULL). */
	struct device_spec spec;
	char backend[32], path[256], entry[256];
	/* device_del: like device_add. */
	int del_err;
	const char *del_msg;
	bool del_defer;
	int del_calls;
	uint32_t del_id;
};
extern struct fake_device_state fake_device;

/* Forgets every device and pending call; everything back to 0. */
void fake_device_reset(void);
/* Makes a live device as if added earlier. */
void fake_device_create(uint32_t id, const char *backend, uint64_t size);
/* Gives a live device to uid (device_owner). */
void fake_device_set_owner(uint32_t id, uint32_t uid);
/* Finishes the deferred device_add: err 0 makes the device. */
void fake_device_finish_add(int err, const char *msg);
/* Finishes the deferred device_del: err 0 removes the device. */
void fake_device_finish_del(int err, const char *msg);

/* The recorded spec's argument for the backend's parameter name, or NULL
 * when the backend declares none of that name. */
const struct backend_arg *fake_device_arg(const char *name);

#endif
