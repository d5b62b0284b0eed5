/* measure.c — SPEC §3 steps 3–8; see measure.h. */
#include "measure.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include "candidate.h"
#include "jsoncmp.h"
#include "log.h"
#include "util.h"

struct run {
	const struct candidate *c;
	struct meter *m;
	const struct measure_params *p;
	measure_hook_fn hook;
	measure_edge_fn on_edge;  /* also watches the sizing windows (contamination) */
	void *ctx;
	struct measure_result *out;
	struct candidate_error e;
	int meter_err;
	unsigned seq;
};

/* Copies the protocol error into the result and passes err through. */
static int fail_from(struct run *r, int err)
{
	snprintf(r->out->error_type, sizeof r->out->error_type, "%s", r->e.type);
	snprintf(r->out->error_message, sizeof r->out->error_message, "%s", r->e.message);
	return err;
}

static int fail(struct run *r, int err, const char *type, const char *msg)
{
	return fail_from(r, candidate_fail(&r->e, err, type, "%s", msg));
}

/*
 * While the candidate runs, the meter is read every meter_poll_ms so that a
 * counter can never wrap twice between two readings, and the hook gets its
 * chance to cancel.
 */
static int wait_poll(void *arg)
{
	struct run *r = arg;
	struct meter_reading scratch;
	int err = meter_read(r->m, &scratch);
	if (err && !r->meter_err)
		r->meter_err = err;
	return r->hook ? r->hook(r->ctx, NULL, 0, 0, 0) : 0;
}

static uint64_t deadline(const struct measure_params *p)
{
	return util_mono_ns() + (uint64_t)p->timeout_seconds * 1000000000ull;
}

/* Waiting for the candidate: until the deadline, reading the meter meanwhile. */
static struct candidate_wait wait_of(struct run *r, uint64_t dl)
{
	return (struct candidate_wait){ .deadline_ns = dl, .poll_ms = r->p->meter_poll_ms,
					.poll = wait_poll, .ctx = r };
}

void measure_window_figures(const struct measure_params *p, const struct meter_reading *before,
			    const struct meter_reading *after, struct measure_trial *t)
{
	t->wall_ns = after->t_ns - before->t_ns;
	t->ns_per_pass = t->passes > 0 ? (double)t->wall_ns / (double)t->passes : 0;
	t->present = before->present & after->present;
	for (int d = 0; d < METER_NDOMAINS; d++) {
		t->raw_uj[d] = after->uj[d] - before->uj[d];
		t->wraps[d] = after->wraps[d] - before->wraps[d];
		/* a reset inside the window loses energy nobody can count */
		if (after->resets[d] != before->resets[d])
			t->flags |= MEASURE_FLAG_COUNTER_RESET;
	}
	double secs = (double)t->wall_ns / 1e9;
	for (int d = 0; d < METER_NDOMAINS; d++) {
		if (!(t->present & (1u << d)))
			continue;
		/* Never clamped: a negative net is information, not an error. */
		t->net_uj[d] = (int64_t)t->raw_uj[d] - llround(p->idle_watts[d] * secs * 1e6);
	}
	t->net_total_j = (double)(t->net_uj[METER_PACKAGE] + t->net_uj[METER_DRAM]) / 1e6;
	/* the profile's own spread over this window, or the configured least floor */
	double wobble = MEASURE_NOISE_SIGMAS * secs *
			(p->idle_stddev_watts[METER_PACKAGE] + p->idle_stddev_watts[METER_DRAM]);
	t->noise_floor_j = wobble > p->noise_floor_joules ? wobble : p->noise_floor_joules;
	if (fabs(t->net_total_j) < t->noise_floor_j)
		t->flags |= MEASURE_FLAG_BELOW_NOISE;
	t->energy_j = t->net_total_j;   /* until an observer gives the candidate's share */
}

/* k distinct pass numbers in [0, passes), ascending, drawn from the kernel's
 * generator for each window. */
static size_t pick_passes(long passes, long *out, size_t k)
{
	size_t n = 0;
	if ((long)k > passes)
		k = (size_t)passes;
	while (n < k) {
		uint64_t x = 0;
		if (getrandom(&x, sizeof x, 0) != (ssize_t)sizeof x)
			x = util_mono_ns() * 0x9E3779B97F4A7C15ull;
		long j = (long)(x % (uint64_t)passes);
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= out[i] == j;
		if (!dup)
			out[n++] = j;
	}
	for (size_t i = 1; i < n; i++)   /* insertion sort of at most three */
		for (size_t m = i; m > 0 && out[m - 1] > out[m]; m--) {
			long x = out[m];
			out[m] = out[m - 1];
			out[m - 1] = x;
		}
	return n;
}

static const char *test_id(const struct measure_params *p, size_t i)
{
	const char *id = json_string_value(json_array_get(p->test_ids, i));
	return id ? id : "?";
}

/* "pass J of P, test T: expected E, got G" for the first wrong output. */
static void describe_wrong(const struct measure_params *p, long j, long passes, size_t c,
			   const json_t *out, char *buf, size_t cap)
{
	const json_t *v = json_object_get(out, "value");
	char *got = json_dumps(v ? v : out, JSON_COMPACT | JSON_ENCODE_ANY);
	char *exp = json_dumps(json_array_get(p->expected, c), JSON_COMPACT | JSON_ENCODE_ANY);
	snprintf(buf, cap, "pass %ld of %ld, test %.64s: expected %.120s, got %.120s", j + 1,
		 passes, test_id(p, c), exp ? exp : "?", got ? got : "?");
	free(got);
	free(exp);
}

/*
 * After a window: the outputs of the kept passes, compared here with the
 * expected ones.  A wrong one fails the run as inconsistent_output.
 */
static int check_outputs(struct run *r, long passes, const long *pick, size_t k)
{
	const struct measure_params *p = r->p;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element */
	json_t **out = calloc(k * p->n_tests + 1, sizeof *out);
	char first[400] = "";
	long wrong = 0;
	struct candidate_wait w = wait_of(r, deadline(p));

	if (!out)
		return fail(r, -ENOMEM, "internal", "out of memory");
	int err = r->c->ops->outputs(r->c->ctx, pick, k, p->n_tests, &w, out, &r->e);
	if (err) {
		free(out);
		return fail_from(r, err);
	}
	for (size_t i = 0; i < k; i++)
		for (size_t c = 0; c < p->n_tests; c++) {
			json_t *o = out[i * p->n_tests + c];
			if (!jsoncmp_equal(json_object_get(o, "value"), json_array_get(p->expected, c)) &&
			    wrong++ == 0)
				describe_wrong(p, pick[i], passes, c, o, first, sizeof first);
			json_decref(o);
		}
	free(out);
	if (wrong)
		return fail_from(r, candidate_fail(&r->e, -EPROTO, "inconsistent_output",
			"outputs of a measured pass differ from the expected ones (%ld wrong in %zu "
			"checked passes): %s", wrong, k, first));
	return 0;
}

/*
 * One window of passes, the same for sizing, warm-ups and trials: run/ready,
 * meter, go/done, meter, then the outputs of sampled passes checked.
 */
static int window(struct run *r, long passes, measure_edge_fn on_edge, struct measure_trial *t,
		  bool sizing)
{
	struct meter_reading before, after;
	struct candidate_wait w = wait_of(r, deadline(r->p));
	long pick[MEASURE_SAMPLE_PASSES];
	size_t k = pick_passes(passes, pick, MEASURE_SAMPLE_PASSES);
	int err;

	memset(t, 0, sizeof *t);
	t->passes = passes;
	t->sizing = sizing;
	t->cpu_share = -1;
	t->share = -1;
	if ((err = r->c->ops->prepare(r->c->ctx, passes, pick, k, &w, &r->e)))
		return fail_from(r, err);
	/* The observer first: its snapshot (a whole package's threads) must not
	 * lengthen the energy window, least of all a short sizing one. */
	if (on_edge) {
		t->seq = ++r->seq;
		on_edge(r->ctx, 0, t);
	}
	if ((err = meter_read(r->m, &before)))
		return fail(r, err, "internal", "meter read failed");
	if ((err = r->c->ops->go(r->c->ctx, &r->e)))
		return fail_from(r, err);
	err = r->c->ops->finish(r->c->ctx, k * r->p->n_tests, &w, &t->reported_ns, &r->e);
	int rerr = meter_read(r->m, &after);
	if (err)
		return fail_from(r, err);
	if (rerr || r->meter_err)
		return fail(r, rerr ? rerr : r->meter_err, "internal", "meter read failed");
	measure_window_figures(r->p, &before, &after, t);
	if (on_edge)
		on_edge(r->ctx, 1, t);
	t->energy_j = t->share >= 0 ? t->net_total_j * t->share : t->net_total_j;
	if (t->cpu_share >= 0 && t->cpu_share < MEASURE_LOW_CPU_SHARE)
		t->flags |= MEASURE_FLAG_LOW_CPU_SHARE;
	return check_outputs(r, passes, pick, k);
}

/*
 * The window's on-CPU time says what the candidate did: known, and the
 * candidate ran for most of what other tasks left of its CPUs.  Waiting code
 * (sleep, a pipe) leaves them idle, and its CPU per pass is mostly the
 * harness's per-window cost, which short sizing windows share among fewer
 * passes; code preempted by neighbours still runs whenever it can, and its
 * CPU per pass is its own (the wall time per pass is the neighbours' too).
 */
static bool cpu_busy(const struct measure_trial *t)
{
	if (t->cpu_ns == 0 || t->passes <= 0 || t->cpu_share < 0)
		return false;
	double left = 1 - t->foreign_percent / 100;
	return left <= 0 || t->cpu_share / left >= MEASURE_LOW_CPU_SHARE;
}

/* What the kernel saw the candidate run per pass (cpu_busy windows only). */
static double cpu_per_pass(const struct measure_trial *t)
{
	return (double)t->cpu_ns / (double)t->passes;
}

/*
 * SPEC §3 step 3, driven from here: windows of 1 pass, then of as many passes
 * as the last window says will last long enough for the window's edges to be
 * negligible (at least twice as many), until one does and at least two ran
 * (so a slow first call — a cache being filled — is not the reference).  The
 * fastest time per pass of the windows after the first sets the pass count
 * and is the reference of the tampering check: preemption only slows one, and
 * a window the observer finds contaminated is run again instead.
 */
static int size_passes(struct run *r)
{
	const struct measure_params *p = r->p;
	uint64_t min_ns = (uint64_t)(p->min_trial_seconds * 1e9);
	uint64_t threshold = min_ns / 20 > MEASURE_SIZING_MIN_WINDOW_NS ? min_ns / 20
								    : MEASURE_SIZING_MIN_WINDOW_NS;
	long k = 1, max = p->max_passes > 0 ? p->max_passes : 1;
	struct measure_trial t;
	int err;

	double best = INFINITY, best_cpu = INFINITY;
	for (r->out->sizing_windows = 0;;) {
		if ((err = window(r, k, r->on_edge, &t, true)))
			return err;
		if (t.flags & MEASURE_FLAG_CONTAMINATED) {
			/* A neighbour on the measurement CPU slows a window: such a
			 * reference would make honest trials look too fast.  Again. */
			r->out->sizing_retries++;
			if (++r->out->retries > MEASURE_MAX_RETRIES)
				return fail(r, -EBUSY, "host_busy",
					    "the measurement CPUs kept being used by other tasks");
			continue;
		}
		/* A neighbour's time slice or an edge can only make a window slower:
		 * the fastest warm window is the reference (the first is cold). */
		if (r->out->sizing_windows > 0 && t.ns_per_pass > 0 && t.ns_per_pass < best)
			best = t.ns_per_pass;
		if (r->out->sizing_windows > 0 && cpu_busy(&t) && cpu_per_pass(&t) < best_cpu)
			best_cpu = cpu_per_pass(&t);
		/* Two warm windows at least: the reference is the faster, so one
		 * window stretched by something no observer sees (a VM's stolen
		 * time, an interrupt storm) cannot make honest trials look 40x
		 * too fast (seen in a CI run: tampering_suspected). */
		if ((++r->out->sizing_windows >= 3 && t.wall_ns >= threshold) || k >= max)
			break;
		if (t.wall_ns < threshold) {
			/* Aim past the threshold from what this window showed (its fixed
			 * edges make a short window over-estimate a pass: the next one
			 * falls short at worst, and this repeats), at least doubling. */
			double aim = ceil(1.25 * (double)threshold * (double)k / (double)(t.wall_ns + 1));
			k = aim > (double)max || k > max / 2 ? max : aim > (double)(2 * k) ? (long)aim : 2 * k;
		}
		/* else long enough already: the same count again, warm this time */
	}
	double ns = isfinite(best) ? best : t.ns_per_pass > 0 ? t.ns_per_pass : 1;
	/* Aimed a little past min_trial_seconds: aimed at it exactly, half the
	 * trials fall short by a hair and are resized (a whole trial lost). */
	double want = ceil((double)min_ns * MEASURE_SIZING_MARGIN / ns);
	r->out->sizing_ns_per_pass = ns;
	r->out->sizing_cpu_ns_per_pass = isfinite(best_cpu) ? best_cpu : 0;
	r->out->pass_seconds = ns / 1e9;
	r->out->passes = want < 1 ? 1 : want > (double)max ? max : (long)want;
	return 0;
}

/* How many times x is off ref, either way (>= 1). */
static double off_by(double x, double ref)
{
	if (x <= 0 || ref <= 0)
		return INFINITY;
	return x > ref ? x / ref : ref / x;
}

/*
 * Whether a trial's energy per pass says anything: above the noise floor,
 * positive, and from code that kept its CPU busy.  Code that mostly waits has
 * a net energy near zero, of either sign, and nothing to compare.
 */
static bool energy_signal(const struct measure_trial *t)
{
	return !(t->flags & (MEASURE_FLAG_BELOW_NOISE | MEASURE_FLAG_LOW_CPU_SHARE)) &&
	       t->energy_j > 0;
}

/* Median time (or energy, where it says anything) per pass of the kept
 * trials, and (cv, optional) their CV as a fraction; NaN with fewer than two. */
static double median_of(const struct measure_result *out, bool energy, double *cv)
{
	double v[MEASURE_MAX_TRIALS];
	size_t n = 0;
	for (size_t i = 0; i < out->n_trials; i++) {
		const struct measure_trial *t = &out->trials[i];
		if (energy && !energy_signal(t))
			continue;
		v[n++] = energy ? t->energy_j / (double)t->passes : t->ns_per_pass;
	}
	if (cv)
		*cv = n >= 2 ? stats_cv_percent(v, n) / 100 : NAN;
	return n >= 2 ? stats_median(v, n) : NAN;
}

/* The tampering check of one measured trial (issue 7): see measure.h. */
void measure_check_trial(const struct measure_params *p, const struct measure_result *out,
			 struct measure_trial *t, char *why, size_t cap)
{
	double f = p->tamper_ratio > 1 ? p->tamper_ratio : 3;
	double per_call = t->ns_per_pass / (double)p->n_tests;
	double cve;
	double mt = median_of(out, false, NULL), me = median_of(out, true, &cve);
	double ep = t->energy_j / (double)t->passes;
	/* Energy is noisier than time (a shared package, the model's ticks): its
	 * bound widens with the spread the kept trials show. */
	double fe = f + 3 * (isfinite(cve) ? cve : 0);

	t->ratio_to_sizing = t->ns_per_pass / out->sizing_ns_per_pass;
	why[0] = '\0';
	if (per_call < MEASURE_MIN_CALL_NS) {
		t->flags |= MEASURE_FLAG_TIME_INCONSISTENT;
		util_say(why, cap, "%.3f ns per call, faster than any call can be", per_call);
		return;
	}
	if (cpu_busy(t) && out->sizing_cpu_ns_per_pass > 0) {
		/* What the kernel saw the candidate run, per pass, against the same
		 * in the sizing run: neither edges nor a busy infra CPU in it, so
		 * short windows on a saturated host do not look faster than sized. */
		double cpp = cpu_per_pass(t);
		if (off_by(cpp, out->sizing_cpu_ns_per_pass) > f) {
			t->flags |= MEASURE_FLAG_TIME_INCONSISTENT;
			util_say(why, cap, "%.4g us of CPU per pass against %.4g us in the sizing run "
				 "(%.1fx off, more than %.1fx)", cpp / 1e3,
				 out->sizing_cpu_ns_per_pass / 1e3,
				 off_by(cpp, out->sizing_cpu_ns_per_pass), f);
			return;
		}
	} else if (off_by(t->ns_per_pass, out->sizing_ns_per_pass) > f) {
		t->flags |= MEASURE_FLAG_TIME_INCONSISTENT;
		util_say(why, cap, "%.4g us per pass against %.4g us in the sizing run (%.1fx off, "
			 "more than %.1fx)", t->ns_per_pass / 1e3, out->sizing_ns_per_pass / 1e3,
			 off_by(t->ns_per_pass, out->sizing_ns_per_pass), f);
		return;
	}
	if (isfinite(mt) && off_by(t->ns_per_pass, mt) > f) {
		t->flags |= MEASURE_FLAG_TIME_INCONSISTENT;
		util_say(why, cap, "%.4g us per pass against a median of %.4g us in the other "
			 "trials (%.1fx off)", t->ns_per_pass / 1e3, mt / 1e3, off_by(t->ns_per_pass, mt));
	} else if (isfinite(me) && me > 0 && energy_signal(t) && off_by(ep, me) > fe) {
		t->flags |= MEASURE_FLAG_ENERGY_INCONSISTENT;
		util_say(why, cap, "%.4g uJ per pass against a median of %.4g uJ in the other "
			 "trials (%.1fx off, more than %.1fx)", ep * 1e6, me * 1e6, off_by(ep, me), fe);
	}
}

static void reject(struct measure_result *out, const struct measure_trial *t)
{
	if (out->n_rejected < MEASURE_MAX_RETRIES)
		out->rejected[out->n_rejected++] = *t;
}

void measure_summarize(const struct measure_params *p, struct measure_result *out)
{
	size_t n = out->n_trials;
	double pkg[MEASURE_MAX_TRIALS], dram[MEASURE_MAX_TRIALS], tot[MEASURE_MAX_TRIALS],
		secs[MEASURE_MAX_TRIALS], whole[MEASURE_MAX_TRIALS];

	out->candidate_share = n > 0;
	for (size_t i = 0; i < n; i++) {
		const struct measure_trial *t = &out->trials[i];
		double f = t->share >= 0 ? t->share : 1;
		pkg[i] = (double)t->net_uj[METER_PACKAGE] / 1e6 * f;
		dram[i] = (double)t->net_uj[METER_DRAM] / 1e6 * f;
		tot[i] = t->energy_j;
		whole[i] = t->net_total_j;
		secs[i] = (double)t->wall_ns / 1e9;
		if (t->flags & MEASURE_FLAG_BELOW_NOISE)
			out->below_noise = true;
		if (t->share < 0)
			out->candidate_share = false;
	}
	out->package_median_total_j = stats_median(whole, n);
	out->median_package_j = stats_median(pkg, n);
	out->median_dram_j = stats_median(dram, n);
	out->median_total_j = stats_median(tot, n);
	out->median_seconds = stats_median(secs, n);
	out->cv_percent = stats_cv_percent(tot, n);
	struct stats_ci ci;
	stats_ci95(tot, n, &ci);
	out->ci95_low_j = ci.low;
	out->ci95_high_j = ci.high;
	out->ci_method = ci.method;
	double calls = (double)out->passes * (double)p->n_tests;
	out->energy_per_call_j = calls > 0 ? out->median_total_j / calls : 0;
	out->energy_per_test_case_j = p->n_tests ? out->median_total_j / (double)p->n_tests : 0;
	out->power_watts = out->median_seconds > 0 ? out->median_total_j / out->median_seconds : 0;
}

/*
 * One timed pass under-estimates a warm trial's speed (cold caches, first-call
 * costs), so a warm-up or trial that ran short of min_trial_seconds scales the
 * pass count up, with a margin; a short measured trial is discarded.  Every
 * reported trial uses the same, final count.
 */
static void resize(const struct measure_params *p, struct measure_result *out,
		   const struct measure_trial *t)
{
	double want = p->min_trial_seconds * 1.1, got = (double)t->wall_ns / 1e9;
	if (got <= 0 || got >= p->min_trial_seconds)
		return;
	double scaled = ceil((double)out->passes * want / got);
	long cap = p->max_passes > 0 ? p->max_passes : LONG_MAX;
	out->passes = scaled > (double)cap ? cap : (long)scaled;
	log_info("warm-up lasted %.3f s < %.3f s: %ld passes per trial now", got,
		 p->min_trial_seconds, out->passes);
}

int measure_run(const struct candidate *c, struct meter *m, const struct measure_params *p,
		measure_hook_fn hook, measure_edge_fn on_edge, void *ctx,
		struct measure_result *out)
{
	struct run r = { .c = c, .m = m, .p = p, .hook = hook, .on_edge = on_edge, .ctx = ctx,
			 .out = out };
	struct measure_trial scratch;
	long max = p->max_trials < MEASURE_MAX_TRIALS ? p->max_trials : MEASURE_MAX_TRIALS;
	char why[256], prev_why[256] = "";
	int err;

	memset(out, 0, sizeof *out);
	if (!p->expected || p->n_tests == 0 || json_array_size(p->expected) != p->n_tests)
		return fail(&r, -EINVAL, "internal", "no expected outputs to check against");
	if (hook)
		hook(ctx, "sizing", 0.0, 0, 0);
	if ((err = size_passes(&r)))
		return err;
	log_info("sized %ld passes (%.6f s per pass, %ld sizing windows)", out->passes,
		 out->pass_seconds, out->sizing_windows);

	if (hook && p->warmup_trials > 0)
		hook(ctx, "warmup", 0.05, 0, 0);
	for (long i = 0; i < p->warmup_trials; i++) {
		if ((err = window(&r, out->passes, NULL, &scratch, false)))
			return err;
		out->warmups_done++;
		resize(p, out, &scratch);
	}

	while (out->n_trials < (size_t)max) {
		struct measure_trial *t = &out->trials[out->n_trials];
		if (hook)
			hook(ctx, "measuring", 0.1 + 0.85 * (double)out->n_trials / (double)max,
			     (int)out->n_trials + 1, (int)max);
		if ((err = window(&r, out->passes, on_edge, t, false)))
			return err;
		if (t->flags & (MEASURE_FLAG_CONTAMINATED | MEASURE_FLAG_COUNTER_RESET)) {
			/* Foreign work inside the window, or a counter reset: neither its
			 * energy nor its time is the candidate's, so it is judged on
			 * nothing else (not length, not consistency): run again. */
			reject(out, t);
			if (++out->retries > MEASURE_MAX_RETRIES)
				return t->flags & MEASURE_FLAG_COUNTER_RESET ?
					fail(&r, -EAGAIN, "internal", "the energy counters kept being reset") :
					fail(&r, -EBUSY, "host_busy", "the measurement CPUs kept being "
					     "used by other tasks");
			continue;
		}
		measure_check_trial(p, out, t, why, sizeof why);
		if (t->flags & MEASURE_FLAGS_TAMPER) {
			/* Retried once; the same again means the candidate does not do in
			 * trials what it did when sized (issue 7). */
			log_warn("trial rejected (%ld kept so far): %s", (long)out->n_trials, why);
			reject(out, t);
			if (prev_why[0])
				return fail_from(&r, candidate_fail(&r.e, -EPROTO, "tampering_suspected",
					"two trials in a row disagree with the sizing run or the other "
					"trials: %s; then %s", prev_why, why));
			snprintf(prev_why, sizeof prev_why, "%s", why);
			/* Flagged trials that keep coming back, but never two in a row,
			 * is a measurement the host is too noisy for now (short windows
			 * on a saturated package), not a fault of ours: host_busy, so the
			 * task is tried again later.  A candidate that alternates on
			 * purpose gains nothing from it: no figure, and a bounded retry. */
			if (++out->retries > MEASURE_MAX_RETRIES)
				return fail_from(&r, candidate_fail(&r.e, -EBUSY, "host_busy",
					"the trials kept disagreeing with the sizing run or each other "
					"(%ld repeated): the host is too noisy for a figure now",
					(long)out->retries));
			continue;
		}
		prev_why[0] = '\0';
		if (t->wall_ns < (uint64_t)(p->min_trial_seconds * 1e9) &&
		    out->resized < MEASURE_MAX_RETRIES && out->passes < p->max_passes) {
			/*
			 * SPEC §3 step 3: a trial lasts at least min_trial_seconds.  The
			 * trials kept so far used the old pass count, and energy per call
			 * needs one count for all: they become warm-ups.
			 */
			resize(p, out, t);
			out->resized++;
			out->n_trials = 0;
			continue;
		}
		out->n_trials++;
		double tot[MEASURE_MAX_TRIALS];
		for (size_t i = 0; i < out->n_trials; i++)
			tot[i] = out->trials[i].energy_j;
		double cv = stats_cv_percent(tot, out->n_trials);
		if (stats_should_stop(out->n_trials, (size_t)p->min_trials, (size_t)max, cv,
				      p->target_cv_percent, &out->stop))
			break;
	}
	measure_summarize(p, out);
	return 0;
}
