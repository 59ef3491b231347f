/* Limits on the request log lines: per peer (uid, pid) and for all peers,
 * with a count of what was suppressed. */
#include "config.h"
#include "daemon/rpc_log.h"
#include "common/clock.h"
#include "common/ratelimit.h"

#include <string.h>

/* Request log lines: per peer (uid, pid), at most RPC_LOG_BURST in each
 * RPC_LOG_INTERVAL seconds; for every peer together, RPC_LOG_ALL. The
 * last RPC_LOG_PEERS peers are remembered. */
#define RPC_LOG_BURST		20
#define RPC_LOG_ALL		200
#define RPC_LOG_INTERVAL	10.0
#define RPC_LOG_PEERS		32

/* A peer whose request lines are counted, and the limit on them. */
struct rpc_log_peer {
	bool used;
	uid_t uid;
	pid_t pid;
	double last;			/* when it last sent a line */
	struct ratelimit rl;
};

/* The request log lines' limits (rpc_log_set_limit). */
static struct {
	double interval;
	unsigned int burst, all;
	struct rpc_log_peer peers[RPC_LOG_PEERS];
	struct ratelimit rl_all;
} rpc_log = {
	.interval = RPC_LOG_INTERVAL, .burst = RPC_LOG_BURST, .all = RPC_LOG_ALL,
	.rl_all = { .interval = RPC_LOG_INTERVAL, .burst = RPC_LOG_ALL },
};

/* Sets how many request log lines pass per interval, from one peer and from
 * all, and forgets what was counted. */
void rpc_log_set_limit(double interval, unsigned int burst, unsigned int all)
{
	rpc_log.interval = interval;
	rpc_log.burst = burst;
	rpc_log.all = all;
	memset(rpc_log.peers, 0, sizeof(rpc_log.peers));
	ratelimit_init(&rpc_log.rl_all, interval, all);
}

/* Says how many of a peer's request lines were suppressed, if any. */
static void rpc_log_suppressed(const struct rpc_log_peer *p, unsigned long n)
{
	if (n)
		log_info("uid=%u pid=%d: %lu request lines suppressed (more than %u in %.0f s)",
			 (unsigned int)p->uid, (int)p->pid, n, rpc_log.burst, rpc_log.interval);
}

/* The counter of peer's request lines: its own, else a free one, else the
 * one unused longest (whose suppressed lines are reported first). */
static struct rpc_log_peer *rpc_log_peer(const struct control_peer *peer)
{
	struct rpc_log_peer *p, *oldest = &rpc_log.peers[0];

	for (p = rpc_log.peers; p < rpc_log.peers + RPC_LOG_PEERS; p++) {
		if (p->used && p->uid == peer->uid && p->pid == peer->pid)
			return p;
		if (!p->used || (oldest->used && p->last < oldest->last))
			oldest = p;
	}
	if (oldest->used)
		rpc_log_suppressed(oldest, oldest->rl.suppressed);
	oldest->used = true;
	oldest->uid = peer->uid;
	oldest->pid = peer->pid;
	ratelimit_init(&oldest->rl, rpc_log.interval, rpc_log.burst);
	return oldest;
}

/* True if a request log line at level from peer may be printed now: the
 * level is on and neither the peer nor all peers together are over their
 * limit. Reports the lines suppressed before one that passes. */
bool rpc_log_allow(const struct control_peer *peer, enum log_level level)
{
	double now = clock_mono();
	struct rpc_log_peer *p;
	unsigned long n;

	if (!log_enabled(level))
		return false;
	p = rpc_log_peer(peer);
	p->last = now;
	if (!ratelimit_pass(&p->rl, now, &n))
		return false;
	rpc_log_suppressed(p, n);
	if (!ratelimit_pass(&rpc_log.rl_all, now, &n))
		return false;
	if (n)
		log_info("%lu request lines of all clients suppressed (more than %u in %.0f s)",
			 n, rpc_log.all, rpc_log.interval);
	return true;
}

