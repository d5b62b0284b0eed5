/* reportpage.c — the HTML report of one task (see reportpage.h). */
#include "reportpage.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"
#include "jsonget.h"
#include "keys.h"
#include "pages.h"
#include "redis.h"
#include "sealmatch.h"
#include "svg.h"
#include "tasks.h"
#include "units.h"

#define TASKS_PATH "/api/v1/tasks/"
#define TOP_PROCESSES 10        /* the attribution chart: the rest is "other" */
#define VALUE_MAX 300           /* bytes of an expected/actual value shown */

static const char report_css[] =
	SVG_CSS
	"section h2 a{color:inherit;text-decoration:none}.grid{align-items:start}"
	"table.kv th{width:38%;text-transform:none;font-size:13px;color:var(--mut)}"
	"table.kv td{overflow-wrap:anywhere}"
	".note{color:var(--mut);font-size:13px;margin:8px 0 0}"
	"pre.err{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff5f5;"
	"border:1px solid #f3c4c4;border-radius:6px;padding:8px;margin:8px 0 0}";

/* ---- reading the task ----------------------------------------------------- */

/* Calls per trial: passes × test cases (SPEC §3), NAN when unknown. */
static double calls_per_trial(const json_t *task)
{
	return jsonget_num(json_object_get(task, "energy_metrics"), "passes_per_trial") *
	       jsonget_num(json_object_get(task, "validation"), "total_tests");
}

/* ---- small pieces --------------------------------------------------------- */

static void section(struct html *h, const char *id, const char *title)
{
	html_rawf(h, "<section class=\"card\" id=\"%s\"><h2><a href=\"#%s\">%s</a></h2>", id, id,
		  title);
}

static void figure(struct html *h, const char *label, double v, const char *unit)
{
	char b[32];
	html_rawf(h, "<div class=\"kpi\"><div class=\"v\">%s</div><div class=\"l\">%s</div></div>",
		  units_si(b, sizeof b, v, unit), label);
}

/* A row of a key/value table: the value is outside text (escaped), "−" when NULL. */
static void kv(struct html *h, const char *key, const char *value)
{
	html_rawf(h, "<tr><th>%s</th><td>", key);
	html_text(h, value ? value : "\xe2\x88\x92");
	html_raw(h, "</td></tr>");
}

static void kv_si(struct html *h, const char *key, double v, const char *unit)
{
	char b[32];
	html_rawf(h, "<tr><th>%s</th><td>%s</td></tr>", key, units_si(b, sizeof b, v, unit));
}

static void kv_count(struct html *h, const char *key, double v)
{
	if (isfinite(v))
		html_rawf(h, "<tr><th>%s</th><td>%.15g</td></tr>", key, v);
	else
		kv(h, key, NULL);
}

static void kv_bool(struct html *h, const char *key, const json_t *v)
{
	kv(h, key, json_is_true(v) ? "yes" : json_is_false(v) ? "no" : NULL);
}

/* Any JSON value as compact text, escaped, cut after VALUE_MAX bytes. */
static void json_value(struct html *h, const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	size_t n = s ? strlen(s) : 0;
	if (!v || json_is_null(v))
		html_raw(h, "<span class=\"mut\">null</span>");
	else if (!s)
		h->err = h->err ? h->err : -ENOMEM;
	else if (n > VALUE_MAX) {
		while (n > VALUE_MAX || ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		html_textn(h, s, n);
		html_raw(h, "\xe2\x80\xa6");
	} else {
		html_text(h, s);
	}
	free(s);
}

/* A list of strings (a JSON array) as one comma-separated text. */
static void kv_list(struct html *h, const char *key, const json_t *list)
{
	size_t i;
	const json_t *v;
	html_rawf(h, "<tr><th>%s</th><td>", key);
	if (!json_array_size(list))
		html_raw(h, "<span class=\"mut\">none</span>");
	json_array_foreach(list, i, v) {
		html_raw(h, i ? ", " : "");
		html_text(h, json_string_value(v));
	}
	html_raw(h, "</td></tr>");
}

static bool measured(const json_t *task)
{
	return json_is_object(json_object_get(task, "energy_metrics"));
}

static void not_measured(struct html *h, const json_t *task)
{
	const char *st = jsonget_str(task, "status");
	const char *why = !st ? "the task has no status"
		: strcmp(st, "failed") == 0 ? "the task failed (see the summary)"
		: strcmp(st, "cancelled") == 0 ? "the task was cancelled"
		: strcmp(st, "queued") == 0 ? "the task is still queued"
		: strcmp(st, "running") == 0 ? "the task is running: reload when it is done"
		: "no figures in this result";
	html_rawf(h, "<p class=\"mut\">Not measured: %s.</p>", why);
}

/* ---- sections ------------------------------------------------------------- */

static void summary(struct html *h, const json_t *task)
{
	const json_t *em = json_object_get(task, "energy_metrics");
	const char *status = jsonget_str(task, "status"), *id = jsonget_str(task, "task_id");
	bool ok = status && strcmp(status, "completed") == 0;
	bool bad = status && (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0);

	section(h, "summary", "Summary");
	html_rawf(h, "<p><span class=\"pill %s\" data-status=\"", ok ? "ok" : bad ? "bad" : "warn");
	html_text(h, status);
	html_raw(h, "\">");
	html_text(h, status);
	html_raw(h, "</span></p>");
	if (measured(task)) {
		html_raw(h, "<div class=\"kpis\">");
		figure(h, "energy per call", jsonget_num(em, "energy_per_call_joules"), "J");
		figure(h, "median energy per trial", jsonget_num(em, "median_total_energy_joules"), "J");
		figure(h, "time per call", jsonget_num(em, "median_execution_time_seconds") /
		       calls_per_trial(task), "s");
		figure(h, "power", jsonget_num(em, "power_consumption_watts"), "W");
		html_rawf(h, "<div class=\"kpi\"><div class=\"v\">%.3g %%</div><div class=\"l\">"
			  "CV over %.0f trials</div></div></div>", jsonget_num(em, "cv_percent"), jsonget_num(em, "trials"));
	}
	html_raw(h, "<div class=\"scroll\"><table class=\"kv\">");
	kv(h, "Task", id);
	kv(h, "Candidate", jsonget_str(task, "candidate_id"));
	kv(h, "Problem", jsonget_str(task, "problem_name"));
	kv(h, "Stage", jsonget_str(task, "stage"));
	kv(h, "Created", jsonget_str(task, "created_at"));
	kv(h, "Started", jsonget_str(task, "started_at"));
	kv(h, "Finished", jsonget_str(task, "finished_at"));
	kv_si(h, "Processing time", jsonget_num(task, "processing_time_seconds"), "s");
	html_raw(h, "</table></div>");
	if (jsonget_str(task, "error_type") || jsonget_str(task, "error_message")) {
		html_raw(h, "<pre class=\"err\" id=\"error\"><b>");
		html_text(h, jsonget_str(task, "error_type"));
		html_raw(h, "</b>: ");
		html_text(h, jsonget_str(task, "error_message"));
		html_raw(h, "</pre>");
	}
	html_raw(h, "<p class=\"note\"><a href=\"" TASKS_PATH);
	html_text(h, id);
	html_raw(h, "\">The result as JSON</a></p></section>");
}

static void energy(struct html *h, const json_t *task)
{
	const json_t *em = json_object_get(task, "energy_metrics"), *trials = json_object_get(task, "trials");
	size_t n = json_array_size(trials), k = 0, i, rejected = 0;
	const json_t *t;
	char lo[32], hi[32], med[32];

	section(h, "energy", "Energy per trial");
	if (!measured(task)) {
		not_measured(h, task);
		html_raw(h, "</section>");
		return;
	}
	struct svg_point *p = calloc(n ? n : 1, sizeof *p);
	char (*labels)[24] = calloc(n ? n : 1, sizeof *labels);
	if (!p || !labels) {
		h->err = h->err ? h->err : -ENOMEM;
		goto out;
	}
	json_array_foreach(trials, i, t) {
		if (!json_is_true(json_object_get(t, "kept"))) {
			rejected++;
			continue;
		}
		snprintf(labels[k], sizeof labels[k], "trial %.0f", jsonget_num(t, "seq"));
		p[k].label = labels[k];
		p[k++].value = jsonget_num(t, "candidate_energy_uj") / 1e6;
	}
	double m = jsonget_num(em, "median_total_energy_joules");
	double l = jsonget_at(em, "ci95_total_energy_joules", 0), u = jsonget_at(em, "ci95_total_energy_joules", 1);
	html_raw(h, "<div class=\"scroll\">");
	svg_dots(h, "trials", p, k, m, l, u, "J");
	html_rawf(h, "</div><p class=\"note\">The candidate's energy in each kept trial (%zu "
		  "trials", k);
	if (rejected)
		html_rawf(h, "; %zu rejected", rejected);
	html_rawf(h, "). Median %s (dashed line); 95%% interval of the mean %s \xe2\x80\x93 %s "
		  "(band, method ", units_si(med, sizeof med, m, "J"), units_si(lo, sizeof lo, l, "J"),
		  units_si(hi, sizeof hi, u, "J"));
	html_text(h, jsonget_str(em, "ci95_method"));
	html_raw(h, "). Energy basis: ");
	html_text(h, jsonget_str(em, "energy_basis"));
	html_raw(h, json_is_true(json_object_get(em, "estimated"))
		    ? "; the meter is a model: figures are <b>estimated</b>." : ".");
	if (json_is_true(json_object_get(em, "below_noise_floor")))
		html_raw(h, " <span class=\"warn\">Below the noise floor: the figure is not reliable."
			    "</span>");
	html_raw(h, "</p>");
out:
	free(p);
	free(labels);
	html_raw(h, "</section>");
}

static void split(struct html *h, const json_t *task)
{
	const json_t *em = json_object_get(task, "energy_metrics");
	section(h, "split", "Package and DRAM");
	if (!measured(task)) {
		not_measured(h, task);
		return (void)html_raw(h, "</section>");
	}
	struct svg_point p[2] = {
		{ .label = "package", .value = jsonget_num(em, "median_package_energy_joules") },
		{ .label = "dram", .value = jsonget_num(em, "median_ram_energy_joules") },
	};
	svg_stacked(h, "split", p, 2, "J");
	html_raw(h, "<p class=\"note\">Median candidate energy per trial by RAPL domain. ");
	char b[32];
	html_rawf(h, "The whole package's median net energy per trial: %s.</p></section>",
		  units_si(b, sizeof b, jsonget_num(em, "package_median_net_energy_joules"), "J"));
}

/* ---- attribution ---------------------------------------------------------- */

struct proc {
	const json_t *o;
	double e;
};

static int by_energy(const void *x, const void *y)
{
	double a = ((const struct proc *)x)->e, b = ((const struct proc *)y)->e;
	return (b > a) - (b < a);
}

static void process_table(struct html *h, const struct proc *ps, size_t n)
{
	html_raw(h, "<div class=\"scroll\"><table><tr><th>Process</th><th class=\"n\">pid</th>"
		    "<th>Role</th><th class=\"n\">CPU time</th><th class=\"n\">Energy</th></tr>");
	for (size_t i = 0; i < n; i++) {
		char c[32], e[32];
		html_raw(h, "<tr><td class=\"mono\">");
		html_text(h, jsonget_str(ps[i].o, "comm"));
		html_rawf(h, "</td><td class=\"n\">%.0f</td><td>", jsonget_num(ps[i].o, "pid"));
		html_text(h, jsonget_str(ps[i].o, "role"));
		html_rawf(h, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>",
			  units_si(c, sizeof c, jsonget_num(ps[i].o, "cpu_seconds"), "s"),
			  units_si(e, sizeof e, ps[i].e, "J"));
	}
	html_raw(h, "</table></div>");
}

static void attribution(struct html *h, const json_t *task)
{
	const json_t *at = json_object_get(task, "attribution"), *procs = json_object_get(at, "processes");
	size_t n = json_array_size(procs), i, shown;
	const json_t *o;

	section(h, "attribution", "Energy by process");
	if (!json_is_object(at)) {
		not_measured(h, task);
		return (void)html_raw(h, "</section>");
	}
	struct proc *ps = calloc(n ? n : 1, sizeof *ps);
	struct svg_point p[TOP_PROCESSES + 1];
	char labels[TOP_PROCESSES][64];
	if (!ps) {
		h->err = h->err ? h->err : -ENOMEM;
		return (void)html_raw(h, "</section>");
	}
	json_array_foreach(procs, i, o) {
		ps[i] = (struct proc){ .o = o, .e = jsonget_num(o, "energy_joules") };
	}
	qsort(ps, n, sizeof *ps, by_energy);
	shown = n < TOP_PROCESSES ? n : TOP_PROCESSES;
	for (i = 0; i < shown; i++) {
		const char *comm = jsonget_str(ps[i].o, "comm");
		snprintf(labels[i], sizeof labels[i], "%s (%.0f)", comm ? comm : "?", jsonget_num(ps[i].o, "pid"));
		p[i] = (struct svg_point){ .label = labels[i], .value = ps[i].e };
	}
	if (n > shown) {
		double rest = 0;
		for (i = shown; i < n; i++)
			rest += isfinite(ps[i].e) ? ps[i].e : 0;
		p[shown++] = (struct svg_point){ .label = "other", .value = rest };
	}
	html_raw(h, "<div class=\"scroll\">");
	svg_hbars(h, "processes", p, shown, "J");
	html_raw(h, "</div>");
	process_table(h, ps, n < TOP_PROCESSES ? n : TOP_PROCESSES);
	html_rawf(h, "<p class=\"note\">%zu processes ran on the package while measured", n);
	if (n > TOP_PROCESSES)
		html_rawf(h, " (the %zu smallest summed as \xe2\x80\x9cother\xe2\x80\x9d)", n - TOP_PROCESSES);
	char d[32], id[32], u[32];
	html_rawf(h, ". Dynamic energy %s, idle %s, unattributed %s; source ",
		  units_si(d, sizeof d, jsonget_num(at, "dynamic_energy_joules"), "J"),
		  units_si(id, sizeof id, jsonget_num(at, "idle_energy_joules"), "J"),
		  units_si(u, sizeof u, jsonget_num(at, "unattributed_energy_joules"), "J"));
	html_text(h, jsonget_str(at, "attribution_source"));
	html_raw(h, ".</p></section>");
	free(ps);
}

/* ---- sizing --------------------------------------------------------------- */

static void trial_table(struct html *h, const json_t *trials)
{
	size_t i, j;
	const json_t *t, *f;
	html_raw(h, "<div class=\"scroll\"><table><tr><th class=\"n\">Trial</th><th>Kept</th>"
		    "<th class=\"n\">Passes</th><th class=\"n\">Wall time</th>"
		    "<th class=\"n\">Candidate energy</th><th class=\"n\">Per pass</th>"
		    "<th>Flags</th></tr>");
	json_array_foreach(trials, i, t) {
		char w[32], e[32], pp[32];
		html_rawf(h, "<tr><td class=\"n\">%.0f</td><td>%s</td><td class=\"n\">%.0f</td>"
			  "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>",
			  jsonget_num(t, "seq"), json_is_true(json_object_get(t, "kept")) ? "yes" : "no",
			  jsonget_num(t, "passes"), units_si(w, sizeof w, jsonget_num(t, "wall_ns") / 1e9, "s"),
			  units_si(e, sizeof e, jsonget_num(t, "candidate_energy_uj") / 1e6, "J"),
			  units_si(pp, sizeof pp, jsonget_num(t, "energy_per_pass_uj") / 1e6, "J"));
		json_array_foreach(json_object_get(t, "flags"), j, f) {
			html_raw(h, j ? ", " : "");
			html_text(h, json_string_value(f));
		}
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</table></div>");
}

static void sizing(struct html *h, const json_t *task)
{
	const json_t *em = json_object_get(task, "energy_metrics");
	double calls = calls_per_trial(task);

	section(h, "sizing", "Sizing");
	if (!measured(task)) {
		not_measured(h, task);
		return (void)html_raw(h, "</section>");
	}
	html_raw(h, "<div class=\"scroll\"><table class=\"kv\">");
	kv_count(h, "Passes per trial", jsonget_num(em, "passes_per_trial"));
	kv_count(h, "Test cases per pass", jsonget_num(json_object_get(task, "validation"), "total_tests"));
	kv_count(h, "Calls per trial", calls);
	kv_si(h, "Median trial time", jsonget_num(em, "median_execution_time_seconds"), "s");
	kv_si(h, "Time per call", jsonget_num(em, "median_execution_time_seconds") / calls, "s");
	kv_si(h, "Energy per call", jsonget_num(em, "energy_per_call_joules"), "J");
	kv_si(h, "Energy per test case", jsonget_num(em, "energy_per_test_case_joules"), "J");
	kv_si(h, "Pass time when sized", jsonget_num(em, "pass_seconds"), "s");
	kv_count(h, "Sizing windows", jsonget_num(em, "sizing_windows"));
	kv(h, "Stopped because", jsonget_str(em, "stop_reason"));
	kv_count(h, "Trials retried", jsonget_num(em, "retried_trials"));
	kv_count(h, "Trials resized", jsonget_num(em, "resized_trials"));
	html_raw(h, "</table></div>");
	trial_table(h, json_object_get(task, "trials"));
	html_raw(h, "</section>");
}

/* ---- validation ----------------------------------------------------------- */

static void validation(struct html *h, const json_t *task)
{
	const json_t *v = json_object_get(task, "validation"), *t;
	size_t i;

	section(h, "validation", "Validation");
	if (!json_is_object(v)) {
		html_raw(h, "<p class=\"mut\">Not validated yet.</p></section>");
		return;
	}
	bool ok = json_is_true(json_object_get(v, "is_correct"));
	html_rawf(h, "<p><span class=\"pill %s\">%s</span> %.0f of %.0f tests passed</p>",
		  ok ? "ok" : "bad", ok ? "correct" : "incorrect", jsonget_num(v, "passed_tests"),
		  jsonget_num(v, "total_tests"));
	if (jsonget_str(v, "error_summary")) {
		html_raw(h, "<pre class=\"err\">");
		html_text(h, jsonget_str(v, "error_summary"));
		html_raw(h, "</pre>");
	}
	html_raw(h, "<div class=\"scroll\"><table><tr><th>Test</th><th>Result</th><th>Expected</th>"
		    "<th>Actual</th><th>Error</th><th class=\"n\">Time</th></tr>");
	json_array_foreach(json_object_get(v, "test_results"), i, t) {
		bool pass = json_is_true(json_object_get(t, "passed"));
		char s[32];
		html_raw(h, "<tr><td class=\"mono\">");
		html_text(h, jsonget_str(t, "test_id"));
		html_rawf(h, "</td><td class=\"%s\">%s</td><td class=\"mono\">", pass ? "ok" : "bad",
			  pass ? "passed" : "failed");
		json_value(h, json_object_get(t, "expected"));
		html_raw(h, "</td><td class=\"mono\">");
		json_value(h, json_object_get(t, "actual"));
		html_raw(h, "</td><td>");
		html_text(h, jsonget_str(t, "error_type"));
		html_raw(h, jsonget_str(t, "error_type") && jsonget_str(t, "error") ? ": " : "");
		html_text(h, jsonget_str(t, "error"));
		html_rawf(h, "</td><td class=\"n\">%s</td></tr>",
			  units_si(s, sizeof s, jsonget_num(t, "seconds"), "s"));
	}
	html_raw(h, "</table></div></section>");
}

/* ---- environment and seal ------------------------------------------------- */

static void environment(struct html *h, const json_t *task)
{
	const json_t *env = json_object_get(task, "measurement_environment");
	const json_t *cal = json_object_get(env, "calibration"), *sb = json_object_get(env, "sandbox");

	section(h, "environment", "Measurement environment");
	if (!json_is_object(env)) {
		not_measured(h, task);
		return (void)html_raw(h, "</section>");
	}
	html_raw(h, "<div class=\"scroll\"><table class=\"kv\">");
	kv(h, "Host", jsonget_str(env, "host_id"));
	kv(h, "Meter", jsonget_str(env, "meter_type"));
	kv_bool(h, "Estimated", json_object_get(env, "estimated"));
	kv(h, "CPU model", jsonget_str(env, "cpu_model"));
	kv(h, "Kernel", jsonget_str(env, "kernel"));
	kv_count(h, "Measurement core", jsonget_num(env, "measurement_core"));
	kv(h, "Measurement CPUs", jsonget_str(env, "measurement_cpus"));
	kv(h, "Infrastructure CPUs", jsonget_str(env, "infra_cpus"));
	kv(h, "Package CPUs", jsonget_str(env, "package_cpus"));
	kv_count(h, "Socket", jsonget_num(env, "socket"));
	kv_bool(h, "Package shared with other work", json_object_get(env, "shared_package"));
	kv_bool(h, "Thermal control", json_object_get(env, "thermal_controlled"));
	kv(h, "Calibrated at", jsonget_str(cal, "measured_at"));
	kv_bool(h, "Calibration forced", json_object_get(cal, "forced"));
	if (jsonget_str(cal, "forced_reason"))
		kv(h, "Why forced", jsonget_str(cal, "forced_reason"));
	kv(h, "Calibration SHA-256", jsonget_str(cal, "sha256"));
	kv(h, "Sandbox kill mode", jsonget_str(sb, "kill_mode"));
	kv_list(h, "Sandbox enforced", json_object_get(sb, "enforced"));
	kv_list(h, "Sandbox not enforced", json_object_get(sb, "not_enforced"));
	kv(h, "Measured at", jsonget_str(env, "timestamp"));
	html_raw(h, "</table></div></section>");
}

static void seal_section(struct html *h, const json_t *task, const struct report_seal *sv)
{
	const json_t *seal = json_object_get(task, "seal"), *pl = json_object_get(seal, "payload");
	/* verified: a published key signed it, and what this page shows is what
	 * it signed (a record altered after sealing keeps a valid signature) */
	bool ok = sv && sv->present && sv->verified && sv->figures != -EBADMSG;

	html_rawf(h, "<section class=\"card\" id=\"seal\" data-verified=\"%s\"><h2><a href=\"#seal\">"
		  "Seal</a></h2>", ok ? "true" : "false");
	if (!json_is_object(seal) || !sv || !sv->present) {
		html_raw(h, "<p class=\"mut\">No seal: only a completed measurement is sealed."
			    "<code class=\"key-id\" hidden></code></p></section>");
		return;
	}
	html_rawf(h, "<p><span class=\"pill %s\">%s</span></p>", ok ? "ok" : "bad",
		  ok ? "verified" : "does not verify");
	html_raw(h, "<div class=\"scroll\"><table class=\"kv\"><tr><th>Key id</th><td>"
		    "<code class=\"key-id\">");
	html_text(h, sv->key_id);
	html_raw(h, "</code></td></tr>");
	kv(h, "Verification", sv->reason);
	html_rawf(h, "<tr id=\"figures\" data-figures=\"%s\"><th>Figures on this page</th><td>",
		  sv->figures == 0 ? "as-sealed" : sv->figures == -EBADMSG ? "differ" : "not-compared");
	html_text(h, sv->figures == 0 ? "as sealed (every kept trial and the headline figures)"
		  : sv->figures == -EBADMSG ? "NOT the sealed ones: " : "not compared");
	if (sv->figures == -EBADMSG)
		html_text(h, sv->figures_reason);
	html_raw(h, "</td></tr>");
	kv(h, "Signed key id", jsonget_str(json_object_get(seal, "signature"), "key_id"));
	kv(h, "Algorithm", jsonget_str(json_object_get(seal, "signature"), "alg"));
	kv(h, "Issued at", jsonget_str(pl, "issued_at"));
	kv_count(h, "Sequence", jsonget_num(pl, "sequence"));
	kv(h, "Previous seal SHA-256", jsonget_str(pl, "prev_seal_sha256"));
	kv(h, "Submission SHA-256", jsonget_str(pl, "submission_sha256"));
	html_raw(h, "</table></div><p class=\"note\">The seal signs the measurement's raw figures; "
		    "check it yourself with POST /api/v1/seals/verify or jouletrace-verify and the "
		    "keys at /api/v1/keys.</p></section>");
}

int report_build(struct html *h, const json_t *task, const struct report_seal *seal)
{
	const char *who = jsonget_str(task, "candidate_id") ? jsonget_str(task, "candidate_id") : jsonget_str(task, "task_id");
	char title[160];
	int cut = who ? (int)strlen(who) : 0;
	while (cut > 140 || (cut > 0 && ((unsigned char)who[cut] & 0xC0) == 0x80))
		cut--;          /* 140 bytes at most, on a UTF-8 boundary */
	snprintf(title, sizeof title, "Report: %.*s%s", cut, who ? who : "", who && who[cut] ? "\xe2\x80\xa6" : "");
	html_begin(h, title, report_css);
	summary(h, task);
	energy(h, task);
	html_raw(h, "<div class=\"grid\">");
	split(h, task);
	sizing(h, task);
	html_raw(h, "</div>");
	attribution(h, task);
	validation(h, task);
	environment(h, task);
	seal_section(h, task, seal);
	return html_end(h);
}

/* ---- the handler ---------------------------------------------------------- */

static void check_seal(struct api *a, const json_t *task, struct report_seal *sv)
{
	const json_t *seal = json_object_get(task, "seal");
	memset(sv, 0, sizeof *sv);
	if (!json_is_object(seal))
		return;
	sv->present = true;
	sv->verified = seals_check(a, seal, sv->key_id, sv->reason, sizeof sv->reason) == 0;
	sv->figures = sealmatch_task(task, sv->figures_reason, sizeof sv->figures_reason);
}

void report_handle(struct api *a, const struct http_request *req, struct http_response *resp)
{
	const char *p = req->path + strlen(TASKS_PATH);
	size_t n = strlen(p) > strlen(REPORT_SUFFIX) ? strlen(p) - strlen(REPORT_SUFFIX) : 0;
	char id[48] = "";
	char *body = NULL;
	json_t *task = NULL;
	struct report_seal sv;
	struct html h;

	if (n < sizeof id) {
		memcpy(id, p, n);
		id[n] = '\0';
	}
	if (!keys_task_id_valid(id)) {
		pages_error(resp, 404, "No such task", "There is no task with that id.");
		return;
	}
	struct redis *r = redis_pool_get(a->pool);
	int err = r ? tasks_get_json(r, id, &body, NULL) : -EIO;
	if (r)
		redis_pool_put(a->pool, r);
	if (err == -ENOENT) {
		pages_error(resp, 404, "No such task",
				  "There is no task with that id (or its result has expired).");
		goto out;
	}
	if (err || !(task = json_loads(body, 0, NULL))) {
		pages_error(resp, err ? 503 : 500, "Not available",
				  err ? "Redis is unreachable: try again shortly." : "The task's record is unreadable.");
		if (err)
			snprintf(resp->retry_after, sizeof resp->retry_after, "5");
		goto out;
	}
	check_seal(a, task, &sv);
	html_init(&h);
	report_build(&h, task, &sv);
	pages_respond(resp, 200, &h, HTML_CSP_NO_SCRIPT);
out:
	json_decref(task);
	free(body);
}
