/*
 * jobstats.h — what finished jobs took, kept in Redis for /metrics: job
 * duration, trial duration and the energy each measure job measured, as
 * Prometheus histograms, and finished jobs by kind and outcome.
 *
 * Every worker adds to one hash (KEYS_JOB_STATS) with one script call per
 * job, so the figures are those of all hosts together and survive a server
 * restart; the server only reads.  Bucket bounds are fixed here, so workers
 * and server always agree on them.
 *
 * Errors: 0 or -errno from the Redis adapter; -EPROTO for a reply of the
 * wrong shape.  Thread safety: as the struct redis passed (one thread each).
 */
#ifndef JT_JOBSTATS_H
#define JT_JOBSTATS_H

#include <stddef.h>

#include "redis.h"

enum jobstats_hist { JOBSTATS_JOB_SECONDS, JOBSTATS_TRIAL_SECONDS, JOBSTATS_ENERGY_JOULES,
		     JOBSTATS_NHIST };
#define JOBSTATS_MAX_BOUNDS 16
#define JOBSTATS_MAX_TRIALS 64

struct jobstats_sample {
	const char *kind;          /* "measure" | "validate" */
	const char *outcome;       /* completed | failed | cancelled */
	double job_seconds;        /* from taken off the queue to stored */
	const double *trial_seconds; /* kept trials' windows (measure jobs), may be NULL */
	size_t n_trials;           /* at most JOBSTATS_MAX_TRIALS are counted */
	double energy_joules;      /* the candidate's energy over the kept trials; < 0 = none */
};

int jobstats_record(struct redis *r, const struct jobstats_sample *s);

struct jobstats_hist_view {
	const char *name;          /* metric name, e.g. "jouletrace_job_duration_seconds" */
	const char *help;
	size_t n_bounds;
	double bounds[JOBSTATS_MAX_BOUNDS];
	unsigned long long cumulative[JOBSTATS_MAX_BOUNDS + 1];   /* the last is +Inf */
	double sum;
	unsigned long long count;
};

struct jobstats {
	struct jobstats_hist_view h[JOBSTATS_NHIST];
	/* finished jobs: [kind 0 measure, 1 validate][0 completed, 1 failed, 2 cancelled] */
	unsigned long long finished[2][3];
};

/* Reads everything workers recorded (zeros when nothing yet). */
int jobstats_read(struct redis *r, struct jobstats *out);

#endif
