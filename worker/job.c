/* job.c — see job.h. */
#include "job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "attrib.h"
#include "config.h"
#include "executor.h"
#include "gate.h"
#include "log.h"
#include "measure.h"
#include "payload.h"
#include "report.h"
#include "proto.h"
#include "util.h"


int job_validate(const struct job_env *env, const struct measure_request *req,
		 const struct job_hooks *hk, struct job_outcome *out)
{
	json_t *validation = NULL;
	struct gate_cases c;
	int err;

	memset(out, 0, sizeof *out);
	if ((err = gate_cases_split(req, &c)) == 0)
		/* /validate never measures: the infra CPUs, no lock */
		err = gate_run(env, req, &c, hk, &env->layout->infra, out, &validation);
	else
		snprintf(out->error_type, sizeof out->error_type, "internal");
	gate_cases_free(&c);
	if (err == -ECANCELED)
		return err;
	out->ok = err == 0;
	out->result = json_pack("{s:o?}", "validation", validation);
	return 0;
}

/*
 * Per-measurement state seen by the engine's hook and edge callbacks: the
 * job's hooks, and attribution (an on-CPU snapshot at each window edge, one
 * attrib_window per measured trial, indexed by the trial's seq).
 */
struct window_ctx {
	const struct job_hooks *hk;
	const struct job_env *env;
	pid_t root;
	struct cpuset cpu;
	struct oncpu_snapshot before;
	struct attrib_window *wins;     /* [seq] */
	size_t nwins;
	int err;
};

static int measure_hook(void *arg, const char *stage, double progress, int trial, int trials_max)
{
	struct window_ctx *w = arg;
	const struct job_hooks *hk = w->hk;
	if (stage && hk->stage)
		hk->stage(hk->ctx, stage, progress, trial, trials_max);
	if (hk->lock_lost && hk->lock_lost(hk->ctx))
		return 1;
	return hk->cancelled ? hk->cancelled(hk->ctx) : 0;
}

static void on_edge(void *arg, int edge, struct measure_trial *t)
{
	struct window_ctx *w = arg;
	struct oncpu_snapshot after = { 0 }, diff = { 0 };
	struct attrib_window win;

	if (!w->env->oncpu || w->err)
		return;
	if (edge == 0) {
		oncpu_snapshot_free(&w->before);
		w->err = oncpu_snapshot(w->env->oncpu, &w->before);
		return;
	}
	if ((w->err = oncpu_snapshot(w->env->oncpu, &after)) ||
	    (w->err = oncpu_diff(&w->before, &after, &diff)))
		goto out;
	struct attrib_trial_opts o = {
		.candidate_root = w->root, .service_tgid = w->env->service_pid,
		.foreign_max_percent = w->env->cfg->attribution_foreign_max_percent,
		.measurement_cpus = cpuset_count(&w->cpu),
		.shared_package = w->env->layout->shared_package, .calib = w->env->calib,
		.exact_cpu = oncpu_source(w->env->oncpu) == ONCPU_BPF,
	};
	if ((w->err = attrib_trial_split(&diff, &o, t, &win)))
		goto out;
	if (t->seq >= w->nwins) {
		size_t n = t->seq + 16;
		struct attrib_window *nw = realloc(w->wins, n * sizeof *nw);
		if (!nw) {
			attrib_window_free(&win);
			w->err = -ENOMEM;
			goto out;
		}
		memset(nw + w->nwins, 0, (n - w->nwins) * sizeof *nw);
		w->wins = nw;
		w->nwins = n;
	}
	attrib_window_free(&w->wins[t->seq]);
	w->wins[t->seq] = win;
out:
	oncpu_snapshot_free(&after);
	oncpu_snapshot_free(&diff);
}

/* The kept trials' windows summed: what the result and the seal report. */
static int attribution_total(struct window_ctx *w, const struct measure_result *mr,
			     struct attrib_window *total)
{
	memset(total, 0, sizeof *total);
	for (size_t i = 0; i < mr->n_trials; i++) {
		unsigned seq = mr->trials[i].seq;
		if (seq >= w->nwins)
			return -ENOENT;
		int err = attrib_add(total, &w->wins[seq]);
		if (err)
			return err;
	}
	return 0;
}

/*
 * ": comm (pid) N ms, …" — the foreign processes that took the most time on
 * the measurement CPUs in the observed windows (sizing and trials); time on
 * the package's other CPUs is accounted for, not a disturbance.
 */
static void busy_culprits(const struct window_ctx *w, char *buf, size_t cap)
{
	struct attrib_window sum = { 0 };
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < w->nwins; i++)
		if (w->wins[i].procs && attrib_add(&sum, &w->wins[i]) != 0)
			break;
	/* the three with the most time on the measurement CPUs */
	for (; n < 3; n++) {
		struct attrib_proc *top = NULL;
		for (size_t i = 0; i < sum.n; i++) {
			struct attrib_proc *p = &sum.procs[i];
			if (p->role == ATTRIB_FOREIGN && p->pid != 0 && p->measurement_ns > 0 &&
			    (!top || p->measurement_ns > top->measurement_ns))
				top = p;
		}
		if (!top)
			break;
		size_t used = strlen(buf);
		snprintf(buf + used, cap - used, "%s%s (pid %d) %.0f ms", n ? ", " : ": ", top->comm,
			 (int)top->pid, (double)top->measurement_ns / 1e6);
		top->measurement_ns = 0;   /* named: the next pick is another */
	}
	attrib_window_free(&sum);
}

static void window_ctx_free(struct window_ctx *w)
{
	for (size_t i = 0; i < w->nwins; i++)
		attrib_window_free(&w->wins[i]);
	free(w->wins);
	oncpu_snapshot_free(&w->before);
}

static json_t *environment_json(const struct job_env *env, const struct measure_request *req,
				int cpu, const struct harness *h)
{
	char cpus[256], infra[256], pkg[256];
	cpuset_format(&env->layout->measurement, cpus, sizeof cpus);
	cpuset_format(&env->layout->package, pkg, sizeof pkg);
	cpuset_format(&env->layout->infra, infra, sizeof infra);
	/* What the trials' sandbox really applied (the gate's is the same). */
	json_t *sandbox = sandbox_report_json(harness_sandbox(h));
	json_object_set_new(sandbox, "memory_limit_mb", json_integer(req->memory_limit_mb));
	json_object_set_new(sandbox, "timeout_seconds", json_integer(req->timeout_seconds));
	char now[UTIL_RFC3339_LEN];
	util_rfc3339(util_realtime_ns(), now);
	/* thermal_controlled: JouleTrace's field; nothing here controls temperature */
	return json_pack("{s:s, s:b, s:i, s:s, s:s, s:s, s:i, s:b, s:s, s:s, s:s, s:s, s:o, s:b, s:s,"
			 " s:{s:s, s:s, s:b, s:s?, s:f, s:f}}",
		"meter_type", meter_backend(env->meter),
		"estimated", meter_estimated(env->meter),
		"measurement_core", cpu, "measurement_cpus", cpus, "infra_cpus", infra,
		"package_cpus", pkg,
		"socket", env->layout->socket,
		"shared_package", env->layout->shared_package,
		"cpu_model", env->host->cpu_model, "kernel", env->host->kernel,
		"host_fingerprint", env->host->fingerprint,
		/* which host measured it, when several share one Redis (issue 11) */
		"host_id", hostid_name(env->host, env->host_id),
		"sandbox", sandbox, "thermal_controlled", false, "timestamp", now,
		"calibration", "sha256", env->calib->sha256, "measured_at", env->calib->measured_at,
		"forced", env->calib->forced, "forced_reason",
		env->calib->forced ? env->calib->forced_reason : NULL,
		"background_busy_percent", env->calib->background_busy_percent,
		"baseline_busy_percent", env->calib->baseline_busy_percent);
}

/* The outcome failed with error_type type and a formatted message. */
__attribute__((format(printf, 3, 4)))
static void outcome_fail(struct job_outcome *out, const char *type, const char *fmt, ...)
{
	va_list ap;
	out->ok = false;
	snprintf(out->error_type, sizeof out->error_type, "%s", type);
	va_start(ap, fmt);
	vsnprintf(out->error_message, sizeof out->error_message, fmt, ap);
	va_end(ap);
}

/* SPEC §3's parameters of one task: the request's, the config's, the profile's. */
static void params_of(const struct job_env *env, const struct measure_request *req,
		      const struct gate_cases *c, struct measure_params *p)
{
	*p = (struct measure_params){
		.max_trials = req->energy_measurement_trials,
		.min_trials = req->min_trials,
		.warmup_trials = req->warmup_trials,
		.target_cv_percent = req->target_cv_percent,
		.min_trial_seconds = req->min_trial_seconds,
		.timeout_seconds = req->timeout_seconds,
		.n_tests = c->n,
		.expected = c->expected,
		.test_ids = c->ids,
		.tamper_ratio = env->cfg->tampering_ratio,
		.noise_floor_joules = env->cfg->noise_floor_joules,
		.meter_poll_ms = 20,
		.max_passes = env->cfg->max_calls_per_window / (long)(c->n ? c->n : 1),
	};
	if (p->max_passes < 1)
		p->max_passes = 1;
	p->idle_watts[METER_PACKAGE] = env->calib->idle_package_watts;
	p->idle_watts[METER_DRAM] = env->calib->idle_dram_watts;
	p->idle_stddev_watts[METER_PACKAGE] = env->calib->stddev_package_watts;
	p->idle_stddev_watts[METER_DRAM] = env->calib->stddev_dram_watts;
}

/* What measure_run's failure (err ≠ 0) or a lost lock makes of the outcome:
 * -ECANCELED passes through, anything else is the task's failure (0). */
static int run_failed(const struct job_hooks *hk, const struct window_ctx *wc,
		      const struct measure_result *mr, int err, struct job_outcome *out)
{
	if (hk->lock_lost && hk->lock_lost(hk->ctx)) {
		outcome_fail(out, "internal", "the measurement lock was lost during the run; "
			     "result discarded");
		return 0;
	}
	if (err == -ECANCELED)
		return err;
	char who[300] = "";
	if (err == -EBUSY)   /* host_busy: say who occupied the measurement CPUs (issue 8) */
		busy_culprits(wc, who, sizeof who);
	outcome_fail(out, mr->error_type, "%s%s", mr->error_message, who);
	return 0;
}

/* The completed task: its result body and the seal payload, both or neither. */
static void completed(const struct job_env *env, const struct measure_request *req,
		      const struct measure_result *mr, const struct attrib_window *total,
		      json_t *validation, int cpu, long long fence, const struct harness *h,
		      struct job_outcome *out)
{
	const char *source = env->oncpu ? oncpu_source_name(oncpu_source(env->oncpu)) : NULL;
	out->ok = true;
	out->n_trials = mr->n_trials;
	for (size_t i = 0; i < mr->n_trials; i++) {
		out->trial_seconds[i] = (double)mr->trials[i].wall_ns / 1e9;
		out->energy_joules += mr->trials[i].energy_j;
	}
	out->result = json_pack("{s:O, s:o?, s:o, s:o, s:o, s:{s:I, s:s, s:s?}}",
		"validation", validation,
		"attribution", env->oncpu ? attrib_result_json(total, source, 64) : NULL,
		"energy_metrics", report_metrics_json(mr, meter_estimated(env->meter)),
		"trials", report_trials_json(mr),
		"measurement_environment", environment_json(env, req, cpu, h),
		"measurement_lock", "fencing_token", (json_int_t)fence,
		"calibration_sha256", env->calib->sha256,
		"calibration_measured_at", env->calib->measured_at);
	char sub[65] = "";
	payload_submission_sha256(req, sub);
	json_t *sandbox = sandbox_report_json(harness_sandbox(h));
	struct payload_input pin = {
		.task_id = env->task_id ? env->task_id : "", .submission_sha256 = sub,
		.calls_per_pass = req->n_tests, .mr = mr,
		.attribution = env->oncpu ? total : NULL, .attribution_source = source,
		.host = env->host, .host_id = env->host_id, .calib = env->calib, .meter = env->meter,
		.layout = env->layout,
		.cpu = cpu, .fence = fence, .issued_realtime_ns = util_realtime_ns(),
		.sandbox = sandbox,
	};
	out->seal_payload = sub[0] && pin.sandbox ? payload_build(&pin) : NULL;
	json_decref(sandbox);
	if (!out->result || !out->seal_payload)   /* never "completed" without body and seal */
		outcome_fail(out, "internal", "the result could not be encoded as JSON");
}

int job_measure(const struct job_env *env, const struct measure_request *req,
		const struct job_hooks *hk, struct job_outcome *out)
{
	struct measure_result *mr = NULL;
	struct harness *h = NULL;
	json_t *validation = NULL;
	struct cpuset one;
	struct window_ctx wc = { .hk = hk, .env = env };
	struct attrib_window total = { 0 };
	struct gate_cases c = { 0 };
	struct candidate_error e = { 0 };
	long long fence = 0;
	bool locked = false;
	int cpu, err;

	memset(out, 0, sizeof *out);
	if ((err = gate_cases_split(req, &c)))
		goto out;
	/*
	 * The lock comes before the gate (SPEC §3 has it after): the gate runs on
	 * the same CPU, in the same sandbox, as the trials, so candidate code sees
	 * the same surroundings in both (issue 4), and that CPU is only ever used
	 * under the lock.
	 */
	if (hk->stage)
		hk->stage(hk->ctx, "waiting_for_lock", 0.0, 0, 0);
	if ((err = hk->lock_acquire(hk->ctx, &fence)))
		goto out;
	locked = true;

	cpu = req->cpu_core_set ? (int)req->cpu_core : cpuset_first(&env->layout->measurement);
	memset(&one, 0, sizeof one);
	cpuset_set(&one, cpu);
	if (hk->stage)
		hk->stage(hk->ctx, "validating", 0.02, 0, 0);
	err = gate_run(env, req, &c, hk, &one, out, &validation);
	if (err || out->error_type[0])
		goto out;
	/* A fresh candidate process for the trials: nothing the code built while
	 * it was being checked carries over (issue 7). */
	if ((err = gate_spawn_loaded(env, req, &c, &one, hk, &h, &e))) {
		outcome_fail(out, e.type, "%s", e.message);
		goto out;
	}
	struct measure_params p;
	params_of(env, req, &c, &p);
	if (!(mr = calloc(1, sizeof *mr))) {
		err = -ENOMEM;
		goto out;
	}
	wc.root = harness_pid(h);
	wc.cpu = one;
	if (env->oncpu) {
		/* Forget threads that are gone, before this job's first snapshot. */
		oncpu_gc(env->oncpu);
		if (oncpu_source(env->oncpu) == ONCPU_PROC)
			oncpu_track(env->oncpu, wc.root);
	}
	struct candidate cand;
	proto_candidate(h, &cand);
	err = measure_run(&cand, env->meter, &p, measure_hook, env->oncpu ? on_edge : NULL, &wc, mr);
	if (err || (hk->lock_lost && hk->lock_lost(hk->ctx))) {
		err = run_failed(hk, &wc, mr, err, out);
		goto out;
	}
	if (env->oncpu && (wc.err || (err = attribution_total(&wc, mr, &total)))) {
		outcome_fail(out, "internal", "attribution failed: %s",
			     strerror(-(wc.err ? wc.err : err)));
		err = 0;
		goto out;
	}
	completed(env, req, mr, &total, validation, cpu, fence, h, out);
out:
	harness_free(h);
	if (locked)
		hk->lock_release(hk->ctx);
	window_ctx_free(&wc);
	gate_cases_free(&c);
	attrib_window_free(&total);
	if (!out->ok && err != -ECANCELED && !out->result)
		out->result = json_pack("{s:O?}", "validation", validation);
	json_decref(validation);
	free(mr);
	return err == -ECANCELED ? err : (err && !out->error_type[0] ? err : 0);
}

void job_outcome_free(struct job_outcome *out)
{
	json_decref(out->result);
	json_decref(out->seal_payload);
	out->result = NULL;
	out->seal_payload = NULL;
}
