/*
 * validwait.h — POST /api/v1/validate answers that wait for a worker without
 * holding an HTTP thread.
 *
 * The handler queues the job and hands the request to validwait_add(), which
 * defers the HTTP answer (http_defer).  One thread of the validwait, with a
 * Redis connection of its own, pops the worker replies from this server's
 * reply list (queue.h: jt:vreply:{reply_to}, reply_to made up at start) and
 * answers each waiting request by its reply_id, which the server generates:
 * nothing a client sends names a Redis key.  A request nobody answers within
 * its timeout is withdrawn from the queue and answered 503.  At most
 * max_waiting requests wait at once; past it validwait_add refuses.
 *
 * Thread safety: validwait_add and validwait_key from any thread; start and
 * stop from one thread (main).
 */
#ifndef JT_VALIDWAIT_H
#define JT_VALIDWAIT_H

#include <stdint.h>

#include "http.h"

struct validwait;
struct redis_ha;

/* Called on the validwait thread once each deferred answer is sent off. */
typedef void (*validwait_done_fn)(void *ctx, int status, uint64_t started_ns);

struct validwait_options {
	const char *redis_url;
	int redis_timeout_ms;
	const struct redis_ha *ha;  /* Sentinel settings (redis.h); may be NULL */
	unsigned max_waiting;       /* 0 → 1 */
	validwait_done_fn done;     /* may be NULL */
	void *done_ctx;
};

/* Starts the thread.  NULL + errno (EINVAL, ENOMEM, or pthread's error). */
struct validwait *validwait_start(const struct validwait_options *o);

/* This server's reply list id (for the job's "reply_to"); valid until stop. */
const char *validwait_key(const struct validwait *v);

/*
 * Defers req's answer until the worker's reply carrying reply_id arrives, or
 * answers 503 after timeout_s (withdrawing job, the queued text, from the
 * "validate" queue first so a late worker does not run it for nobody).  On 0
 * the caller must leave resp alone (it is marked deferred).  Errors, with resp
 * untouched: -EBUSY (max_waiting reached), -ESHUTDOWN (stopping), -ENOMEM,
 * -ENOTSUP (req did not come through the HTTP server).
 */
int validwait_add(struct validwait *v, const struct http_request *req,
		  struct http_response *resp, const char *reply_id, const char *job,
		  long timeout_s, uint64_t started_ns);

/* How many requests wait now (for metrics and tests). */
unsigned validwait_waiting(struct validwait *v);

/*
 * Stops taking requests, answers every waiting one 503 (its job withdrawn),
 * and joins the thread.  Call before http_stop().  Idempotent.
 */
void validwait_stop(struct validwait *v);
/* Stops if needed and frees.  NULL is a no-op. */
void validwait_free(struct validwait *v);

#endif
