/*
 * sealmatch.h — whether a task's figures are the ones its seal signed.
 *
 * A seal signs the measurement's raw figures (its payload); the rest of a
 * GET /api/v1/tasks/{id} reply (energy_metrics, trials) is derived and
 * unsigned, and a page or a table shows those.  A record changed after it was
 * sealed (in Redis, in a file, on the way) keeps a valid seal, so checking
 * the signature alone would vouch for figures nobody signed.  This compares
 * them: the task id, and for every kept trial in order its passes, wall time,
 * raw and net energy of both domains and the candidate's energy (rounded to
 * µJ as sealed); and the headline figures (energy per call, median total).
 * The attribution's per-process split is not compared.
 *
 * sealmatch_task: 0 when they agree; -EBADMSG with why naming the first
 * difference; -ENODATA when task holds no sealed measurement to compare (not
 * completed, or no seal).  Numbers may be integers or reals (seal_parse makes
 * every number a real).  Thread safety: pure.
 */
#ifndef JT_SEALMATCH_H
#define JT_SEALMATCH_H

#include <jansson.h>
#include <stddef.h>

int sealmatch_task(const json_t *task, char *why, size_t cap);

#endif
