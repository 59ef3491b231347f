/* A live device's block node, /dev/ublkbN, given to the user that added it. */
#ifndef UBLKD_DEVICE_NODE_H
#define UBLKD_DEVICE_NODE_H

#include <stdint.h>
#include <sys/types.h>

/* The mode a user's block node gets: 0600, or 0660 (its group too). */
void device_node_set_mode(mode_t mode);
/* Chowns /dev/ublkbN of device id to uid:gid with the mode set, when uid is
 * not root and the daemon may (it is root); a failure is logged. 0 or -errno. */
int device_node_give(uint32_t id, uint32_t uid, uint32_t gid);

#endif
