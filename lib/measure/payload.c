/* payload.c — see payload.h. */
#include "payload.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"
#include "report.h"
#include "util.h"

int payload_submission_sha256(const struct measure_request *req, char hex[65])
{
	json_t *sub = json_pack("{s:s, s:s, s:s, s:O}", "candidate_code", req->candidate_code,
				"function_name", req->function_name, "language", req->language,
				"test_cases", req->test_cases);
	char *text = sub ? json_dumps(sub, JSON_COMPACT) : NULL, *canon = NULL;
	size_t len = 0;
	char msg[128];
	int err = text ? jcs_canonicalize_text(text, strlen(text), &canon, &len, msg, sizeof msg)
		       : -ENOMEM;

	if (!err)
		util_sha256_hex(canon, len, hex);
	free(canon);
	free(text);
	json_decref(sub);
	return err;
}

static json_t *domains_json(unsigned present, const uint64_t *u, const int64_t *s,
			    const uint32_t *w)
{
	json_t *o = json_object();
	for (int d = 0; o && d < METER_NDOMAINS; d++) {
		if (!(present & (1u << d)))
			continue;
		json_int_t v = u ? (json_int_t)u[d] : s ? (json_int_t)s[d] : (json_int_t)w[d];
		json_object_set_new(o, meter_domain_name((enum meter_domain)d), json_integer(v));
	}
	return o;
}

static json_t *trial_json(const struct measure_trial *t, bool net)
{
	return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
		"wall_ns", (json_int_t)t->wall_ns, "passes", (json_int_t)t->passes,
		"raw_uj", domains_json(t->present, t->raw_uj, NULL, NULL),
		/* without a profile there is no idle figure: raw is never labelled net */
		"net_uj", net ? domains_json(t->present, NULL, t->net_uj, NULL) : json_null(),
		/* the candidate's part of a shared package's energy (net_uj is the
		 * whole package's) */
		"candidate_uj", t->share >= 0 ? json_integer((json_int_t)llround(t->energy_j * 1e6))
					      : json_null(),
		"wraps", domains_json(t->present, NULL, NULL, t->wraps),
		"flags", report_flags_json(t->flags),
		/* per mille: the seal holds no floats it does not need */
		"cpu_share_permille", t->cpu_share >= 0 ? json_integer((json_int_t)llround(t->cpu_share * 1000))
							 : json_null());
}

/* The kept trials, or the rejected ones (contaminated, inconsistent). */
static json_t *trials_json(const struct measure_result *mr, bool rejected, bool net)
{
	json_t *arr = json_array();
	size_t n = rejected ? mr->n_rejected : mr->n_trials;
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, trial_json(rejected ? &mr->rejected[i] : &mr->trials[i], net));
	return arr;
}

static json_int_t uj(double joules)
{
	return (json_int_t)llround(joules * 1e6);
}

json_t *payload_build(const struct payload_input *in)
{
	const struct measure_result *mr = in->mr;
	char issued[UTIL_RFC3339_LEN], cpus[256], pkg[256];
	json_t *domains = json_array();

	util_rfc3339(in->issued_realtime_ns, issued);
	cpuset_format(&in->layout->measurement, cpus, sizeof cpus);
	cpuset_format(&in->layout->package, pkg, sizeof pkg);
	for (int d = 0; domains && d < METER_NDOMAINS; d++)
		if (meter_domains(in->meter) & (1u << d))
			json_array_append_new(domains, json_string(meter_domain_name((enum meter_domain)d)));

	double calls = (double)mr->passes * (double)in->calls_per_pass;
	bool net = in->calib != NULL;
	json_t *cal = !net ? json_null() :
		json_pack("{s:s, s:o, s:o, s:s, s:b, s:o, s:o}", "sha256", in->calib->sha256,
			  "idle_package_watts", json_real(in->calib->idle_package_watts),
			  "idle_dram_watts", json_real(in->calib->idle_dram_watts),
			  "measured_at", in->calib->measured_at,
			  /* a profile written despite a refusal says so in every seal */
			  "forced", in->calib->forced,
			  "background_busy_percent", json_real(in->calib->background_busy_percent),
			  /* what attribution.baseline_ns is taken from */
			  "baseline_busy_percent", json_real(in->calib->baseline_busy_percent));
	json_t *p = json_pack(
		"{s:i, s:s, s:s, s:s, s:o, s:s, s:{s:s, s:b, s:o}, s:o,"
		" s:{s:i, s:s, s:s, s:i, s:b, s:s, s:I, s:I, s:I, s:o, s:o, s:b, s:I, s:I, s:I, s:I, s:I,"
		" s:o, s:o, s:s}}",
		"seal_version", 1, "issuer", "jouletrace", "task_id", in->task_id,
		"issued_at", issued, "host", hostid_json(in->host, in->host_id), "submission_sha256", in->submission_sha256,
		"meter", "backend", meter_backend(in->meter), "estimated", meter_estimated(in->meter),
		"domains", domains,
		"calibration", cal,
		"measurement", "cpu", in->cpu, "measurement_cpus", cpus, "package_cpus", pkg,
		"socket", in->layout->socket, "shared_package", in->layout->shared_package,
		/* median_* and energy_per_call below: the candidate's part, or the whole net */
		"energy_basis", mr->candidate_share ? "candidate_share" : "package_net",
		"lock_fencing_token", (json_int_t)in->fence,
		"passes", (json_int_t)mr->passes, "test_cases", (json_int_t)in->calls_per_pass,
		"trials", trials_json(mr, false, net), "rejected_trials", trials_json(mr, true, net),
		"idle_subtracted", net,
		"median_package_uj", uj(mr->median_package_j),
		"median_dram_uj", uj(mr->median_dram_j),
		"median_total_uj", uj(mr->median_total_j),
		"package_median_net_uj", uj(mr->package_median_total_j),
		"median_wall_ns", (json_int_t)llround(mr->median_seconds * 1e9),
		/* JSON has no NaN: one trial has no CV */
		"cv_percent", isfinite(mr->cv_percent) ? json_real(mr->cv_percent) : json_null(),
		"energy_per_call_uj", json_real(calls > 0 ? mr->median_total_j * 1e6 / calls : 0),
		"stop_reason", stats_stop_reason_name(mr->stop));
	json_t *m = p ? json_object_get(p, "measurement") : NULL;
	if (m && json_object_set_new(m, "sandbox", in->sandbox ? json_deep_copy(in->sandbox)
								: json_null()) != 0) {
		json_decref(p);
		return NULL;
	}
	if (p && in->attribution)
		json_object_set_new(p, "attribution",
				    attrib_seal_json(in->attribution, in->attribution_source, 256));
	return p;
}
