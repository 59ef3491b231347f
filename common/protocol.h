/* The ublkd control protocol: JSON-RPC 2.0 over a UNIX stream socket, one
 * JSON text per line in each direction. Shared by ublkd and ublkctl. */
#ifndef UBLKD_PROTOCOL_H
#define UBLKD_PROTOCOL_H

#define UBLKD_PROTOCOL_VERSION	1
#define UBLKD_DEFAULT_SOCKET	"/run/ublkd/ublkd.sock"
#define UBLKD_SOCKET_ENV	"UBLKD_SOCKET"
/* A request or response line longer than this is refused. */
#define UBLKD_MAX_LINE		(1024 * 1024)
/* A string id longer than this many bytes is refused. */
#define UBLKD_MAX_ID		128

/* JSON-RPC 2.0 standard error codes. */
#define RPC_PARSE_ERROR		(-32700)
#define RPC_INVALID_REQUEST	(-32600)
#define RPC_METHOD_NOT_FOUND	(-32601)
#define RPC_INVALID_PARAMS	(-32602)
#define RPC_INTERNAL_ERROR	(-32603)

/* Application errors; error.data.errno names the errno where there is one. */
#define RPC_DEVICE_ERROR	(-32000)	/* the operation failed */
#define RPC_NO_SUCH_DEVICE	(-32001)	/* unknown device id (ENODEV) */
#define RPC_DEVICE_EXISTS	(-32002)	/* the id is taken (EEXIST) */
#define RPC_NO_DRIVER		(-32003)	/* no ublk driver (ENOENT on /dev/ublk-control) */
#define RPC_SHUTTING_DOWN	(-32004)	/* the daemon is stopping (ESHUTDOWN) */
#define RPC_BUSY		(-32005)	/* the device is busy changing state (EBUSY) */
#define RPC_TOO_MANY_CONNECTIONS (-32006)	/* refused: the daemon serves its limit */
#define RPC_NOT_PERMITTED	(-32007)	/* the peer may not do that (EPERM) */
#define RPC_QUOTA_EXCEEDED	(-32008)	/* the peer's uid is at its quota (EDQUOT) */

/* Method names. */
#define RPC_M_DEVICE_ADD	"device_add"
#define RPC_M_DEVICE_DEL	"device_del"
#define RPC_M_DEVICE_LIST	"device_list"
#define RPC_M_DEVICE_INFO	"device_info"
#define RPC_M_DAEMON_INFO	"daemon_info"
#define RPC_M_DAEMON_SHUTDOWN	"daemon_shutdown"

#endif
