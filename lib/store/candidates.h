/*
 * candidates.h — the tasks of one candidate_id, for clearing a queue
 * (DELETE /api/v1/tasks?candidate_id=...).
 *
 * A set per candidate (KEYS_CAND_PREFIX + SHA-256 hex of the id, so any id
 * text makes a safe key), with the task records' lifetime.  The index is
 * added after the task is created: a failure there loses the task from the
 * index (it can still be cancelled by id), never the task.
 *
 * Errors: 0 or -errno from the Redis adapter; -EINVAL for bad arguments.
 * Thread safety: as the struct redis passed.
 */
#ifndef JT_CANDIDATES_H
#define JT_CANDIDATES_H

#include <stddef.h>

#include "redis.h"

#define CANDIDATES_MAX_TASKS 10000   /* listed per candidate at most */

int candidates_add(struct redis *r, const char *candidate_id, const char *task_id, long ttl_s);
/* The candidate's task ids (malloc'd array of malloc'd strings, *n of them;
 * free with candidates_free).  None: *ids NULL, *n 0. */
int candidates_tasks(struct redis *r, const char *candidate_id, char ***ids, size_t *n);
void candidates_free(char **ids, size_t n);

#endif
