/*
 * lock.h — the per-host measurement lock (LESSONS: never a plain DEL).
 *
 *   jt:lock:{host_id}   "TOKEN FENCE ACQUIRED_NS", SET with PX ttl
 *   jt:fence:{host_id}  INCR counter; every acquisition gets the next number
 *
 * The token is 128 random bits; renew and release are Lua compare-and-act on
 * it, so a holder whose lock expired cannot extend or delete the next holder's
 * lock.  The fence number strictly increases per host across holders and goes
 * into the seal: a stale holder's results carry a smaller number.  The TTL is
 * a crash bound, not a job bound: renew well inside it while measuring
 * (config lock_ttl_ms) and release on every exit path, cancel included.
 *
 * Functions return 0 or -errno (redis.h transport errors too).  A struct lock
 * is caller-owned memory; use it from one thread at a time.
 */
#ifndef JT_LOCK_H
#define JT_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "keys.h"
#include "redis.h"

struct lock {
	char host_id[KEYS_ID_MAX + 1];
	char token[33];
	long long fence;
	uint64_t acquired_realtime_ns;
	bool held;
};

/* 0 and *l filled (held = true), or -EBUSY when someone holds it. */
int lock_acquire(struct redis *r, const char *host_id, long ttl_ms, struct lock *l);
/* Resets the TTL to ttl_ms.  -ENOLCK (and l->held = false) if it was lost. */
int lock_renew(struct redis *r, struct lock *l, long ttl_ms);
/* Deletes it if still ours.  -ENOLCK if it was not; l->held = false either way
 * unless a transport error left the outcome unknown (then retry or let the TTL
 * expire). */
int lock_release(struct redis *r, struct lock *l);
/*
 * Current state for status pages.  held: someone holds it; since_ns: when it
 * was taken (CLOCK_REALTIME of the taker, 0 when free); fence: the holder's
 * number, or the last one issued when free (0 if never).  Outputs optional.
 */
int lock_info(struct redis *r, const char *host_id, bool *held,
	      uint64_t *since_ns, long long *fence);

#endif
