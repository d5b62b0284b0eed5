/* compare.c — the comparison of measured tasks (see compare.h). */
#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jsonget.h"
#include "stats.h"
#include "util.h"

#define MAX_TRIAL_FIGURES 64    /* a task has at most 50 kept trials (SPEC §3) */
#define MAX_PAIRS (COMPARE_MAX_TASKS * (COMPARE_MAX_TASKS - 1) / 2)

struct item {
	const json_t *r;
	const char *id, *reason;
	double fig[MAX_TRIAL_FIGURES];
	size_t n;
	double median, mean;
	bool ok;
};

struct pair {
	size_t a, b;
	struct stats_welch w;
	bool tested;
	double p_adj;
};

/* A finite number as JSON; NAN and ±INF (undefined) as null. */
static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* A member of o as a new reference, null when absent. */
static json_t *member(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_incref(v ? v : json_null());
}

int compare_trial_figures(const json_t *result, double *out, size_t cap, size_t *n)
{
	*n = 0;
	const char *status = jsonget_str(result, "status");
	const json_t *trials = json_object_get(result, "trials");
	double tests = jsonget_num(json_object_get(result, "validation"), "total_tests");
	if (!status || strcmp(status, "completed") != 0 || !json_is_array(trials) || !(tests >= 1))
		return -EINVAL;
	size_t i;
	const json_t *t;
	json_array_foreach(trials, i, t) {
		if (!json_is_true(json_object_get(t, "kept")))
			continue;
		double uj = jsonget_num(t, "candidate_energy_uj"), passes = jsonget_num(t, "passes");
		if (!isfinite(uj) || !(passes >= 1) || *n >= cap)
			return *n = 0, -EINVAL;
		out[(*n)++] = uj / 1e6 / (passes * tests);
	}
	return *n ? 0 : -EINVAL;
}

static void load_item(struct item *it, const json_t *r)
{
	it->r = r;
	it->id = jsonget_str(r, "task_id");
	const char *status = jsonget_str(r, "status");
	if (!status || strcmp(status, "completed") != 0) {
		it->reason = "the task is not completed";
		return;
	}
	if (compare_trial_figures(r, it->fig, MAX_TRIAL_FIGURES, &it->n) != 0) {
		it->reason = "the task has no usable trial figures";
		return;
	}
	it->median = stats_median(it->fig, it->n);
	it->mean = stats_mean(it->fig, it->n);
	it->ok = isfinite(it->median) && isfinite(it->mean);
	if (!it->ok)
		it->reason = "the task's trial figures are not finite";
}

/* Holm's step-down adjustment of the tested pairs' p-values. */
static void holm(struct pair *p, size_t np)
{
	size_t order[MAX_PAIRS], m = 0;
	for (size_t i = 0; i < np; i++)
		if (p[i].tested)
			order[m++] = i;
	for (size_t i = 1; i < m; i++)          /* insertion sort by p: m ≤ 190 */
		for (size_t j = i; j > 0 && p[order[j]].w.p < p[order[j - 1]].w.p; j--) {
			size_t x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	double running = 0;
	for (size_t k = 0; k < m; k++) {
		double adj = fmin(1, (double)(m - k) * p[order[k]].w.p);
		running = fmax(running, adj);   /* monotone: never below an earlier step */
		p[order[k]].p_adj = running;
	}
}

static json_t *item_json(const struct item *it, const struct item *best, size_t rank)
{
	const json_t *r = it->r, *em = json_object_get(r, "energy_metrics");
	const json_t *env = json_object_get(r, "measurement_environment");
	json_t *figs = json_array(), *ci = json_array();
	double calls = jsonget_num(em, "passes_per_trial") *
		       jsonget_num(json_object_get(r, "validation"), "total_tests");
	const json_t *ci_tot = json_object_get(em, "ci95_total_energy_joules");
	for (size_t i = 0; figs && i < it->n; i++)
		json_array_append_new(figs, json_real(it->fig[i]));
	if (ci && it->ok && calls > 0) {
		json_array_append_new(ci, num(json_number_value(json_array_get(ci_tot, 0)) / calls));
		json_array_append_new(ci, num(json_number_value(json_array_get(ci_tot, 1)) / calls));
	}
	return json_pack("{s:s?, s:o, s:o, s:s?, s:b, s:s?, s:o, s:o?, s:o, s:o, s:o, s:o, s:o, s:o, s:o?, s:s?, s:s?}",
		"task_id", it->id,
		"candidate_id", member(r, "candidate_id"), "problem_name", member(r, "problem_name"),
		"status", jsonget_str(r, "status"), "comparable", it->ok, "reason", it->reason,
		"energy_per_call_joules", it->ok ? num(jsonget_num(em, "energy_per_call_joules")) : json_null(),
		"ci95_per_call_joules", ci,
		"mean_per_call_joules", it->ok ? num(it->mean) : json_null(),
		"trials", it->ok ? json_integer((json_int_t)it->n) : json_null(),
		"cv_percent", it->ok ? num(jsonget_num(em, "cv_percent")) : json_null(),
		"median_execution_time_seconds", it->ok ? num(jsonget_num(em, "median_execution_time_seconds")) : json_null(),
		"ratio_to_best", it->ok && best ? num(it->median / best->median) : json_null(),
		"rank", it->ok ? json_integer((json_int_t)rank) : json_null(),
		"trial_per_call_joules", figs,
		"host_id", jsonget_str(env, "host_id"), "meter", jsonget_str(env, "meter_type"));
}

static json_t *pair_json(const struct item *items, const struct pair *p)
{
	const struct item *a = &items[p->a], *b = &items[p->b];
	bool sig = p->tested && p->p_adj < COMPARE_ALPHA;
	const char *cheaper = sig ? (p->w.diff < 0 ? a->id : b->id) : NULL;
	return json_pack("{s:s?, s:s?, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:s?}",
		"a", a->id, "b", b->id, "difference_joules", num(a->mean - b->mean),
		"ratio", num(a->median / b->median),
		"t", p->tested ? num(p->w.t) : json_null(),
		"df", p->tested ? num(p->w.df) : json_null(),
		"p_value", p->tested ? num(p->w.p) : json_null(),
		"p_adjusted", p->tested ? num(p->p_adj) : json_null(),
		"significant", sig, "cheaper", cheaper);
}

/* Differences that make the comparison doubtful, said once each. */
static json_t *warnings_json(const struct item *items, size_t n)
{
	json_t *w = json_array();
	const char *host = NULL, *meter = NULL;
	bool hosts = false, meters = false, estimated = false, noise = false, single = false;
	for (size_t i = 0; w && i < n; i++) {
		if (!items[i].ok)
			continue;
		const json_t *env = json_object_get(items[i].r, "measurement_environment");
		const json_t *em = json_object_get(items[i].r, "energy_metrics");
		const char *h = jsonget_str(env, "host_id"), *m = jsonget_str(env, "meter_type");
		hosts |= host && h && strcmp(host, h) != 0;
		meters |= meter && m && strcmp(meter, m) != 0;
		host = host ? host : h;
		meter = meter ? meter : m;
		estimated |= json_is_true(json_object_get(env, "estimated"));
		noise |= json_is_true(json_object_get(em, "below_noise_floor"));
		single |= items[i].n < 2;
	}
	if (hosts)
		json_array_append_new(w, json_string("the tasks were measured on different hosts"));
	if (meters)
		json_array_append_new(w, json_string("the tasks were measured with different meters"));
	if (estimated)
		json_array_append_new(w, json_string("an estimated meter (not a hardware counter) measured some tasks"));
	if (noise)
		json_array_append_new(w, json_string("some figures are below the meter's noise floor"));
	if (single)
		json_array_append_new(w, json_string("a task with one trial cannot be tested"));
	return w;
}

static size_t rank_of(const struct item *items, size_t n, size_t i)
{
	size_t rank = 1;
	for (size_t j = 0; j < n; j++) {
		if (j == i || !items[j].ok)
			continue;
		/* ties: the one given first ranks first */
		double mine = items[i].median, theirs = items[j].median;
		if (theirs < mine || (theirs == mine && j < i))
			rank++;
	}
	return rank;
}

static void test_pairs(const struct item *items, size_t n, struct pair *pairs, size_t *np)
{
	*np = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			if (!items[i].ok || !items[j].ok)
				continue;
			struct pair *p = &pairs[(*np)++];
			*p = (struct pair){ .a = i, .b = j };
			p->tested = stats_welch(items[i].fig, items[i].n, items[j].fig, items[j].n,
						&p->w) == 0 && !isnan(p->w.p);
		}
	holm(pairs, *np);
}

json_t *compare_build(json_t *const *results, size_t n, char *why, size_t cap)
{
	if (n < 1 || n > COMPARE_MAX_TASKS) {
		util_say(why, cap, "compare takes 1 to %d tasks, got %zu", COMPARE_MAX_TASKS, n);
		errno = EINVAL;
		return NULL;
	}
	struct item *items = calloc(n, sizeof *items);
	struct pair *pairs = calloc(MAX_PAIRS, sizeof *pairs);
	json_t *out = NULL;
	size_t np = 0;
	if (!items || !pairs)
		goto nomem;
	const struct item *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!json_is_object(results[i]) || !jsonget_str(results[i], "task_id")) {
			util_say(why, cap, "item %zu is not a task", i);
			errno = EINVAL;
			goto out;
		}
		load_item(&items[i], results[i]);
		if (items[i].ok && (!best || items[i].median < best->median))
			best = &items[i];
	}
	test_pairs(items, n, pairs, &np);
	json_t *jitems = json_array(), *jpairs = json_array();
	for (size_t i = 0; jitems && i < n; i++)
		if (json_array_append_new(jitems, item_json(&items[i], best, rank_of(items, n, i))))
			json_decref(jitems), jitems = NULL;
	for (size_t i = 0; jpairs && i < np; i++)
		if (json_array_append_new(jpairs, pair_json(items, &pairs[i])))
			json_decref(jpairs), jpairs = NULL;
	out = json_pack("{s:s, s:f, s:s, s:s, s:s?, s:o?, s:o?, s:o?}", "test", "welch_t",
			"alpha", COMPARE_ALPHA, "adjustment", "holm",
			"figure", "energy_per_call_joules", "best", best ? best->id : NULL,
			"warnings", warnings_json(items, n), "items", jitems, "pairs", jpairs);
	if (!out || !jitems || !jpairs || !json_object_get(out, "warnings")) {
		json_decref(out);
		out = NULL;
		goto nomem;
	}
	goto out;
nomem:
	util_say(why, cap, "out of memory");
	errno = ENOMEM;
out:
	free(items);
	free(pairs);
	return out;
}
