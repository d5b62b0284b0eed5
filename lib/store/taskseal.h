/*
 * taskseal.h — a task is sealed at most once.  The seal and the result it
 * seals enter the task's record (fields "seal" and "sealed_result") in the
 * same Redis step as the seal enters the chain (sealchain_sign_append_also).
 * So a worker killed between sealing a result and storing it leaves a sealed
 * result behind, and the task's next attempt stores that instead of measuring
 * again and putting a second seal for the same task in the chain.
 * tasks_finish drops both fields.
 *
 * Errors: 0 or -errno; the redis.h transport errors pass through.
 * Thread safety: that of the struct redis passed in; no state of its own.
 */
#ifndef JT_TASKSEAL_H
#define JT_TASKSEAL_H

#include <jansson.h>

#include "redis.h"
#include "seal.h"

/*
 * Signs payload into k's chain (as sealchain_sign_append) and, in the same
 * step, records the seal and result (the result without its seal, dumped
 * compact) in task_id's record.  *seal: the new seal (caller owns it).
 * -ENOENT: the task's record is gone; -EEXIST: the task is already sealed
 * (taskseal_result has that result); with both, nothing was appended.
 */
int taskseal_sign(struct redis *r, const struct seal_key *k, const char *task_id,
		  json_t *payload, const json_t *result, json_t **seal);

/*
 * *result = the result an earlier attempt sealed, with its "seal" member
 * (caller owns it).  -ENOENT when the task holds no sealed result, -EPROTO
 * when the stored fields are not JSON objects, -ENOMEM.
 */
int taskseal_result(struct redis *r, const char *task_id, json_t **result);

#endif
