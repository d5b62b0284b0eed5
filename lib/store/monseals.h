/*
 * monseals.h — the host monitor's seals in Redis: a copy of its chain for
 * readers that have Redis but not the host's file (the file is the
 * authority; Redis may miss seals, never reorder them).
 *
 * Keys (keys.h):
 *   jt:monitor:seals:{host_id}  zset  score = sequence, member = the seal's text;
 *                                     the newest MONSEALS_KEEP kept
 *   jt:monitor:head:{host_id}   hash  sequence, sha256 (of the payload), end
 *                                     (RFC 3339 end of its period) of the newest seal
 * One Lua script per seal: the member of that sequence replaced (so a retry
 * after an answer lost on the way is harmless), the set trimmed, and the
 * head moved only forward (a backlog pushed late never moves it back).
 *
 * The backlog: seals queue here (monseals_enqueue, any thread) and one
 * thread pushes them in order (monseals_flush); while Redis is down they
 * wait, at most max_backlog of them, the oldest dropped first (counted).
 *
 * Ownership: the queue copies the texts.  Thread safety: enqueue, wait_work,
 * stop and stats from any thread; flush from one thread (it owns the
 * struct redis).  Errors: 0 or -errno; the transport errors of redis.h mean
 * "Redis is down, try later".  monseals_new: NULL + errno.
 */
#ifndef JT_MONSEALS_H
#define JT_MONSEALS_H

#include <stdbool.h>
#include <stddef.h>

#include "redis.h"

#define MONSEALS_KEEP 10080          /* a week of one-minute periods */

/* One seal pushed now: the script above.  text is the seal's JCS text. */
int monseals_push(struct redis *r, const char *host_id, long long sequence, const char *sha256,
		  const char *end, const char *text, size_t len);

struct monseals;

/* host_id must pass keys_id_valid (EINVAL); max_backlog ≥ 1. */
struct monseals *monseals_new(const char *host_id, size_t max_backlog);
void monseals_free(struct monseals *m);   /* NULL is a no-op; drops what is queued */

/* Queues a copy; when full, the oldest is dropped.  -ENOMEM. */
int monseals_enqueue(struct monseals *m, long long sequence, const char *sha256, const char *end,
		     const char *text, size_t len);

/*
 * Pushes the queued seals oldest first until the queue is empty (0) or a push
 * fails: a transport error stops the flush with the seal still queued (its
 * -errno returned); a seal Redis refuses (-EPROTO: e.g. a key of another
 * type) is dropped and counted as an error, and the flush goes on.
 */
int monseals_flush(struct monseals *m, struct redis *r);

/* Blocks until a seal is queued, monseals_stop, or timeout_ms pass.
 * true when there is something to push. */
bool monseals_wait_work(struct monseals *m, int timeout_ms);
void monseals_stop(struct monseals *m);   /* wakes every waiter, for good */

struct monseals_stats {
	size_t backlog;                   /* queued now */
	unsigned long long pushed, dropped, refused;
};
void monseals_stats(struct monseals *m, struct monseals_stats *out);

#endif
