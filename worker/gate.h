/*
 * gate.h — the correctness gate (SPEC §3 step 1) and the candidate process it
 * runs in, with the outputs compared here, in the worker.
 *
 * The candidate process (executor/harness.py) receives the inputs only: the
 * expected outputs, test ids and verdicts never enter a process that runs
 * candidate code (issue 7).  It returns each output as a JSON value and the
 * worker compares it with jsoncmp.h.
 *
 * Errors: 0 or -errno, with what went wrong in the task's vocabulary in a
 * proto_error.  Thread safety: one job per thread.
 */
#ifndef JT_GATE_H
#define JT_GATE_H

#include <jansson.h>

#include "cpuset.h"
#include "job.h"
#include "proto.h"

struct harness;

/* A request's test cases split by who may see them. */
struct gate_cases {
	json_t *inputs;    /* for the candidate process */
	json_t *expected;  /* for the worker only */
	json_t *ids;       /* test_id strings */
	size_t n;
};

/* 0 or -ENOMEM; gate_cases_free() in every case. */
int gate_cases_split(const struct measure_request *req, struct gate_cases *c);
void gate_cases_free(struct gate_cases *c);

/*
 * Starts a fresh candidate process on cpus and loads the code with the
 * inputs.  -EPROTO when the code does not load (e says why: a syntax error, no
 * such function…), other -errno for sandbox or protocol failures (e->type
 * "internal" when a mandatory sandbox control is missing).  *hp is set to the
 * process whenever one was started; the caller frees it.
 */
int gate_spawn_loaded(const struct job_env *env, const struct measure_request *req,
		      const struct gate_cases *c, const struct cpuset *cpus,
		      const struct job_hooks *hk, struct harness **hp, struct candidate_error *e);

/*
 * The gate: every test once in a fresh candidate process on cpus, which is
 * then ended (nothing built while being checked can reach the trials).  0
 * with *validation set (JouleTrace's validation object; out->error_type is
 * "validation_failed" when a test failed), -ECANCELED, or another error with
 * out->error_type/error_message set.
 */
int gate_run(const struct job_env *env, const struct measure_request *req,
	     const struct gate_cases *c, const struct job_hooks *hk, const struct cpuset *cpus,
	     struct job_outcome *out, json_t **validation);

#endif
