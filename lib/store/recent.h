/*
 * recent.h — the newest tasks, for the dashboard: jt:recent (keys.h) holds
 * the ids of the last KEYS_RECENT_MAX tasks created, newest first; tasks.c
 * pushes and trims it in the same step that creates a task.  An id whose
 * record has expired stays in the list until it is trimmed off, and is
 * skipped here.
 *
 * Ownership: recent_list fills a malloc'd array (recent_free releases it and
 * its strings).  Errors: 0 or -errno (redis.h transport errors, -EPROTO for a
 * reply of the wrong shape, -ENOMEM, -EINVAL for max 0).
 * Thread safety: that of the struct redis passed in.
 */
#ifndef JT_RECENT_H
#define JT_RECENT_H

#include <stddef.h>

#include "redis.h"

/* One task as the dashboard lists it: strings are NULL when the record lacks
 * the field (a queued task has no finished_at, most have no error). */
struct recent_task {
	char id[37];
	char status[16];
	char *candidate_id, *problem_name, *created_at, *finished_at, *error_type;
	double energy_per_call_j;      /* NAN: not completed, or no such figure */
};

/*
 * The newest max (≤ KEYS_RECENT_MAX) tasks that still exist, newest first,
 * read in one atomic step: *n ≤ max entries in *out.
 */
int recent_list(struct redis *r, size_t max, struct recent_task **out, size_t *n);
void recent_free(struct recent_task *t, size_t n);

#endif
