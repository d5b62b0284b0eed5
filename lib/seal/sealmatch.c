/* sealmatch.c — a task's figures against its sealed payload (see sealmatch.h). */
#include "sealmatch.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "jsonget.h"
#include "util.h"

/* Integers as sealed: equal, both present. */
static bool same_int(double a, double b)
{
	return isfinite(a) && isfinite(b) && a == b;
}

/* A trial's figures against the sealed trial: "" or the first that differs. */
static const char *trial_differs(const json_t *t, const json_t *s)
{
	static const char *const ints[] = { "passes", "wall_ns" };
	static const char *const domains[] = { "package", "dram" };
	for (size_t i = 0; i < 2; i++)
		if (!same_int(jsonget_num(t, ints[i]), jsonget_num(s, ints[i])))
			return ints[i];
	for (size_t i = 0; i < 2; i++) {
		if (!same_int(jsonget_num(json_object_get(t, "raw_uj"), domains[i]),
			      jsonget_num(json_object_get(s, "raw_uj"), domains[i])))
			return i ? "raw_uj.dram" : "raw_uj.package";
		if (!same_int(jsonget_num(json_object_get(t, "net_uj"), domains[i]),
			      jsonget_num(json_object_get(s, "net_uj"), domains[i])))
			return i ? "net_uj.dram" : "net_uj.package";
	}
	double mine = jsonget_num(t, "candidate_energy_uj");
	if (!same_int(isfinite(mine) ? (double)llround(mine) : NAN, jsonget_num(s, "candidate_uj")))
		return "candidate_energy_uj";
	return "";
}

/* a·scale against a sealed figure b: within rel of b, and within `step` more
 * where the seal rounded it (median_total_uj is whole µJ; energy_per_call_uj
 * is not rounded: a tiny figure must not hide inside a whole µJ). */
static bool close_to(double a, double scale, double b, double step)
{
	return isfinite(a) && isfinite(b) && fabs(a * scale - b) <= step + 1e-9 * fabs(b);
}

static int headline(const json_t *task, const json_t *m, char *why, size_t cap)
{
	const json_t *em = json_object_get(task, "energy_metrics");
	if (!close_to(jsonget_num(em, "energy_per_call_joules"), 1e6, jsonget_num(m, "energy_per_call_uj"), 0)) {
		util_say(why, cap, "energy_per_call_joules is %.9g, the seal says %.9g µJ",
			 jsonget_num(em, "energy_per_call_joules"), jsonget_num(m, "energy_per_call_uj"));
		return -EBADMSG;
	}
	if (!close_to(jsonget_num(em, "median_total_energy_joules"), 1e6, jsonget_num(m, "median_total_uj"), 0.5)) {
		util_say(why, cap, "median_total_energy_joules is %.9g, the seal says %.0f µJ",
			 jsonget_num(em, "median_total_energy_joules"), jsonget_num(m, "median_total_uj"));
		return -EBADMSG;
	}
	return 0;
}

int sealmatch_task(const json_t *task, char *why, size_t cap)
{
	const json_t *pl = json_object_get(json_object_get(task, "seal"), "payload");
	const json_t *m = json_object_get(pl, "measurement");
	const json_t *sealed = json_object_get(m, "trials"), *trials = json_object_get(task, "trials");
	const char *id = json_string_value(json_object_get(task, "task_id"));
	const char *sid = json_string_value(json_object_get(pl, "task_id"));

	if (!json_is_array(sealed) || !json_is_array(trials)) {
		util_say(why, cap, "no sealed measurement to compare");
		return -ENODATA;
	}
	if (!id || !sid || strcmp(id, sid) != 0) {
		util_say(why, cap, "the task is %s, the seal names %s", id ? id : "(none)",
			 sid ? sid : "(none)");
		return -EBADMSG;
	}
	size_t k = 0, i;
	const json_t *t;
	json_array_foreach(trials, i, t) {
		if (!json_is_true(json_object_get(t, "kept")))
			continue;
		const json_t *s = json_array_get(sealed, k++);
		const char *field = s ? trial_differs(t, s) : "the trial";
		if (*field) {
			util_say(why, cap, "kept trial %zu: %s is not the sealed one", k, field);
			return -EBADMSG;
		}
	}
	if (k != json_array_size(sealed)) {
		util_say(why, cap, "%zu kept trials, the seal has %zu", k, json_array_size(sealed));
		return -EBADMSG;
	}
	return headline(task, m, why, cap);
}
