/*
 * workers.h — worker liveness: heartbeats and the worker registry.
 *
 *   jt:workers          set of worker ids (SADD on every heartbeat)
 *   jt:hb:{worker_id}   heartbeat: the worker's info JSON, PX ttl_ms
 *
 * A worker is live while its heartbeat key exists.  queue_recover() treats a
 * registered worker without one as dead and takes its jobs back, so send the
 * heartbeat from its own thread and connection, at an interval well below
 * ttl_ms (config: heartbeat_interval_ms vs worker_ttl_ms), never from the
 * thread that blocks on a measurement.
 *
 * Functions return 0 or -errno (redis.h transport errors, -EINVAL for bad
 * ids).  Thread safety: that of the struct redis passed in.
 */
#ifndef JT_WORKERS_H
#define JT_WORKERS_H

#include <stddef.h>

#include "redis.h"

/* Bounds the info JSON a worker publishes (it ends up in /api/v1/health). */
#define WORKERS_MAX_INFO 16384

/* Registers the worker and (re)sets its heartbeat; info_json NULL → "{}". */
int workers_heartbeat(struct redis *r, const char *worker_id,
		      const char *info_json, long ttl_ms);

/*
 * Clean shutdown: deletes the heartbeat; also leaves jt:workers unless a
 * processing list still holds jobs (then queue_recover() requeues them and
 * unregisters it).  Ack or requeue your jobs first.
 */
int workers_remove(struct redis *r, const char *worker_id);

struct worker_entry {
	char *id;
	char *info_json;
};

/*
 * Live workers.  *count always; list (optional, may be NULL) gets a malloc'd
 * array of *n entries, free with workers_list_free().
 */
int workers_live(struct redis *r, long long *count,
		 struct worker_entry **list, size_t *n);
void workers_list_free(struct worker_entry *list, size_t n);

#endif
