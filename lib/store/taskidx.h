/*
 * taskidx.h — indexes of tasks, each a Redis set keyed by a SHA-256 hex of
 * its name (so any text makes a safe key), added to after the task is created:
 * a failure there loses the task from the index, never the task.
 *
 * * by candidate_id (KEYS_CAND_PREFIX), with the task records' lifetime, for
 *   clearing a queue (DELETE /api/v1/tasks?candidate_id=...);
 * * by client (KEYS_CLIENTQ_PREFIX), the tasks a client queued, for
 *   max_queued_per_client.  Nothing removes a task when it leaves the queue:
 *   taskidx_client_queued prunes those (status no longer "queued", or gone)
 *   when the set reaches the limit, so the count repairs itself after any
 *   crash and the set never holds more than limit + the tasks admitted while
 *   it is counted.
 *
 * Errors: 0 or -errno from the Redis adapter; -EINVAL for bad arguments.
 * Thread safety: as the struct redis passed.
 */
#ifndef JT_TASKIDX_H
#define JT_TASKIDX_H

#include <stddef.h>

#include "redis.h"

#define TASKIDX_MAX_TASKS 10000   /* listed per candidate at most */

int taskidx_candidate_add(struct redis *r, const char *candidate_id, const char *task_id,
			  long ttl_s);
/* The candidate's task ids (malloc'd array of malloc'd strings, *n of them;
 * free with taskidx_free).  None: *ids NULL, *n 0. */
int taskidx_candidate_tasks(struct redis *r, const char *candidate_id, char ***ids, size_t *n);
void taskidx_free(char **ids, size_t n);

int taskidx_client_add(struct redis *r, const char *client, const char *task_id, long ttl_s);
/* How many of the client's tasks are still queued, into *n; exact once the
 * count reaches limit (then the set is pruned first), an upper bound below. */
int taskidx_client_queued(struct redis *r, const char *client, long limit, long long *n);

#endif
