/*
 * taskcount.h — the task counts (tasks.h keeps them): the live sets
 * jt:live:queued and jt:live:running, whose sizes are the gauges, and the
 * totals jt:count:{completed,failed,cancelled}; read in one step, and the
 * sets repaired against the records.
 *
 * Errors: 0 or -errno (redis.h transport errors, -EPROTO for a reply of the
 * wrong shape, -EINVAL for bad arguments).  Thread safety: that of the struct
 * redis passed in.
 */
#ifndef JT_TASKCOUNT_H
#define JT_TASKCOUNT_H

#include "redis.h"
#include "tasks.h"

/* counts[TASK_QUEUED..TASK_CANCELLED]: the live sets' sizes and the totals
 * (missing = 0), read in one atomic step. */
int tasks_counts(struct redis *r, long long counts[TASK_NSTATUS]);

/*
 * Drops from the set at set_key every task id whose record is gone or whose
 * status is not status; *left and *dropped (both optional) get how many stay
 * and how many went.  One atomic step, O(set size).
 */
int tasks_prune_set(struct redis *r, const char *set_key, const char *status,
		    long long *left, long long *dropped);

/* tasks_prune_set on live:queued and live:running; *removed (optional) gets
 * how many ids were dropped (0 when the sets agreed with the records). */
int tasks_repair(struct redis *r, long long *removed);

#endif
