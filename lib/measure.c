/* measure.c — SPEC §3 steps 3–8; see measure.h. */
#include "measure.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "proto.h"
#include "log.h"
#include "util.h"

struct run {
	struct harness *h;
	struct meter *m;
	const struct measure_params *p;
	measure_hook_fn hook;
	void *ctx;
	struct measure_result *out;
	struct proto_error e;
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
	return fail_from(r, proto_fail(&r->e, err, type, "%s", msg));
}

/*
 * While the harness runs, the meter is read every meter_poll_ms so that a
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
	return r->hook ? r->hook(r->ctx, NULL, 0) : 0;
}

static uint64_t deadline(const struct measure_params *p)
{
	return util_mono_ns() + (uint64_t)p->timeout_seconds * 1000000000ull;
}

static int recv_json(struct run *r, uint64_t dl, json_t **out)
{
	int err = proto_recv(r->h, dl, r->p->meter_poll_ms, wait_poll, r, out, &r->e);
	return err ? fail_from(r, err) : 0;
}

static int candidate_error(struct run *r, json_t *msg)
{
	return fail_from(r, proto_candidate_error(msg, &r->e));
}

static int send_cmd(struct run *r, json_t *cmd)
{
	int err = proto_send(r->h, cmd, &r->e);
	return err ? fail_from(r, err) : 0;
}

static int size_passes(struct run *r)
{
	json_t *msg;
	int err = send_cmd(r, json_pack("{s:s, s:f, s:I}", "cmd", "size", "min_trial_seconds",
					 r->p->min_trial_seconds, "max_passes",
					 (json_int_t)r->p->max_passes));
	if (err || (err = recv_json(r, deadline(r->p), &msg)))
		return err;
	if (!json_is_true(json_object_get(msg, "ok"))) {
		err = candidate_error(r, msg);
		goto out;
	}
	r->out->passes = (long)json_integer_value(json_object_get(msg, "passes"));
	r->out->pass_seconds = json_number_value(json_object_get(msg, "pass_seconds"));
	if (r->out->passes < 1)
		err = fail(r, -EPROTO, "internal", "harness sized 0 passes");
out:
	json_decref(msg);
	return err;
}

static void net_figures(const struct measure_params *p, struct measure_trial *t)
{
	double secs = (double)t->wall_ns / 1e9;
	for (int d = 0; d < METER_NDOMAINS; d++) {
		if (!(t->present & (1u << d)))
			continue;
		/* Never clamped: a negative net is information, not an error. */
		t->net_uj[d] = (int64_t)t->raw_uj[d] - llround(p->idle_watts[d] * secs * 1e6);
	}
	t->net_total_j = (double)(t->net_uj[METER_PACKAGE] + t->net_uj[METER_DRAM]) / 1e6;
	if (fabs(t->net_total_j) < p->noise_floor_joules)
		t->flags |= MEASURE_FLAG_BELOW_NOISE;
}

/* One go/done window; the trial's outputs are checked after the window closes. */
static int one_trial(struct run *r, measure_edge_fn on_edge, struct measure_trial *t)
{
	struct meter_reading before, after;
	json_t *msg = NULL;
	uint64_t dl = deadline(r->p);
	int err;

	memset(t, 0, sizeof *t);
	t->passes = r->out->passes;
	err = send_cmd(r, json_pack("{s:s, s:I}", "cmd", "trial", "passes", (json_int_t)t->passes));
	if (err || (err = recv_json(r, dl, &msg)))
		return err;
	if (!json_is_true(json_object_get(msg, "ready"))) {
		err = candidate_error(r, msg);
		goto out;
	}
	json_decref(msg);
	msg = NULL;

	if ((err = meter_read(r->m, &before)))
		return fail(r, err, "internal", "meter read failed");
	if (on_edge) {
		t->seq = ++r->seq;
		on_edge(r->ctx, 0, t);
	}
	if ((err = harness_go(r->h)))
		return fail(r, err, "runtime_error", "the candidate process ended early");
	err = recv_json(r, dl, &msg);
	int rerr = meter_read(r->m, &after);
	if (err)
		return err;
	if (rerr || r->meter_err)
		return fail(r, rerr ? rerr : r->meter_err, "internal", "meter read failed");
	if (!json_is_true(json_object_get(msg, "done"))) {
		err = candidate_error(r, msg);
		goto out;
	}
	t->harness_ns = (uint64_t)json_integer_value(json_object_get(msg, "elapsed_ns"));
	t->wall_ns = after.t_ns - before.t_ns;
	t->present = before.present & after.present;
	for (int d = 0; d < METER_NDOMAINS; d++) {
		t->raw_uj[d] = after.uj[d] - before.uj[d];
		t->wraps[d] = after.wraps[d] - before.wraps[d];
	}
	net_figures(r->p, t);
	if (on_edge)
		on_edge(r->ctx, 1, t);
	json_decref(msg);

	if ((err = recv_json(r, dl, &msg)))
		return err;
	if (!json_is_true(json_object_get(msg, "ok"))) {
		char *mm = json_dumps(json_object_get(msg, "mismatches"), JSON_COMPACT);
		err = fail_from(r, proto_fail(&r->e, -EPROTO, "inconsistent_output",
			   "outputs of a measured pass differ from the expected ones: %.400s",
			   mm ? mm : "?"));
		free(mm);
	}
out:
	json_decref(msg);
	return err;
}

static void summarize(const struct measure_params *p, struct measure_result *out)
{
	size_t n = out->n_trials;
	double pkg[MEASURE_MAX_TRIALS], dram[MEASURE_MAX_TRIALS], tot[MEASURE_MAX_TRIALS],
		secs[MEASURE_MAX_TRIALS];

	for (size_t i = 0; i < n; i++) {
		const struct measure_trial *t = &out->trials[i];
		pkg[i] = (double)t->net_uj[METER_PACKAGE] / 1e6;
		dram[i] = (double)t->net_uj[METER_DRAM] / 1e6;
		tot[i] = t->net_total_j;
		secs[i] = (double)t->wall_ns / 1e9;
		if (t->flags & MEASURE_FLAG_BELOW_NOISE)
			out->below_noise = true;
	}
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

int measure_run(struct harness *h, struct meter *m, const struct measure_params *p,
		measure_hook_fn hook, measure_edge_fn on_edge, void *ctx,
		struct measure_result *out)
{
	struct run r = { .h = h, .m = m, .p = p, .hook = hook, .ctx = ctx, .out = out };
	struct measure_trial scratch;
	long max = p->max_trials < MEASURE_MAX_TRIALS ? p->max_trials : MEASURE_MAX_TRIALS;
	int err;

	memset(out, 0, sizeof *out);
	if (hook)
		hook(ctx, "sizing", 0.0);
	if ((err = size_passes(&r)))
		return err;
	log_info("sized %ld passes (%.6f s per pass)", out->passes, out->pass_seconds);

	if (hook && p->warmup_trials > 0)
		hook(ctx, "warmup", 0.05);
	for (long i = 0; i < p->warmup_trials; i++) {
		if ((err = one_trial(&r, NULL, &scratch)))
			return err;
		out->warmups_done++;
		resize(p, out, &scratch);
	}

	if (hook)
		hook(ctx, "measuring", 0.1);
	while (out->n_trials < (size_t)max) {
		struct measure_trial *t = &out->trials[out->n_trials];
		if ((err = one_trial(&r, on_edge, t)))
			return err;
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
		if (t->flags & MEASURE_FLAG_CONTAMINATED) {
			/* Foreign work inside the window: the figure is not the candidate's. */
			if (out->n_rejected < MEASURE_MAX_RETRIES)
				out->rejected[out->n_rejected++] = *t;
			if (++out->retries > MEASURE_MAX_RETRIES)
				return fail(&r, -EAGAIN, "internal",
					    "the measurement CPU kept being used by other tasks");
			continue;
		}
		out->n_trials++;
		double tot[MEASURE_MAX_TRIALS];
		for (size_t i = 0; i < out->n_trials; i++)
			tot[i] = out->trials[i].net_total_j;
		double cv = stats_cv_percent(tot, out->n_trials);
		if (hook)
			hook(ctx, "measuring", 0.1 + 0.85 * (double)out->n_trials / (double)max);
		if (stats_should_stop(out->n_trials, (size_t)p->min_trials, (size_t)max, cv,
				      p->target_cv_percent, &out->stop))
			break;
	}
	summarize(p, out);
	return 0;
}

/* JSON has no NaN or infinity: an undefined figure (CV of one trial) is null. */
static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

json_t *measure_metrics_json(const struct measure_result *r, bool estimated)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:[o,o], s:s, s:b, s:b, s:s, s:I, s:I, s:o}",
		"median_package_energy_joules", num(r->median_package_j),
		"median_ram_energy_joules", num(r->median_dram_j),
		"median_total_energy_joules", num(r->median_total_j),
		"median_execution_time_seconds", num(r->median_seconds),
		/* one "test case" execution is one call: the same figure as energy_per_call */
		"energy_per_test_case_joules", num(r->energy_per_call_j),
		"power_consumption_watts", num(r->power_watts),
		/* calls per joule: higher is better, comparable across problems of one size */
		"energy_efficiency_score", num(r->energy_per_call_j > 0 ? 1.0 / r->energy_per_call_j : 0.0),
		"energy_per_call_joules", num(r->energy_per_call_j),
		"passes_per_trial", (json_int_t)r->passes,
		"trials", (json_int_t)r->n_trials,
		"cv_percent", num(r->cv_percent),
		"ci95_total_energy_joules", num(r->ci95_low_j), num(r->ci95_high_j),
		"ci95_method", stats_ci_method_name(r->ci_method),
		"estimated", estimated,
		"below_noise_floor", r->below_noise,
		"stop_reason", stats_stop_reason_name(r->stop),
		"retried_trials", (json_int_t)r->retries,
		"resized_trials", (json_int_t)r->resized,
		"pass_seconds", num(r->pass_seconds));
}

static json_t *trial_json(const struct measure_trial *t, bool kept)
{
	json_t *raw = json_object(), *net = json_object(), *wr = json_object(), *flags = json_array();
	for (int d = 0; d < METER_NDOMAINS; d++) {
		if (!(t->present & (1u << d)))
			continue;
		const char *name = meter_domain_name((enum meter_domain)d);
		json_object_set_new(raw, name, json_integer((json_int_t)t->raw_uj[d]));
		json_object_set_new(net, name, json_integer((json_int_t)t->net_uj[d]));
		json_object_set_new(wr, name, json_integer((json_int_t)t->wraps[d]));
	}
	if (t->flags & MEASURE_FLAG_BELOW_NOISE)
		json_array_append_new(flags, json_string("below_noise_floor"));
	if (t->flags & MEASURE_FLAG_CONTAMINATED)
		json_array_append_new(flags, json_string("contaminated"));
	return json_pack("{s:i, s:b, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
		"seq", (int)t->seq, "kept", kept,
		"wall_ns", (json_int_t)t->wall_ns, "harness_ns", (json_int_t)t->harness_ns,
		"passes", (json_int_t)t->passes, "raw_uj", raw, "net_uj", net,
		"wraps", wr, "flags", flags, "foreign_cpu_percent", num(t->foreign_percent));
}

/* Kept trials first (in order), then the rejected (contaminated) ones. */
json_t *measure_trials_json(const struct measure_result *r)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < r->n_trials; i++)
		json_array_append_new(arr, trial_json(&r->trials[i], true));
	for (size_t i = 0; arr && i < r->n_rejected; i++)
		json_array_append_new(arr, trial_json(&r->rejected[i], false));
	return arr;
}
