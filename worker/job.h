/*
 * job.h — what one job does, independent of Redis and threads.
 *
 * job_validate() is the correctness gate (SPEC §3 step 1) and the whole of a
 * /validate job; job_measure() is gate + lock + steps 3–8 for a measure task.
 * Both run the candidate through the executor only; the caller supplies the
 * lock, progress and cancellation through job_hooks, so this file can be driven
 * by a test without a Redis.
 */
#ifndef JT_JOB_H
#define JT_JOB_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "calib.h"
#include "cpuset.h"
#include "hostid.h"
#include "measure.h"
#include "meter.h"
#include "oncpu.h"
#include "request.h"

struct jt_config;

struct job_env {
	const struct jt_config *cfg;
	const struct cpu_layout *layout;
	struct meter *meter;              /* used only by job_measure */
	const struct calib_profile *calib;
	const struct hostid *host;
	const char *host_id;              /* hostid_name(): in the result and the seal */
	struct oncpu *oncpu;              /* per-process on-CPU time; NULL = no attribution */
	const char *task_id;              /* named in the seal payload */
	pid_t service_pid;                /* this worker: role "harness" in attribution */
};

struct job_hooks {
	void *ctx;
	/* nonzero = the task was cancelled or the worker is stopping */
	int (*cancelled)(void *ctx);
	/* trial/trials_max: while measuring, the trial running of at most that
	 * many (measure_hook_fn); 0 otherwise */
	void (*stage)(void *ctx, const char *stage, double progress, int trial, int trials_max);
	/* blocks until the measurement lock is held (0, *fence set) or cancelled */
	int (*lock_acquire)(void *ctx, long long *fence);
	void (*lock_release)(void *ctx);
	/* nonzero once the lock was lost while measuring */
	int (*lock_lost)(void *ctx);
};

struct job_outcome {
	bool ok;                 /* completed (or, for validate, ran to a verdict) */
	json_t *result;          /* fields merged into the task's GET body; owned */
	json_t *seal_payload;    /* job_measure success: SPEC §5 payload to sign; owned */
	char error_type[32];
	char error_message[512];
	/* job_measure success, for /metrics (jobstats.h): the kept trials'
	 * windows and the candidate's energy over them */
	double trial_seconds[MEASURE_MAX_TRIALS];
	size_t n_trials;
	double energy_joules;
};

/* Both return 0 when an outcome was produced (success or candidate failure),
 * -ECANCELED when cancelled; the outcome must be released with job_outcome_free. */
int job_validate(const struct job_env *env, const struct measure_request *req,
		 const struct job_hooks *hooks, struct job_outcome *out);
int job_measure(const struct job_env *env, const struct measure_request *req,
		const struct job_hooks *hooks, struct job_outcome *out);
void job_outcome_free(struct job_outcome *out);

#endif
