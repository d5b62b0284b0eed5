/* job.c — see job.h. */
#include "job.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "attrib.h"
#include "config.h"
#include "executor.h"
#include "log.h"
#include "measure.h"
#include "payload.h"
#include "procstat.h"
#include "proto.h"
#include "util.h"

#define POLL_MS 50
#define SUMMARY_MAX 5   /* failed tests named in error_summary */

static uint64_t deadline_s(long seconds)
{
	return util_mono_ns() + (uint64_t)seconds * 1000000000ull;
}

static int poll_cancel(void *arg)
{
	const struct job_hooks *hk = arg;
	return hk->cancelled ? hk->cancelled(hk->ctx) : 0;
}

static void exec_opts(const struct job_env *env, const struct measure_request *req,
		      const struct cpuset *cpus, struct exec_options *o)
{
	const struct jt_config *cfg = env->cfg;
	memset(o, 0, sizeof *o);
	o->python = cfg->python;
	o->harness_path = cfg->harness_path;
	o->cpus = *cpus;
	o->memory_limit_mb = req->memory_limit_mb;
	/* CPU time covers every message the harness answers, each bounded by timeout. */
	o->cpu_seconds = req->timeout_seconds *
			 (req->energy_measurement_trials + req->warmup_trials + 4);
	o->max_processes = cfg->sandbox_max_processes;
	o->max_file_bytes = cfg->sandbox_max_file_bytes;
	o->max_open_files = cfg->sandbox_max_open_files;
	o->max_output_bytes = (size_t)cfg->max_output_bytes;
	o->max_message_bytes = (size_t)cfg->max_harness_message_bytes;
	o->tmp_parent = "/tmp";
	o->sandbox_user = cfg->sandbox_user;
	o->sandbox_mandatory = cfg->sandbox_mandatory;
	o->sandbox_tmpfs_mb = cfg->sandbox_tmpfs_mb;
}

static void set_error(struct job_outcome *out, const struct proto_error *e)
{
	snprintf(out->error_type, sizeof out->error_type, "%s", e->type);
	snprintf(out->error_message, sizeof out->error_message, "%s", e->message);
}

/* Spawns a harness on cpus and loads the candidate into it. */
static int spawn_loaded(const struct job_env *env, const struct measure_request *req,
			const struct cpuset *cpus, const struct job_hooks *hk,
			struct harness **hp, struct proto_error *e)
{
	struct exec_options o;
	struct sandbox_report rep;
	json_t *reply = NULL;
	int err;

	exec_opts(env, req, cpus, &o);
	o.report = &rep;
	*hp = harness_spawn(&o);
	if (!*hp && errno == ENOTSUP) {
		/* A mandatory sandbox control is missing on this host: never run it. */
		char why[400];
		sandbox_report_missing(&rep, rep.mandatory, why, sizeof why);
		return proto_fail(e, -ENOTSUP, "internal", "refusing to run the candidate: "
				  "mandatory sandbox controls missing: %s", why);
	}
	if (!*hp)
		return proto_fail(e, -errno, "internal", "cannot start the harness: %s",
				  strerror(errno));
	err = proto_send(*hp, json_pack("{s:s, s:s, s:s, s:O}", "cmd", "load", "code",
					req->candidate_code, "function_name", req->function_name,
					"test_cases", req->test_cases), e);
	if (err)
		return err;
	err = proto_recv(*hp, deadline_s(req->timeout_seconds), POLL_MS, poll_cancel,
			 (void *)hk, &reply, e);
	if (err)
		return err;
	if (!json_is_true(json_object_get(reply, "ok")))
		err = proto_candidate_error(reply, e);
	json_decref(reply);
	return err;
}

/* JouleTrace's validation object from the harness's per-test results. */
static json_t *validation_json(json_t *reply, const char *load_error)
{
	json_t *results = json_object_get(reply, "results");
	json_int_t passed = json_integer_value(json_object_get(reply, "passed"));
	json_int_t total = json_integer_value(json_object_get(reply, "total"));
	char summary[1024] = "";
	size_t n = 0, shown = 0, idx;
	json_t *t;

	if (load_error) {
		snprintf(summary, sizeof summary, "%s", load_error);
	} else {
		json_array_foreach(results, idx, t) {
			if (json_is_true(json_object_get(t, "passed")))
				continue;
			if (shown++ >= SUMMARY_MAX)
				continue;
			const char *id = json_string_value(json_object_get(t, "test_id"));
			const char *er = json_string_value(json_object_get(t, "error"));
			char *exp = json_dumps(json_object_get(t, "expected"), JSON_COMPACT | JSON_ENCODE_ANY);
			char *act = json_dumps(json_object_get(t, "actual"), JSON_COMPACT | JSON_ENCODE_ANY);
			n += (size_t)snprintf(summary + n, n < sizeof summary ? sizeof summary - n : 0,
				"%s%s: %s%.80s%s%.80s", n ? "; " : "", id ? id : "?",
				er ? er : "expected ", er ? "" : (exp ? exp : "?"),
				er ? "" : ", got ", er ? "" : (act ? act : "?"));
			free(exp);
			free(act);
			if (n >= sizeof summary)
				n = sizeof summary - 1;
		}
	}
	return json_pack("{s:b, s:I, s:I, s:f, s:s?, s:O?}",
			 "is_correct", !load_error && total > 0 && passed == total,
			 "passed_tests", passed, "total_tests", total,
			 "pass_rate", total > 0 ? 100.0 * (double)passed / (double)total : 0.0,
			 "error_summary", summary[0] ? summary : NULL,
			 "test_results", results);
}

/* The gate: every test once in a harness on the infra CPUs. */
/*
 * The gate: every test once, in a harness on cpus.  With keep, the harness
 * stays alive for the trials (*keep; NULL when it failed), so a measured run
 * is the very process, CPU and sandbox that was checked.
 */
static int gate(const struct job_env *env, const struct measure_request *req,
		const struct job_hooks *hk, const struct cpuset *cpus, struct harness **keep,
		struct job_outcome *out, json_t **validation)
{
	struct harness *h = NULL;
	struct proto_error e = { 0 };
	json_t *reply = NULL;
	int err;

	*validation = NULL;
	if (keep)
		*keep = NULL;
	err = spawn_loaded(env, req, cpus, hk, &h, &e);
	if (err == -EPROTO) {
		/* The code did not load (syntax error, no such function): it fails the gate. */
		json_t *empty = json_pack("{s:I, s:I, s:[]}", "passed", (json_int_t)0, "total",
					  (json_int_t)req->n_tests, "results");
		*validation = validation_json(empty, e.message);
		json_decref(empty);
		snprintf(out->error_type, sizeof out->error_type, "validation_failed");
		snprintf(out->error_message, sizeof out->error_message, "%s", e.message);
		err = 0;
		goto out;
	}
	if (err)
		goto fail;
	if ((err = proto_send(h, json_pack("{s:s}", "cmd", "validate"), &e)))
		goto fail;
	/* timeout_seconds bounds the whole validation run (SPEC §4). */
	err = proto_recv(h, deadline_s(req->timeout_seconds), POLL_MS, poll_cancel, (void *)hk, &reply, &e);
	if (err)
		goto fail;
	if (!json_is_true(json_object_get(reply, "ok"))) {
		err = proto_candidate_error(reply, &e);
		goto fail;
	}
	*validation = validation_json(reply, NULL);
	if (!json_is_true(json_object_get(*validation, "is_correct"))) {
		const char *s = json_string_value(json_object_get(*validation, "error_summary"));
		snprintf(out->error_type, sizeof out->error_type, "validation_failed");
		snprintf(out->error_message, sizeof out->error_message,
			 "%lld of %lld tests failed: %s",
			 (long long)(json_integer_value(json_object_get(reply, "total")) -
				     json_integer_value(json_object_get(reply, "passed"))),
			 (long long)json_integer_value(json_object_get(reply, "total")),
			 s ? s : "");
	}
	if (keep && !out->error_type[0]) {
		*keep = h;
		h = NULL;
	}
	goto out;
fail:
	set_error(out, &e);
out:
	json_decref(reply);
	harness_free(h);
	return err;
}

int job_validate(const struct job_env *env, const struct measure_request *req,
		 const struct job_hooks *hk, struct job_outcome *out)
{
	json_t *validation = NULL;
	memset(out, 0, sizeof *out);
	/* /validate never measures: the infra CPUs, no lock */
	int err = gate(env, req, hk, &env->layout->infra, NULL, out, &validation);
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
	struct procstat *ps;            /* busy time, for the /proc source only */
	uint64_t busy_before;
	struct oncpu_snapshot before;
	struct attrib_window *wins;     /* [seq] */
	size_t nwins;
	int err;
};

static int measure_hook(void *arg, const char *stage, double progress)
{
	struct window_ctx *w = arg;
	const struct job_hooks *hk = w->hk;
	if (stage && hk->stage)
		hk->stage(hk->ctx, stage, progress);
	if (hk->lock_lost && hk->lock_lost(hk->ctx))
		return 1;
	return hk->cancelled ? hk->cancelled(hk->ctx) : 0;
}

static uint64_t busy_ns(struct window_ctx *w)
{
	struct procstat_sample s;
	if (!w->ps || procstat_read(w->ps, &w->cpu, &s) != 0)
		return 0;
	return s.busy * (1000000000ull / (uint64_t)procstat_hz());
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
		w->busy_before = busy_ns(w);
		w->err = oncpu_snapshot(w->env->oncpu, &w->before);
		return;
	}
	uint64_t busy_after = busy_ns(w);
	if ((w->err = oncpu_snapshot(w->env->oncpu, &after)) ||
	    (w->err = oncpu_diff(&w->before, &after, &diff)))
		goto out;
	struct attrib_params p = {
		.candidate_root = w->root, .service_tgid = w->env->service_pid,
		.dynamic_uj = t->net_uj[METER_PACKAGE] + t->net_uj[METER_DRAM],
		.idle_uj = (int64_t)(t->raw_uj[METER_PACKAGE] + t->raw_uj[METER_DRAM]) -
			   (t->net_uj[METER_PACKAGE] + t->net_uj[METER_DRAM]),
		.busy_ns = w->ps ? busy_after - w->busy_before : 0,
		.foreign_max_percent = w->env->cfg->attribution_foreign_max_percent,
		.capacity_ns = t->wall_ns * (uint64_t)cpuset_count(&w->cpu),
	};
	if ((w->err = attrib_split(&diff, &p, &win)))
		goto out;
	t->foreign_percent = win.foreign_percent;
	if (win.contaminated)
		t->flags |= MEASURE_FLAG_CONTAMINATED;
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

static void window_ctx_free(struct window_ctx *w)
{
	for (size_t i = 0; i < w->nwins; i++)
		attrib_window_free(&w->wins[i]);
	free(w->wins);
	oncpu_snapshot_free(&w->before);
	procstat_close(w->ps);
}

static json_t *environment_json(const struct job_env *env, const struct measure_request *req,
				int cpu, const struct harness *h)
{
	char cpus[256], infra[256];
	cpuset_format(&env->layout->measurement, cpus, sizeof cpus);
	cpuset_format(&env->layout->infra, infra, sizeof infra);
	/* What the trials' sandbox really applied (the gate's is the same). */
	json_t *sandbox = sandbox_report_json(harness_sandbox(h));
	json_object_set_new(sandbox, "memory_limit_mb", json_integer(req->memory_limit_mb));
	json_object_set_new(sandbox, "timeout_seconds", json_integer(req->timeout_seconds));
	return json_pack("{s:s, s:b, s:i, s:s, s:s, s:i, s:b, s:s, s:s, s:s, s:o}",
		"meter_type", meter_backend(env->meter),
		"estimated", meter_estimated(env->meter),
		"measurement_core", cpu, "measurement_cpus", cpus, "infra_cpus", infra,
		"socket", env->layout->socket,
		"shared_package", env->layout->shared_package,
		"cpu_model", env->host->cpu_model, "kernel", env->host->kernel,
		"host_fingerprint", env->host->fingerprint,
		"sandbox", sandbox);
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
	json_t *attribution = NULL;
	long long fence = 0;
	bool locked = false;
	int cpu, err;

	memset(out, 0, sizeof *out);
	/*
	 * The lock comes before the gate (SPEC §3 has it after): the gate runs in
	 * the same harness, on the same CPU, as the trials, so candidate code
	 * cannot tell a checked run from a measured one (issue 4), and that CPU is
	 * only ever used under the lock.
	 */
	if (hk->stage)
		hk->stage(hk->ctx, "waiting_for_lock", 0.0);
	if ((err = hk->lock_acquire(hk->ctx, &fence)))
		goto out;
	locked = true;

	cpu = req->cpu_core_set ? (int)req->cpu_core : cpuset_first(&env->layout->measurement);
	memset(&one, 0, sizeof one);
	cpuset_set(&one, cpu);
	if (hk->stage)
		hk->stage(hk->ctx, "validating", 0.02);
	err = gate(env, req, hk, &one, &h, out, &validation);
	if (err || out->error_type[0])
		goto out;

	struct measure_params p = {
		.max_trials = req->energy_measurement_trials,
		.min_trials = req->min_trials,
		.warmup_trials = req->warmup_trials,
		.target_cv_percent = req->target_cv_percent,
		.min_trial_seconds = req->min_trial_seconds,
		.timeout_seconds = req->timeout_seconds,
		.n_tests = req->n_tests,
		.noise_floor_joules = env->cfg->noise_floor_joules,
		.meter_poll_ms = 20,
		.max_passes = 100000000,
	};
	p.idle_watts[METER_PACKAGE] = env->calib->idle_package_watts;
	p.idle_watts[METER_DRAM] = env->calib->idle_dram_watts;
	mr = calloc(1, sizeof *mr);
	if (!mr) {
		err = -ENOMEM;
		goto out;
	}
	wc.root = harness_pid(h);
	wc.cpu = one;
	if (env->oncpu) {
		/* Forget threads that are gone, before this job's first snapshot. */
		oncpu_gc(env->oncpu);
		if (oncpu_source(env->oncpu) == ONCPU_PROC) {
			oncpu_track(env->oncpu, wc.root);
			wc.ps = procstat_open("");
		}
	}
	err = measure_run(h, env->meter, &p, measure_hook, env->oncpu ? on_edge : NULL, &wc, mr);
	if (hk->lock_lost && hk->lock_lost(hk->ctx)) {
		snprintf(out->error_type, sizeof out->error_type, "internal");
		snprintf(out->error_message, sizeof out->error_message,
			 "the measurement lock was lost during the run; result discarded");
		err = 0;
		goto out;
	}
	if (err == -ECANCELED)
		goto out;
	if (err) {
		snprintf(out->error_type, sizeof out->error_type, "%s", mr->error_type);
		snprintf(out->error_message, sizeof out->error_message, "%s", mr->error_message);
		err = 0;
		goto out;
	}
	if (env->oncpu) {
		if (wc.err || (err = attribution_total(&wc, mr, &total))) {
			snprintf(out->error_type, sizeof out->error_type, "internal");
			snprintf(out->error_message, sizeof out->error_message,
				 "attribution failed: %s", strerror(-(wc.err ? wc.err : err)));
			err = 0;
			goto out;
		}
		attribution = attrib_result_json(&total, oncpu_source_name(oncpu_source(env->oncpu)), 64);
	}
	out->ok = true;
	out->result = json_pack("{s:O, s:o?, s:o, s:o, s:o, s:{s:I, s:s, s:s?}}",
		"validation", validation, "attribution", attribution,
		"energy_metrics", measure_metrics_json(mr, meter_estimated(env->meter)),
		"trials", measure_trials_json(mr),
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
		.attribution = env->oncpu ? &total : NULL,
		.attribution_source = env->oncpu ? oncpu_source_name(oncpu_source(env->oncpu)) : NULL,
		.host = env->host, .calib = env->calib, .meter = env->meter, .layout = env->layout,
		.cpu = cpu, .fence = fence, .issued_realtime_ns = util_realtime_ns(),
		.sandbox = sandbox,
	};
	out->seal_payload = sub[0] && pin.sandbox ? payload_build(&pin) : NULL;
	json_decref(sandbox);
	if (!out->result || !out->seal_payload) {
		/* never report "completed" with an empty body or without its seal */
		out->ok = false;
		snprintf(out->error_type, sizeof out->error_type, "internal");
		snprintf(out->error_message, sizeof out->error_message,
			 "the result could not be encoded as JSON");
	}
out:
	harness_free(h);
	if (locked)
		hk->lock_release(hk->ctx);
	window_ctx_free(&wc);
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
