/* The control ring: ublk control commands on /dev/ublk-control, issued
 * asynchronously on an SQE128 io_uring whose eventfd the main loop watches,
 * so slow commands (START_DEV, DEL_DEV) never block the loop. */
#ifndef UBLKD_CTRL_H
#define UBLKD_CTRL_H

#include <stdbool.h>
#include <stdint.h>
#include <ev.h>

#define UBLK_CONTROL_PATH "/dev/ublk-control"

struct ctrl;

/* Called once per command with the CQE result (0 or -errno, -ETIMEDOUT when
 * the kernel did not answer in time). */
typedef void (*ctrl_done_fn)(void *arg, int res);

/* Opens the control device and ring and probes the driver's features. */
int ctrl_open(struct ev_loop *loop, struct ctrl **out);
/* Sets up the ring on an open control device fd (closed on failure) and
 * probes the driver's features. */
int ctrl_open_fd(struct ev_loop *loop, int fd, struct ctrl **out);
/* Releases the ring; commands still in the kernel are abandoned. */
void ctrl_close(struct ctrl *c);
/* Features from GET_FEATURES (0 when the kernel has no such command). */
uint64_t ctrl_features(const struct ctrl *c);
/* True when commands are sent in their ioctl encoding. */
bool ctrl_ioctl_encoded(const struct ctrl *c);
/* Number of commands sent and not yet answered. */
unsigned ctrl_pending(const struct ctrl *c);
/* Sends one command: nr is its number, UBLK_CMD_ADD_DEV or, for commands
 * with no legacy number, _IOC_NR(UBLK_U_CMD_DEL_DEV_ASYNC). buf/len are
 * copied in, and copied back out to buf when the answer arrives in time;
 * buf must stay valid until fn is called. */
int ctrl_submit(struct ctrl *c, unsigned nr, uint32_t dev_id, void *buf,
		uint16_t len, uint64_t data0, double timeout,
		ctrl_done_fn fn, void *arg);
/* Returns the opcode of command nr, ioctl-encoded or legacy. */
uint32_t ctrl_opcode(bool ioctl_encoded, unsigned nr);
/* Names a control command for log messages. */
const char *ctrl_cmd_name(unsigned nr);

#endif
