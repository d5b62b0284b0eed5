/*
 * golden_print.c — the bytes a fixed measurement leaves the process as.
 *
 * One made-up measurement (kept and rejected trials, flags, a shared
 * package's split, an attribution window, a host, a profile) goes through
 * the functions that turn a result into what clients and auditors receive:
 * the task record's energy_metrics and trials (JSON_COMPACT, as the worker
 * stores them), the seal payload, and the seal signed with a fixed key
 * (Ed25519 is deterministic).  Printed one document per line:
 *
 *   energy_metrics, trials, flags, attribution (result), payload (JCS), seal
 *
 * tests/golden/expected.txt holds what this printed on the tree before the
 * layering (issue 9); test_golden compares the current tree with it, and
 * scripts/golden_compare.sh REV prints it from any older tree.  Built with
 * -DJT_GOLDEN_OLD_API against trees older than lib/measure/report, and
 * -DJT_GOLDEN_MAIN to be a program (test_golden includes it instead).
 *
 * The meter is the model meter, whose name, estimate flag and domains do
 * not depend on the host.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib.h"
#include "calib.h"
#include "cpuset.h"
#include "hostid.h"
#include "jcs.h"
#include "measure.h"
#include "meter.h"
#include "payload.h"
#include "seal.h"
#ifdef JT_GOLDEN_OLD_API
#define report_metrics_json measure_metrics_json
#define report_trials_json measure_trials_json
#define report_flags_json measure_flags_json
#else
#include "report.h"
#endif

static void trial(struct measure_trial *t, unsigned seq, long passes, uint64_t wall_ns,
		  uint64_t pkg_uj, uint64_t dram_uj, unsigned flags, double share)
{
	memset(t, 0, sizeof *t);
	t->seq = seq;
	t->passes = passes;
	t->wall_ns = wall_ns;
	t->reported_ns = wall_ns - 1234567;
	t->present = METER_BIT(METER_PACKAGE) | METER_BIT(METER_DRAM);
	t->raw_uj[METER_PACKAGE] = pkg_uj;
	t->raw_uj[METER_DRAM] = dram_uj;
	/* idle 3.25 W package, 0.5 W DRAM */
	t->net_uj[METER_PACKAGE] = (int64_t)pkg_uj - (int64_t)(3.25 * (double)wall_ns / 1e3);
	t->net_uj[METER_DRAM] = (int64_t)dram_uj - (int64_t)(0.5 * (double)wall_ns / 1e3);
	t->wraps[METER_PACKAGE] = seq == 2;
	t->net_total_j = (double)(t->net_uj[METER_PACKAGE] + t->net_uj[METER_DRAM]) / 1e6;
	t->noise_floor_j = 0.0137;
	t->flags = flags;
	t->foreign_percent = 0.25 * seq;
	t->cpu_share = 0.987 - 0.001 * seq;
	t->share = share;
	t->energy_j = share >= 0 ? t->net_total_j * share : t->net_total_j;
	t->ns_per_pass = (double)wall_ns / (double)passes;
	t->ratio_to_sizing = 0.97 + 0.01 * seq;
}

static void result(struct measure_result *r)
{
	memset(r, 0, sizeof *r);
	r->passes = 29983;
	r->pass_seconds = 1.0 / 29983 * 0.6;
	r->warmups_done = 1;
	trial(&r->trials[0], 3, r->passes, 612345678, 9876543, 654321, 0, 0.4375);
	trial(&r->trials[1], 4, r->passes, 598765432, 9712345, 649876, MEASURE_FLAG_LOW_CPU_SHARE,
	      0.4411);
	trial(&r->trials[2], 6, r->passes, 605000001, 9800001, 651000,
	      MEASURE_FLAG_BELOW_NOISE, 0.4399);
	r->n_trials = 3;
	trial(&r->rejected[0], 5, r->passes, 640000000, 12000000, 700000,
	      MEASURE_FLAG_CONTAMINATED | MEASURE_FLAG_TIME_INCONSISTENT, 0.31);
	r->n_rejected = 1;
	r->sizing_ns_per_pass = 20123.456;
	r->sizing_windows = 4;
	r->retries = 1;
	r->resized = 0;
	r->stop = STOP_CV_TARGET;
	r->candidate_share = true;
	r->median_package_j = 3.1234567;
	r->median_dram_j = 0.3456789;
	r->median_total_j = 3.4691356;
	r->package_median_total_j = 7.891011;
	r->median_seconds = 0.605000001;
	r->cv_percent = 1.23456789;
	r->ci95_low_j = 3.41;
	r->ci95_high_j = 3.52;
	r->ci_method = STATS_CI_MEAN_T;
	r->energy_per_call_j = r->median_total_j / (29983.0 * 3);
	r->energy_per_test_case_j = r->median_total_j / 3;
	r->power_watts = r->median_total_j / r->median_seconds;
	r->below_noise = true;
}

static void window(struct attrib_window *w, struct attrib_proc *p)
{
	static const struct { int pid, ppid; const char *comm; enum attrib_role role;
			      uint64_t ns, mns; int64_t uj; } rows[] = {
		{ 4242, 4241, "python3", ATTRIB_CANDIDATE, 598000000, 598000000, 3401234 },
		{ 4100, 1, "jouletrace-work", ATTRIB_HARNESS, 1200000, 0, 6823 },
		{ 77, 2, "kworker/0:1", ATTRIB_FOREIGN, 45000000, 1000000, 255912 },
		{ 0, 0, "(other)", ATTRIB_FOREIGN, 3000000, 0, 17061 },
	};
	memset(w, 0, sizeof *w);
	for (size_t i = 0; i < 4; i++) {
		p[i].pid = rows[i].pid;
		p[i].ppid = rows[i].ppid;
		snprintf(p[i].comm, sizeof p[i].comm, "%s", rows[i].comm);
		p[i].role = rows[i].role;
		p[i].cpu_ns = rows[i].ns;
		p[i].measurement_ns = rows[i].mns;
		p[i].energy_uj = rows[i].uj;
	}
	w->procs = p;
	w->n = 4;
	w->dynamic_uj = 3681030;
	w->idle_uj = 2268750;
	w->unattributed_uj = 0;
	w->busy_ns = 650000000;
	w->baseline_ns = 2800000;
	w->split_ns = 647200000;
	w->role_ns[ATTRIB_CANDIDATE] = 598000000;
	w->role_ns[ATTRIB_HARNESS] = 1200000;
	w->role_ns[ATTRIB_FOREIGN] = 48000000;
	w->foreign_measurement_ns = 1000000;
	w->foreign_percent = 0.1652892;
	w->capacity_ns = 605000001;
}

static int print(FILE *out, json_t *j, size_t flags)
{
	char *s = j ? json_dumps(j, flags) : NULL;
	if (!s)
		return -1;
	fprintf(out, "%s\n", s);
	free(s);
	json_decref(j);
	return 0;
}

/* The six documents into out; 0, or -1 with the reason on stderr. */
static int golden_write(FILE *out)
{
	static struct measure_result mr;
	struct attrib_proc procs[4];
	struct attrib_window w;
	struct hostid host = { 0 };
	struct calib_profile cal = { 0 };
	struct cpu_layout lay = { 0 };
	struct seal_key key;
	unsigned char seed[SEAL_SEED_BYTES];
	char why[256], *canon = NULL;
	size_t len = 0;

	result(&mr);
	window(&w, procs);
	snprintf(host.machine_id, sizeof host.machine_id, "0123456789abcdef0123456789abcdef");
	snprintf(host.cpu_model, sizeof host.cpu_model, "Golden CPU @ 2.00GHz");
	snprintf(host.microcode, sizeof host.microcode, "0x2b000571");
	snprintf(host.kernel, sizeof host.kernel, "6.1.0-golden");
	snprintf(host.hostname, sizeof host.hostname, "golden<&>\"host\"");
	snprintf(host.fingerprint, sizeof host.fingerprint, "%064d", 7);
	snprintf(cal.sha256, sizeof cal.sha256, "%064d", 42);
	cal.idle_package_watts = 3.25;
	cal.idle_dram_watts = 0.5;
	snprintf(cal.measured_at, sizeof cal.measured_at, "2026-11-29T12:00:00Z");
	cal.forced = true;
	cal.background_busy_percent = 12.5;
	cal.baseline_busy_percent = 0.47;
	cpuset_parse("1", &lay.measurement);
	cpuset_parse("0", &lay.infra);
	cpuset_parse("0-1", &lay.package);
	lay.socket = 0;
	lay.shared_package = true;
	struct meter_options mo = { .kind = "model", .socket = 0 };
	struct meter *m = meter_open(&mo, why, sizeof why);
	if (!m) {
		fprintf(stderr, "golden: model meter: %s\n", why);
		return -1;
	}
	json_t *sandbox = json_pack("{s:[s,s], s:[], s:s}", "applied", "uid", "seccomp",
				    "not_applied", "kill_mode", "pidns");
	struct payload_input in = {
		.task_id = "3f1c2a9e-0000-4000-8000-00000000g01d",
		.submission_sha256 = "ab12000000000000000000000000000000000000000000000000000000000000",
		.calls_per_pass = 3, .mr = &mr, .attribution = &w, .attribution_source = "ebpf",
		.host = &host, .host_id = "golden-a", .calib = &cal, .meter = m, .layout = &lay, .cpu = 1, .fence = 17,
		.issued_realtime_ns = 1795000000123456789ull, .sandbox = sandbox,
	};
	int e = 0;
	e |= print(out, report_metrics_json(&mr, true), JSON_COMPACT);
	e |= print(out, report_trials_json(&mr), JSON_COMPACT);
	e |= print(out, report_flags_json(MEASURE_FLAG_BELOW_NOISE | MEASURE_FLAG_CONTAMINATED |
				     MEASURE_FLAG_LOW_CPU_SHARE | MEASURE_FLAGS_TAMPER |
				     MEASURE_FLAG_COUNTER_RESET), JSON_COMPACT);
	e |= print(out, attrib_result_json(&w, "ebpf", 3), JSON_COMPACT);
	json_t *payload = payload_build(&in);
	if (!payload || jcs_serialize(payload, &canon, &len) != 0) {
		fprintf(stderr, "golden: payload failed\n");
		return -1;
	}
	fprintf(out, "%.*s\n", (int)len, canon);
	free(canon);
	for (size_t i = 0; i < sizeof seed; i++)
		seed[i] = (unsigned char)(i * 7 + 1);
	json_t *seal = NULL;
	if (seal_key_from_seed(seed, &key) != 0 || seal_sign(&key, payload, &seal) != 0) {
		fprintf(stderr, "golden: signing failed\n");
		return -1;
	}
	e |= print(out, seal, JSON_COMPACT);
	json_decref(payload);
	json_decref(sandbox);
	seal_key_wipe(&key);
	meter_close(m);
	return e ? -1 : 0;
}

#ifdef JT_GOLDEN_MAIN
int main(void)
{
	return golden_write(stdout) ? 1 : 0;
}
#endif
