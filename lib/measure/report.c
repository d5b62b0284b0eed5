/* report.c — see report.h. */
#include "report.h"

#include <math.h>

/* JSON has no NaN or infinity: an undefined figure (CV of one trial) is null. */
static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

json_t *report_metrics_json(const struct measure_result *r, bool estimated)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:[o,o], s:s, s:b, s:b, s:s, s:I, s:I, s:o, s:I}",
		/* what the energy figures below describe (issue 8) */
		"energy_basis", r->candidate_share ? "candidate_share" : "package_net",
		"median_package_energy_joules", num(r->median_package_j),
		"median_ram_energy_joules", num(r->median_dram_j),
		"median_total_energy_joules", num(r->median_total_j),
		"package_median_net_energy_joules", num(r->package_median_total_j),
		"median_execution_time_seconds", num(r->median_seconds),
		/* JouleTrace's meanings, so its notebooks compute what they did: a
		 * trial's median total over the test cases, and the score is that
		 * same figure (lower is better).  Compare by energy_per_call. */
		"energy_per_test_case_joules", num(r->energy_per_test_case_j),
		"power_consumption_watts", num(r->power_watts),
		"energy_efficiency_score", num(r->energy_per_test_case_j),
		"energy_per_call_joules", num(r->energy_per_call_j),
		"passes_per_trial", (json_int_t)r->passes,
		"trials", (json_int_t)r->n_trials,
		"cv_percent", num(r->cv_percent),
		"ci95_total_energy_joules", num(r->ci95_low_j), num(r->ci95_high_j),
		"ci95_method", stats_ci_method_name(r->ci_method),
		"estimated", estimated,
		"below_noise_floor", r->below_noise,
		"stop_reason", stats_stop_reason_name(r->stop),
		/* trials only: a repeated sizing window is not a trial, and is
		 * not among the rejected trials either */
		"retried_trials", (json_int_t)(r->retries - r->sizing_retries),
		"resized_trials", (json_int_t)r->resized,
		"pass_seconds", num(r->pass_seconds),
		"sizing_windows", (json_int_t)r->sizing_windows);
}

/* The names of a trial's flags (the result and the seal use the same). */
json_t *report_flags_json(unsigned flags)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ MEASURE_FLAG_BELOW_NOISE, "below_noise_floor" },
		{ MEASURE_FLAG_CONTAMINATED, "contaminated" },
		{ MEASURE_FLAG_LOW_CPU_SHARE, "low_cpu_share" },
		{ MEASURE_FLAG_TIME_INCONSISTENT, "time_per_pass_inconsistent" },
		{ MEASURE_FLAG_ENERGY_INCONSISTENT, "energy_per_pass_inconsistent" },
		{ MEASURE_FLAG_COUNTER_RESET, "counter_reset" },
	};
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < sizeof names / sizeof names[0]; i++)
		if (flags & names[i].bit)
			json_array_append_new(arr, json_string(names[i].name));
	return arr;
}

static json_t *trial_json(const struct measure_trial *t, bool kept)
{
	json_t *raw = json_object(), *net = json_object(), *wr = json_object();
	for (int d = 0; d < METER_NDOMAINS; d++) {
		if (!(t->present & (1u << d)))
			continue;
		const char *name = meter_domain_name((enum meter_domain)d);
		json_object_set_new(raw, name, json_integer((json_int_t)t->raw_uj[d]));
		json_object_set_new(net, name, json_integer((json_int_t)t->net_uj[d]));
		json_object_set_new(wr, name, json_integer((json_int_t)t->wraps[d]));
	}
	return json_pack("{s:i, s:b, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		"seq", (int)t->seq, "kept", kept,
		"wall_ns", (json_int_t)t->wall_ns, "reported_ns", (json_int_t)t->reported_ns,
		"noise_floor_uj", (json_int_t)llround(t->noise_floor_j * 1e6),
		"passes", (json_int_t)t->passes, "raw_uj", raw, "net_uj", net,
		"wraps", wr, "flags", report_flags_json(t->flags),
		"foreign_cpu_percent", num(t->foreign_percent),
		"cpu_share", t->cpu_share >= 0 ? num(t->cpu_share) : json_null(),
		"candidate_share", t->share >= 0 ? num(t->share) : json_null(),
		"candidate_energy_uj", num(t->energy_j * 1e6),
		"ns_per_pass", num(t->ns_per_pass),
		"energy_per_pass_uj", num(t->energy_j * 1e6 / (double)t->passes),
		"ratio_to_sizing", num(t->ratio_to_sizing));
}

/* Kept trials first (in order), then the rejected (contaminated or inconsistent) ones. */
json_t *report_trials_json(const struct measure_result *r)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < r->n_trials; i++)
		json_array_append_new(arr, trial_json(&r->trials[i], true));
	for (size_t i = 0; arr && i < r->n_rejected; i++)
		json_array_append_new(arr, trial_json(&r->rejected[i], false));
	return arr;
}
