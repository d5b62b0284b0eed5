/*
 * queue.h — reliable job queues on Redis lists (LESSONS "Redis facts").
 *
 * A job is an opaque NUL-free text payload (a task id for "measure", a JSON
 * request for "validate").  Life of a job:
 *
 *   queue_push      LPUSH jt:q:{kind}
 *   queue_reserve   BLMOVE jt:q:{kind} → jt:proc:{kind}:{worker} (RIGHT LEFT):
 *                   atomically owned by one worker; nothing is lost if it dies
 *   queue_ack       LREM from the worker's processing list (after the result
 *                   is stored: a crash in between only causes a redelivery,
 *                   which tasks_start() refuses for a finished task)
 *   queue_delay     ZADD jt:delayed:{kind}: back to the queue (queue_promote_due,
 *                   run by every worker's keeper) once its time has come
 *   queue_recover   run periodically by every worker: a worker listed in
 *                   jt:workers whose jt:hb:{id} expired is dead; its processing
 *                   list goes back to the FRONT of the queue (the jobs were
 *                   first) and each job's attempt count (jt:attempts:{kind},
 *                   field sha1(job)) goes up by one.  A job whose count reaches
 *                   max_attempts is moved to jt:dead:{kind} instead and handed
 *                   to on_dead — a job that kills its worker fails after a
 *                   bounded number of tries instead of looping forever.
 *
 * Exactly one copy of every job exists at all times, in one of jt:q, some
 * jt:proc or jt:dead; every move is one atomic command or Lua script.
 * Delivery is at-least-once: a worker whose heartbeat lapses while it is still
 * alive (stalled > worker TTL) can see its job requeued and run elsewhere —
 * tasks_start() refuses a running task whose worker still heartbeats.
 *
 * Functions return 0 or -errno (transport errors from redis.h: -ECONNREFUSED,
 * -ETIMEDOUT, -EIO, -EPROTO; -EINVAL for a bad kind/worker id or empty
 * payload).  Thread safety: that of the struct redis passed in.
 */
#ifndef JT_QUEUE_H
#define JT_QUEUE_H

#include <stddef.h>

#include "redis.h"

/* Longest job accepted (a validate request is a whole POST body). */
#define QUEUE_MAX_PAYLOAD (64u << 20)

int queue_push(struct redis *r, const char *kind, const char *payload, size_t len);

/*
 * Waits up to block_ms (0 = don't wait) for a job.  On 0, *payload is a
 * malloc'd NUL-terminated copy (caller frees) and *len its length.
 * -ETIMEDOUT when no job arrived (a transport timeout also reads -ETIMEDOUT:
 * both mean "loop and try again").
 */
int queue_reserve(struct redis *r, const char *kind, const char *worker_id,
		  int block_ms, char **payload, size_t *len);

/* Drops a finished job from the worker's list and its attempt count.
 * -ENOENT when it was no longer there (recovered by another worker). */
int queue_ack(struct redis *r, const char *kind, const char *worker_id,
	      const char *payload, size_t len);

int queue_depth(struct redis *r, const char *kind, long long *n);
/*
 * Delayed jobs (jt:delayed:{kind}, a sorted set by due time): the job goes
 * back to the queue once due_ms (milliseconds since the epoch) has passed and
 * some worker calls queue_promote_due.  A job already delayed gets the new
 * time.  queue_promote_due moves up to 100 due jobs to the back of the queue
 * (they were first) atomically; *moved (optional) says how many.
 */
int queue_delay(struct redis *r, const char *kind, const char *payload, size_t len,
		long long due_ms);
int queue_promote_due(struct redis *r, const char *kind, long long now_ms, int *moved);

/* Removes a still-pending job (cancel).  0, or -ENOENT if it was not queued. */
int queue_remove(struct redis *r, const char *kind, const char *payload);

/*
 * Called once per dead job, outside any Redis transaction, with the job
 * still parked in jt:dead:{kind}.  Return 0 and the job is deleted; < 0 and it
 * stays for the next queue_recover call.  Must tolerate being called twice
 * for one job (two recoverers racing): tasks_fail_lost() is idempotent.
 */
typedef int (*queue_dead_fn)(void *ctx, const char *payload, size_t len);

/*
 * See the header comment.  *requeued (optional) = jobs put back this call.
 * A dead worker leaves jt:workers once none of its processing lists (any
 * kind) remain.  on_dead NULL leaves dead jobs parked.
 */
int queue_recover(struct redis *r, const char *kind, long max_attempts,
		  queue_dead_fn on_dead, void *ctx, int *requeued);

/*
 * For a worker starting with a fixed id: whatever its previous incarnation
 * held in jt:proc:{kind}:{worker_id} goes back to the front of the queue with
 * the same attempt accounting (jobs at max_attempts are parked in jt:dead and
 * handed out by the next queue_recover).  Call before the first heartbeat.
 */
int queue_requeue_own(struct redis *r, const char *kind, const char *worker_id,
		      long max_attempts, int *requeued);

/*
 * Validation replies.  Each server process has one reply list,
 * jt:vreply:{reply_to} (reply_to: an id the server made up at start), and
 * names it in every validate job with a reply_id of its own making for that
 * request; nothing a client sends names a key.  The worker pushes one entry
 * "reply_id\npayload" (the list expires ttl_s after the last push, so the list
 * of a server that went away disappears).  queue_reply_take pops the next
 * entry within block_ms (0: do not block): 0 with *reply_id and *payload
 * malloc'd (payload NUL-terminated, *len without the NUL), -ETIMEDOUT when
 * nothing came, -EPROTO for an entry without the framing (dropped), -EINVAL
 * for an invalid id.  Payloads are NUL-free, at most QUEUE_MAX_PAYLOAD.
 */
int queue_reply_push(struct redis *r, const char *reply_to, const char *reply_id,
		     const char *payload, size_t len, long ttl_s);
int queue_reply_take(struct redis *r, const char *reply_to, int block_ms,
		     char **reply_id, char **payload, size_t *len);

#endif
