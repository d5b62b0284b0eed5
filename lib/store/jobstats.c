/* jobstats.c — see jobstats.h. */
#include "jobstats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

static const struct {
	const char *field, *name, *help;
	size_t n;
	double bounds[JOBSTATS_MAX_BOUNDS];
} hists[JOBSTATS_NHIST] = {
	{ "job_s", "jouletrace_job_duration_seconds",
	  "Time from a job taken off the queue to its result stored.",
	  12, { 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800 } },
	{ "trial_s", "jouletrace_trial_duration_seconds",
	  "Length of each kept measurement window.",
	  11, { 0.1, 0.2, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60 } },
	{ "energy_j", "jouletrace_job_energy_joules",
	  "Energy a measure job measured for its candidate over its kept trials.",
	  12, { 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 50, 100, 500, 1000 } },
};
static const char *const kinds[2] = { KEYS_KIND_MEASURE, KEYS_KIND_VALIDATE };
static const char *const outcomes[3] = { "completed", "failed", "cancelled" };

/* ARGV: field, increment, field, increment, ...  One round trip per job. */
static const struct redis_script add = {
	"jobstats_add",
	"for i = 1, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
	"return 1\n",
};

/* per histogram every bucket, sum and count; and the finished count */
#define MAX_ARGS (2 * (JOBSTATS_NHIST * (JOBSTATS_MAX_BOUNDS + 3) + 1))

struct args {
	char text[MAX_ARGS][48];
	const char *argv[MAX_ARGS];
	int n;
};

static void arg_pair(struct args *a, const char *field, double inc)
{
	snprintf(a->text[a->n], sizeof a->text[0], "%s", field);
	snprintf(a->text[a->n + 1], sizeof a->text[0], "%.17g", inc);
	a->argv[a->n] = a->text[a->n];
	a->argv[a->n + 1] = a->text[a->n + 1];
	a->n += 2;
}

/* Bucket b holds values in (bounds[b-1], bounds[b]]; n_bounds is +Inf. */
static size_t bucket_of(int h, double v)
{
	size_t b = 0;
	while (b < hists[h].n && v > hists[h].bounds[b])
		b++;
	return b;
}

/* n observations of one histogram: buckets, sum and count (bucket counts are
 * added per observation, so trials are folded here first). */
static void observe(struct args *a, int h, const double *v, size_t n)
{
	unsigned long long per[JOBSTATS_MAX_BOUNDS + 1] = { 0 };
	double sum = 0;
	char f[48];
	for (size_t i = 0; i < n; i++) {
		per[bucket_of(h, v[i])]++;
		sum += v[i];
	}
	for (size_t b = 0; b <= hists[h].n; b++) {
		if (!per[b])
			continue;
		snprintf(f, sizeof f, "%s:b%zu", hists[h].field, b);
		arg_pair(a, f, (double)per[b]);
	}
	snprintf(f, sizeof f, "%s:sum", hists[h].field);
	arg_pair(a, f, sum);
	snprintf(f, sizeof f, "%s:count", hists[h].field);
	arg_pair(a, f, (double)n);
}

int jobstats_record(struct redis *r, const struct jobstats_sample *s)
{
	struct args a = { .n = 0 };
	char f[48];
	if (!r || !s || !keys_kind_valid(s->kind) || !keys_status_valid(s->outcome))
		return -EINVAL;
	observe(&a, JOBSTATS_JOB_SECONDS, &s->job_seconds, 1);
	if (s->trial_seconds && s->n_trials)
		observe(&a, JOBSTATS_TRIAL_SECONDS, s->trial_seconds,
			s->n_trials < JOBSTATS_MAX_TRIALS ? s->n_trials : JOBSTATS_MAX_TRIALS);
	if (s->energy_joules >= 0)
		observe(&a, JOBSTATS_ENERGY_JOULES, &s->energy_joules, 1);
	snprintf(f, sizeof f, "done:%s:%s", s->kind, s->outcome);
	arg_pair(&a, f, 1);
	const char *keys[1] = { KEYS_JOB_STATS };
	struct redis_reply *rep = NULL;
	int ret = redis_eval(r, &add, 1, keys, a.n, a.argv, &rep);
	redis_reply_free(rep);
	return ret;
}

/* One field's value from an HGETALL reply (0 when absent). */
static double field(const struct redis_reply *rep, const char *name)
{
	for (size_t i = 0; i + 1 < rep->n; i += 2)
		if (rep->elem[i].type == REDIS_T_STR && strcmp(rep->elem[i].str, name) == 0 &&
		    rep->elem[i + 1].type == REDIS_T_STR)
			return strtod(rep->elem[i + 1].str, NULL);
	return 0;
}

int jobstats_read(struct redis *r, struct jobstats *out)
{
	struct redis_reply *rep = NULL;
	char f[48];
	int ret;
	memset(out, 0, sizeof *out);
	for (int h = 0; h < JOBSTATS_NHIST; h++) {
		out->h[h].name = hists[h].name;
		out->h[h].help = hists[h].help;
		out->h[h].n_bounds = hists[h].n;
		memcpy(out->h[h].bounds, hists[h].bounds, sizeof out->h[h].bounds);
	}
	if ((ret = redis_cmdv(r, &rep, "HGETALL", KEYS_JOB_STATS, REDIS_END)))
		return ret;
	if (rep->type != REDIS_T_ARR) {
		redis_reply_free(rep);
		return -EPROTO;
	}
	for (int h = 0; h < JOBSTATS_NHIST; h++) {
		unsigned long long cum = 0;
		for (size_t b = 0; b <= hists[h].n; b++) {
			snprintf(f, sizeof f, "%s:b%zu", hists[h].field, b);
			cum += (unsigned long long)field(rep, f);
			out->h[h].cumulative[b] = cum;
		}
		snprintf(f, sizeof f, "%s:sum", hists[h].field);
		out->h[h].sum = field(rep, f);
		/* the count is the +Inf bucket, so the two never disagree */
		out->h[h].count = cum;
	}
	for (int k = 0; k < 2; k++)
		for (int o = 0; o < 3; o++) {
			snprintf(f, sizeof f, "done:%s:%s", kinds[k], outcomes[o]);
			out->finished[k][o] = (unsigned long long)field(rep, f);
		}
	redis_reply_free(rep);
	return 0;
}
