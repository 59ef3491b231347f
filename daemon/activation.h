/* The service manager's side channels, implemented by hand (no libsystemd):
 * socket activation (LISTEN_PID/LISTEN_FDS) and readiness notification
 * (NOTIFY_SOCKET). */
#ifndef UBLKD_ACTIVATION_H
#define UBLKD_ACTIVATION_H

/* The first file descriptor a service manager passes. */
#define ACTIVATION_FD_START 3

/* Returns the listening socket passed by the service manager (fd 3, made
 * non-blocking and close-on-exec), -ENOENT when none was passed to this
 * process, or another -errno when the passed fd is not a listening AF_UNIX
 * stream socket (logged). Unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES. */
int activation_listen_fd(void);

/* Sends state (e.g. "READY=1", "STOPPING=1", "STATUS=...") to $NOTIFY_SOCKET;
 * 0 when sent or when NOTIFY_SOCKET is unset, else -errno (logged). */
int activation_notify(const char *state);

#endif
