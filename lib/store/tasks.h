/*
 * tasks.h — task records in Redis: jt:task:{id} (hash), the sets of ids
 * jt:live:queued and jt:live:running, and the totals jt:count:{final status}.
 * Every state change is one Lua script, so the sets and totals move in the
 * same atomic step as the status:
 *
 *   create            → queued     id into live:queued; LPUSHed on jt:q:measure
 *   queued  → running  (start)     live:queued → live:running
 *   running → completed|failed (finish)            out of live:running, X++
 *   queued|running → cancelled (cancel)            out of live:*, cancelled++
 *   queued|running → failed (fail_lost)            out of live:*, failed++
 * queued and running are counted as the sets' sizes: adding or removing an id
 * twice changes nothing, so a step replayed after a crash cannot skew them,
 * and tasks_repair() drops any id whose record says otherwise (or is gone).
 * Reading and repairing the sets and totals: taskcount.h.
 * completed, failed and cancelled are totals (they do not go down when a
 * finished record expires).
 *
 * Hash fields: status, stage, progress ("%.4f"), created_at, started_at,
 * finished_at (RFC 3339 UTC, absent until set), candidate_id, problem_name
 * (absent = null), request (the validated request JSON), worker (last worker
 * to start it), attempts (starts), cancel_requested ("1" after a cancel of a
 * running task), error_type, error_message, body (the complete GET reply of a
 * finished task, built once by tasks_finish so reads copy it verbatim),
 * energy_per_call_j (the result's energy_metrics.energy_per_call_joules,
 * "%.17g", copied at finish so the dashboard lists 50 tasks without fetching
 * and parsing 50 bodies), seal and sealed_result (taskseal.h: a result sealed
 * but not yet stored; tasks_finish drops them).  The id also enters jt:recent
 * at create (recent.h).
 * Finished and cancelled records expire after ttl_s.
 *
 * Worker protocol for a measure job (payload = task id):
 *   tasks_start → 0: run it | -ECANCELED/-EALREADY/-ENOENT: queue_ack and drop
 *   tasks_request, tasks_progress…, tasks_status (cancel watcher)
 *   tasks_finish (→ -ECANCELED: drop the result), then queue_ack.
 *   A job of a dead worker that ran out of attempts: tasks_fail_lost.
 *
 * Errors: 0 or -errno; -ENOENT also for ids that are not canonical UUIDs (no
 * such task can exist); -EINVAL for bad arguments; redis.h transport errors.
 * Thread safety: that of the struct redis passed in.
 */
#ifndef JT_TASKS_H
#define JT_TASKS_H

#include <stdbool.h>
#include <stddef.h>

#include "redis.h"

enum task_status {
	TASK_QUEUED,
	TASK_RUNNING,
	TASK_COMPLETED,
	TASK_FAILED,
	TASK_CANCELLED,
	TASK_NSTATUS
};

#define TASKS_MAX_IDEM_KEY 255   /* longest Idempotency-Key accepted */
#define TASKS_MAX_STAGE 63

/* "queued" … "cancelled"; NULL for out-of-range values. */
const char *tasks_status_name(enum task_status s);
/* -EINVAL for anything but the five names. */
int tasks_status_parse(const char *s, enum task_status *out);

struct task_new {
	const char *request_json;  /* required, NUL-free */
	const char *candidate_id;  /* NULL = JSON null */
	const char *problem_name;  /* NULL = JSON null */
};

/*
 * Stores a new queued task and enqueues it, atomically.  With an
 * idempotency_key (≤ TASKS_MAX_IDEM_KEY bytes, else -EINVAL) that already
 * names a task which still exists, nothing is created: id_out gets that
 * task's id and *existing = true.  The key mapping lives idem_ttl_s seconds.
 */
int tasks_create(struct redis *r, const struct task_new *t,
		 const char *idempotency_key, long idem_ttl_s,
		 char id_out[37], bool *existing);

/*
 * The task an idempotency_key already names, if it still exists: 0 and its id
 * in id_out, -ENOENT when there is none, -EINVAL for a key tasks_create would
 * refuse, or a redis_cmd error.  For answering a replay before any limit that
 * would refuse a new task; tasks_create still decides atomically.
 */
int tasks_idem_lookup(struct redis *r, const char *idempotency_key, char id_out[37]);

/*
 * The GET /api/v1/tasks/{id} body (malloc'd, caller frees; *len optional):
 * task_id, status, stage, progress, created_at, started_at, finished_at,
 * candidate_id, problem_name (null when unset), error_type/error_message
 * when set, failure_timestamp (= finished_at) when failed, elapsed_seconds
 * while running, and for finished tasks every key of the stored result object.
 * One HMGET; no JSON parsing for finished tasks.  -ENOENT for unknown ids.
 */
int tasks_get_json(struct redis *r, const char *id, char **json, size_t *len);

/*
 * A task whose measurement CPUs were kept busy by others (host_busy): running
 * → queued with stage "host_busy", and its job delayed in
 * jt:delayed:measure (queue_promote_due) by backoff_ms × 2^(n−1) for its n-th
 * requeue (at most 8 × backoff_ms), unless more than window_ms have passed
 * since its first one: then -ETIME and nothing changes (the caller fails it).
 * now_ms: ms since the epoch.  -ECANCELED, -EALREADY (not running), -ENOENT.
 * The job's own queue entry is the caller's to ack.
 */
int tasks_requeue_busy(struct redis *r, const char *id, long long now_ms, long long backoff_ms,
		       long long window_ms);

/* The stored request JSON (malloc'd). */
int tasks_request(struct redis *r, const char *id, char **json, size_t *len);

/*
 * queued → running (stage "validating", started_at, worker, attempts++).
 * A running task whose recorded worker has no live heartbeat (or is
 * worker_id itself) is taken over the same way — that is a redelivery after
 * a worker died.  -ECANCELED: cancelled; -EALREADY: finished, or running on a
 * live worker; -ENOENT.
 */
int tasks_start(struct redis *r, const char *id, const char *worker_id);

/* While running only: stage (≤ TASKS_MAX_STAGE chars), progress clamped to
 * 0..1, and while measuring the trial running of at most trials_max (0 and 0
 * otherwise; a GET shows them as "trial" and "trials_max" while running,
 * when trial > 0).  -ECANCELED, -EALREADY (not running), -ENOENT, -EINVAL. */
int tasks_progress(struct redis *r, const char *id, const char *stage, double progress,
		   int trial, int trials_max);

/*
 * running → status ("completed" or "failed"), finished_at, stage = status,
 * progress 1 when completed; the record expires after ttl_s.  result_json
 * (optional) must be a JSON object whose keys do not collide with the base
 * fields listed at tasks_get_json (-EINVAL otherwise); its text is merged
 * verbatim (number formatting preserved).  error_type/error_message optional.
 * -ECANCELED if the task was cancelled meanwhile (drop the result),
 * -EALREADY if it is not running, -ENOENT.
 */
int tasks_finish(struct redis *r, const char *id, const char *status,
		 const char *result_json, const char *error_type,
		 const char *error_message, long ttl_s);

/*
 * queued → cancelled (its id leaves jt:q:measure) or running → cancelled
 * with cancel_requested = 1 (the worker notices via tasks_status and kills
 * the run).  -EALREADY when completed/failed/cancelled (HTTP 409), -ENOENT.
 */
int tasks_cancel(struct redis *r, const char *id, long ttl_s);

/* One HGET for the worker's cancel watcher.  -ENOENT if gone. */
int tasks_status(struct redis *r, const char *id, char out[16]);

/* queued|running → failed, error_type "worker_lost".  -EALREADY when
 * already finished or cancelled: treat as done (idempotent on_dead). */
int tasks_fail_lost(struct redis *r, const char *id, const char *message, long ttl_s);

#endif
