/* worker.c — see worker.h. */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calib.h"
#include "config.h"
#include "cpuset.h"
#include "hostid.h"
#include "job.h"
#include "jobstats.h"
#include "keys.h"
#include "lock.h"
#include "log.h"
#include "meter.h"
#include "oncpu.h"
#include "queue.h"
#include "redis.h"
#include "request.h"
#include "seal.h"
#include "sealchain.h"
#include "station.h"
#include "taskcount.h"
#include "taskseal.h"
#include "tasks.h"
#include "util.h"
#include "workers.h"

#define RESERVE_BLOCK_MS 1000
#define KEEPER_TICK_MS 50
#define CANCEL_CHECK_MS 200
#define RECOVER_EVERY_MS 3000
#define PROMOTE_EVERY_MS 500    /* delayed (host_busy) jobs are due at this grain */
#define REPAIR_EVERY_MS 60000  /* tasks_repair: cheap, O(queued + running) */
#define LOCK_RETRY_MS 200

struct worker {
	const struct jt_config *cfg;
	volatile sig_atomic_t *stop;
	struct station st;         /* layout, identity, meter; oncpu: measurement thread only */
	struct seal_key key;       /* the seal signing key (secret: never logged) */
	char host_id[128];
	char id[192];
	uint64_t started_ns;

	struct redis *r_main, *r_val, *r_keep;

	pthread_mutex_t mu;        /* guards lock, lock_held, task, last_renew_ns, last_sandbox */
	json_t *last_sandbox;      /* the sandbox report of the last measured task (record) */
	struct lock lock;
	bool lock_held;
	uint64_t last_renew_ns;
	char task[40];
	atomic_int cancel;         /* the running task was cancelled */
	atomic_int lock_lost;
	atomic_llong jobs_done;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static bool stopping(const struct worker *w)
{
	return *w->stop != 0;
}

/* ---- calibration ---------------------------------------------------------- */

static int load_calibration(struct worker *w, struct calib_profile *p, char *why, size_t cap)
{
	char cpus[256];
	cpuset_format(&w->st.layout.measurement, cpus, sizeof cpus);
	return calib_load_checked(w->cfg->calibration_file, w->st.host.fingerprint,
				  meter_backend(w->st.meter), cpus, util_realtime_ns(), p, why, cap);
}

/* ---- hooks for job.c ------------------------------------------------------ */

struct task_ctx {
	struct worker *w;
	const char *task_id;
	struct redis *r;
	uint64_t deadline_ns;   /* max_job_seconds from the start; 0 = none */
	bool timed_out;         /* the deadline, not a cancel, stopped it */
	char stage[32];         /* the last stage reported, for the timeout's message */
	double progress;
};

static int hook_cancelled(void *arg)
{
	struct task_ctx *t = arg;
	if (t->deadline_ns && util_mono_ns() > t->deadline_ns)
		t->timed_out = true;
	return t->timed_out || atomic_load(&t->w->cancel) || stopping(t->w);
}

static void hook_stage(void *arg, const char *stage, double progress, int trial, int trials_max)
{
	struct task_ctx *t = arg;
	snprintf(t->stage, sizeof t->stage, "%s", stage);
	t->progress = progress;
	if (t->task_id)
		tasks_progress(t->r, t->task_id, stage, progress, trial, trials_max);
}

static int hook_lock_acquire(void *arg, long long *fence)
{
	struct task_ctx *t = arg;
	struct worker *w = t->w;
	bool logged = false;

	while (!hook_cancelled(t)) {
		pthread_mutex_lock(&w->mu);
		int err = lock_acquire(t->r, w->host_id, w->cfg->lock_ttl_ms, &w->lock);
		if (err == 0) {
			w->lock_held = true;
			w->last_renew_ns = util_mono_ns();
			atomic_store(&w->lock_lost, 0);
			*fence = w->lock.fence;
		}
		pthread_mutex_unlock(&w->mu);
		if (err == 0) {
			log_info("measurement lock taken for host %s (fence %lld)", w->host_id, *fence);
			return 0;
		}
		if (err != -EBUSY)
			log_warn("lock_acquire: %s", strerror(-err));
		else if (!logged)
			log_info("measurement lock busy; waiting");
		logged = true;
		sleep_ms(LOCK_RETRY_MS);
	}
	return -ECANCELED;
}

static void hook_lock_release(void *arg)
{
	struct task_ctx *t = arg;
	struct worker *w = t->w;

	pthread_mutex_lock(&w->mu);
	if (w->lock_held) {
		/* Retried: a transient Redis error must not leave the lock to its
		 * TTL -- unless we are stopping, when the TTL is the quicker way */
		for (int i = 0; i < 20; i++) {
			int err = lock_release(t->r, &w->lock);
			if (err == 0 || err == -ENOLCK || stopping(w))
				break;
			sleep_ms(100);
		}
		w->lock_held = false;
	}
	pthread_mutex_unlock(&w->mu);
}

static int hook_lock_lost(void *arg)
{
	struct task_ctx *t = arg;
	return atomic_load(&t->w->lock_lost);
}

/* ---- measure tasks -------------------------------------------------------- */

/*
 * With redis_min_replicas: waits until the result (and the seal, written on
 * the same connection before it) is on that many replicas.  Too few within
 * the timeout is logged and counts as stored: the job is acked anyway, as
 * holding it back would only run it again.  A transport error is returned,
 * and the caller stores the result again: on the master that took over
 * either it made it (-EALREADY) or the task is still running and gets it now.
 */
static int confirm_stored(struct worker *w, const char *id)
{
	int acked, err = redis_wait_replicas(w->r_main, &acked);
	if (err != -EAGAIN)
		return err;
	log_warn("task %s: its result is on %d of the %ld replicas required; a failover now "
		 "would lose it", id, acked, w->cfg->redis_min_replicas);
	return 0;
}

/* Retries a store until it lands or the worker stops: a result is never dropped. */
static int finish_task(struct worker *w, const char *id, const struct job_outcome *o)
{
	char *result = o->result ? json_dumps(o->result, JSON_COMPACT) : NULL;
	int err;

	for (long delay = 100;; delay = delay < 5000 ? delay * 2 : 5000) {
		err = tasks_finish(w->r_main, id, o->ok ? "completed" : "failed",
				   result ? result : "{}", o->ok ? NULL : o->error_type,
				   o->ok ? NULL : o->error_message, w->cfg->result_ttl_seconds);
		if (err == 0)
			err = confirm_stored(w, id);
		if (err == 0 || err == -ECANCELED || err == -ENOENT || err == -EALREADY)
			break;
		log_warn("storing task %s: %s; retrying", id, strerror(-err));
		if (stopping(w))
			break;
		sleep_ms(delay);
	}
	free(result);
	return err;
}

/*
 * host_busy (issue 8): the task goes back to the queue with backoff while
 * host_busy_retry_seconds have not passed since it was first sent back.  0
 * when it was requeued; otherwise the caller fails it as host_busy.
 */
static int requeue_busy(struct worker *w, const char *id, const char *why, long backoff_ms)
{
	long long now_ms = (long long)(util_realtime_ns() / 1000000ull);
	int err = tasks_requeue_busy(w->r_main, id, now_ms, backoff_ms,
				     w->cfg->host_busy_retry_seconds * 1000);
	if (err == 0)
		log_info("task %s back in the queue: %s", id, why);
	else if (err != -ETIME)
		log_warn("task %s could not be requeued: %s", id, strerror(-err));
	return err;
}

static void fail_task(struct worker *w, const char *id, const char *type, const char *msg)
{
	struct job_outcome o = { .ok = false, .result = NULL };
	snprintf(o.error_type, sizeof o.error_type, "%s", type);
	snprintf(o.error_message, sizeof o.error_message, "%.511s", msg);
	finish_task(w, id, &o);
}

/*
 * The result an earlier attempt sealed but did not store (its worker died in
 * between) replaces o's: 0, or -ENOENT when there is none (taskseal.h).
 */
static int sealed_earlier(struct worker *w, const char *id, struct job_outcome *o)
{
	json_t *res = NULL;
	int err = taskseal_result(w->r_main, id, &res);

	if (err == 0) {
		job_outcome_free(o);
		o->ok = true;
		o->result = res;
		o->n_trials = 0;          /* /metrics: this attempt measured nothing */
		o->energy_joules = -1;
		log_info("task %s was sealed by an earlier attempt: storing that result", id);
	}
	return err;
}

/*
 * Signs the payload into the chain (Redis) and puts the seal in the result.
 * Retried while Redis is down, like the result itself: a measurement is
 * never stored without its seal.  The sealed result enters the task's record
 * in the same step (taskseal.h).  When an earlier attempt sealed the task
 * first, o becomes that attempt's result (0): the first seal is the one.
 */
static int seal_result(struct worker *w, const char *id, struct job_outcome *o)
{
	json_t *seal = NULL;
	int err;

	for (long delay = 100;; delay = delay < 5000 ? delay * 2 : 5000) {
		err = taskseal_sign(w->r_main, &w->key, id, o->seal_payload, o->result, &seal);
		if (err == 0)
			break;
		if (err == -EEXIST || err == -ENOENT)   /* ENOENT: the task is gone */
			return err == -ENOENT ? -ECANCELED : sealed_earlier(w, id, o);
		log_warn("sealing task %s: %s; retrying", id, strerror(-err));
		if (stopping(w) || err == -EINVAL || err == -EBADMSG)
			return err == -EINVAL || err == -EBADMSG ? err : -ECANCELED;
		sleep_ms(delay);
	}
	json_object_set_new(o->result, "seal", seal);
	return 0;
}

/* What a finished job took, for /metrics; best effort (a lost sample is no
 * lost result). */
static void record_job(struct redis *r, const char *kind, const char *outcome,
		       uint64_t t0, const struct job_outcome *o)
{
	struct jobstats_sample s = {
		.kind = kind, .outcome = outcome, .job_seconds = (double)(util_mono_ns() - t0) / 1e9,
		.trial_seconds = o && o->ok ? o->trial_seconds : NULL,
		.n_trials = o && o->ok ? o->n_trials : 0,
		.energy_joules = o && o->ok && strcmp(kind, KEYS_KIND_MEASURE) == 0 ? o->energy_joules : -1,
	};
	int err = jobstats_record(r, &s);
	if (err)
		log_debug("job statistics not recorded: %s", strerror(-err));
}

/*
 * The server admitted the task for some host; this one re-checks that it can
 * run it (issue 11): its CPU, its calibration (loaded into *calib).  When it
 * cannot, the task goes back for another host (after 1 s, doubling) or,
 * past host_busy_retry_seconds, fails host_busy here; false then.
 */
static bool runnable_here(struct worker *w, const char *id, const struct measure_request *req,
			  struct calib_profile *calib)
{
	char cant[700] = "", why[512];
	if (req->cpu_core_set && (req->cpu_core < 0 || req->cpu_core >= CPUSET_MAX ||
				  !cpuset_isset(&w->st.layout.measurement, (int)req->cpu_core)))
		snprintf(cant, sizeof cant, "cpu_core %ld is not a measurement CPU of host %s",
			 req->cpu_core, w->host_id);
	else if (load_calibration(w, calib, why, sizeof why) != 0)
		snprintf(cant, sizeof cant, "host %s has no valid calibration: %s", w->host_id, why);
	if (!cant[0])
		return true;
	if (requeue_busy(w, id, cant, 1000) != 0) {
		char msg[800];
		snprintf(msg, sizeof msg, "no live host could run it within host_busy_retry_seconds: %s",
			 cant);
		fail_task(w, id, "host_busy", msg);
		record_job(w->r_main, KEYS_KIND_MEASURE, "failed", util_mono_ns(), NULL);
	}
	return false;
}

/* A completed task's own extras: JouleTrace's timing fields (SPEC §4, lock
 * wait included), and its sandbox report for this worker's record. */
static void completed_extras(struct worker *w, struct job_outcome *out, uint64_t t0)
{
	json_t *sb = json_object_get(json_object_get(out->result, "measurement_environment"),
				     "sandbox");
	pthread_mutex_lock(&w->mu);
	json_decref(w->last_sandbox);
	w->last_sandbox = sb ? json_deep_copy(sb) : NULL;
	pthread_mutex_unlock(&w->mu);
	char now[UTIL_RFC3339_LEN];
	util_rfc3339(util_realtime_ns(), now);
	json_object_set_new(out->result, "processing_time_seconds",
			    json_real((double)(util_mono_ns() - t0) / 1e9));
	json_object_set_new(out->result, "measurement_timestamp", json_string(now));
}

static void run_task(struct worker *w, const char *id)
{
	struct measure_request req;
	struct calib_profile calib;
	struct task_ctx tc = { .w = w, .task_id = id, .r = w->r_main,
			       .deadline_ns = util_mono_ns() +
					      (uint64_t)w->cfg->max_job_seconds * 1000000000ull };
	struct job_hooks hooks = {
		.ctx = &tc, .cancelled = hook_cancelled, .stage = hook_stage,
		.lock_acquire = hook_lock_acquire, .lock_release = hook_lock_release,
		.lock_lost = hook_lock_lost,
	};
	struct job_env env = { .cfg = w->cfg, .layout = &w->st.layout, .meter = w->st.meter,
			       .calib = &calib, .host = &w->st.host, .host_id = w->host_id,
			       .oncpu = w->st.oncpu,
			       .service_pid = getpid(), .task_id = id };
	struct job_outcome out = { 0 };
	char why[512], *reqjson = NULL;
	const char *outcome = "failed";   /* NULL: not finished (back in the queue) */
	bool unsealed = false;
	int err;

	uint64_t t0 = util_mono_ns();
	memset(&req, 0, sizeof req);
	err = tasks_start(w->r_main, id, w->id);
	if (err) {
		log_info("task %s not started: %s", id, strerror(-err));
		return;
	}
	log_set_context("task", id);
	log_info("task %s started", id);
	pthread_mutex_lock(&w->mu);
	snprintf(w->task, sizeof w->task, "%s", id);
	atomic_store(&w->cancel, 0);
	pthread_mutex_unlock(&w->mu);

	size_t reqlen = 0;
	if (tasks_request(w->r_main, id, &reqjson, &reqlen) != 0) {
		fail_task(w, id, "internal", "the task's request could not be read");
		goto out;
	}
	if (request_from_json(reqjson, reqlen, &req, why, sizeof why) != 0) {
		fail_task(w, id, "internal", why);
		goto out;
	}
	if (sealed_earlier(w, id, &out) == 0)
		goto store;       /* measuring again would seal the task twice */
	if (!runnable_here(w, id, &req, &calib)) {
		outcome = NULL;   /* left to another host, or failed there */
		goto out;
	}
	err = job_measure(&env, &req, &hooks, &out);
	if (err == 0 && !out.ok && strcmp(out.error_type, "host_busy") == 0 &&
	    requeue_busy(w, id, out.error_message, w->cfg->host_busy_backoff_seconds * 1000) == 0) {
		outcome = NULL;
		goto out;   /* back in the queue, later: not finished */
	}
	if (err == 0 && out.ok)
		completed_extras(w, &out, t0);
	if (err == 0 && out.ok && (err = seal_result(w, id, &out)) != 0) {
		job_outcome_free(&out);
		if ((unsealed = err != -ECANCELED))
			fail_task(w, id, "internal", "the result could not be sealed");
		err = -ECANCELED; /* already stored (or stopping) */
	}
store:
	if (err == -ECANCELED && tc.timed_out && !unsealed) {
		/* max_job_seconds: one job may not hold the lock for hours */
		char msg[256];
		snprintf(msg, sizeof msg, "the job took longer than max_job_seconds (%ld s); stopped "
			 "at stage %s (%.0f %% done)", w->cfg->max_job_seconds,
			 tc.stage[0] ? tc.stage : "queued", tc.progress * 100);
		fail_task(w, id, "timeout", msg);
		log_info("task %s failed: timeout (max_job_seconds)", id);
	} else if (err == -ECANCELED) {
		outcome = unsealed ? "failed" : "cancelled";
		if (!unsealed)
			log_info("task %s cancelled", id);
	} else if (err) {
		fail_task(w, id, "internal", strerror(-err));
	} else {
		finish_task(w, id, &out);
		outcome = out.ok ? "completed" : "failed";
		/* the type only: a failure's message can quote the candidate's
		 * code (a traceback), and code never goes to the logs */
		log_info("task %s %s%s", id, out.ok ? "completed" : "failed: ",
			 out.ok ? "" : out.error_type);
	}
out:
	if (outcome)
		record_job(w->r_main, KEYS_KIND_MEASURE, outcome, t0, &out);
	job_outcome_free(&out);
	request_free(&req);
	free(reqjson);
	pthread_mutex_lock(&w->mu);
	w->task[0] = '\0';
	pthread_mutex_unlock(&w->mu);
	atomic_fetch_add(&w->jobs_done, 1);
	log_set_context(NULL, NULL);
}

/* Acks after the outcome is stored; until then the job is recoverable. */
static void ack(struct worker *w, struct redis *r, const char *kind, const char *payload,
		size_t len)
{
	for (int i = 0; i < 50 && queue_ack(r, kind, w->id, payload, len) != 0; i++) {
		/* unacked, the job stays in our list: recovery hands it out again,
		 * and a task that already ended is then only acked */
		if (stopping(w))
			break;
		sleep_ms(200);
	}
}

static void serve_queue(struct worker *w, struct redis *r, const char *kind,
			void (*run)(struct worker *, const char *, size_t))
{
	bool down = false;

	while (!stopping(w)) {
		char *payload = NULL;
		size_t len = 0;
		int err = queue_reserve(r, kind, w->id, RESERVE_BLOCK_MS, &payload, &len);
		if (err == -ETIMEDOUT)
			continue;
		if (err) {
			if (!down)
				log_warn("%s queue: %s; retrying", kind, strerror(-err));
			down = true;
			sleep_ms(500);
			continue;
		}
		if (down)
			log_info("%s queue: Redis reachable again", kind);
		down = false;
		run(w, payload, len);
		ack(w, r, kind, payload, len);
		free(payload);
	}
}

static void run_measure_job(struct worker *w, const char *payload, size_t len)
{
	char id[40];
	snprintf(id, sizeof id, "%.*s", (int)(len < 39 ? len : 39), payload);
	run_task(w, id);
}

/* ---- validation jobs ------------------------------------------------------ */

/* Pushes a validate job's answer onto the list its server named (queue.h),
 * trying up to tries times 200 ms apart (Redis may be restarting). */
static int reply_to_job(struct redis *r, const json_t *job, const char *text, int tries)
{
	const char *to = json_string_value(json_object_get(job, "reply_to"));
	const char *id = json_string_value(json_object_get(job, "reply_id"));
	int err = -EINVAL;
	if (!to || !id)
		return err;
	for (int i = 0; i < tries; i++) {
		err = queue_reply_push(r, to, id, text, strlen(text), 60);
		if (err != -ECONNREFUSED && err != -ETIMEDOUT && err != -EIO)
			break;
		sleep_ms(200);
	}
	return err;
}

static void run_validate_job(struct worker *w, const char *payload, size_t len)
{
	struct measure_request req;
	struct calib_profile none = { 0 };
	struct task_ctx tc = { .w = w, .task_id = NULL, .r = w->r_val };
	struct job_hooks hooks = { .ctx = &tc };
	struct job_env env = { .cfg = w->cfg, .layout = &w->st.layout, .calib = &none,
			       .host = &w->st.host };
	struct job_outcome out = { 0 };
	json_error_t jerr;
	char why[512] = "";
	uint64_t t0 = util_mono_ns();
	json_t *job = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr), *reply = NULL;
	const char *rid = json_string_value(json_object_get(job, "request_id"));
	char *reqtext = json_dumps(json_object_get(job, "request"), JSON_COMPACT);

	memset(&req, 0, sizeof req);
	if (!rid || !reqtext) {
		log_warn("dropping a malformed validate job");
		goto out;
	}
	log_set_context("request", rid);
	if (request_from_json(reqtext, strlen(reqtext), &req, why, sizeof why)) {
		reply = json_pack("{s:s, s:s, s:s}", "request_id", rid, "error_type", "internal",
				  "error_message", why);
	} else if (job_validate(&env, &req, &hooks, &out) == 0) {
		reply = json_pack("{s:s, s:O?, s:f}", "request_id", rid, "validation",
				  json_object_get(out.result, "validation"),
				  "processing_time_seconds", (double)(util_mono_ns() - t0) / 1e9);
		if (out.error_type[0] && strcmp(out.error_type, "validation_failed") != 0) {
			json_object_set_new(reply, "error_type", json_string(out.error_type));
			json_object_set_new(reply, "error_message", json_string(out.error_message));
		}
	}
	if (reply) {
		record_job(w->r_val, KEYS_KIND_VALIDATE,
			   json_object_get(reply, "error_type") ? "failed" : "completed", t0, NULL);
		char *s = json_dumps(reply, JSON_COMPACT);
		int err = s ? reply_to_job(w->r_val, job, s, 20) : -ENOMEM;
		if (err)
			log_warn("validation answer not delivered: %s", strerror(-err));
		free(s);
	}
out:
	log_set_context(NULL, NULL);
	job_outcome_free(&out);
	request_free(&req);
	json_decref(reply);
	json_decref(job);
	free(reqtext);
}

static void *validate_thread(void *arg)
{
	struct worker *w = arg;
	serve_queue(w, w->r_val, "validate", run_validate_job);
	return NULL;
}

/* ---- keeper: heartbeat, lock renewal, cancel watch, recovery -------------- */

/*
 * The worker's record (issue 11), renewed with every heartbeat: what this
 * host can run, so the server admits requests from it and never from its own
 * hardware.  The calibration is re-read each time (a small file): a profile
 * written or expired since shows at the next beat.
 */
static char *heartbeat_info(struct worker *w)
{
	char cpus[256], pkg[256], infra[256], task[40], why[256] = "";
	struct calib_profile prof;
	int cerr = load_calibration(w, &prof, why, sizeof why);
	json_t *sandbox;
	pthread_mutex_lock(&w->mu);
	snprintf(task, sizeof task, "%s", w->task);
	sandbox = w->last_sandbox ? json_incref(w->last_sandbox) : NULL;
	pthread_mutex_unlock(&w->mu);
	cpuset_format(&w->st.layout.measurement, cpus, sizeof cpus);
	cpuset_format(&w->st.layout.package, pkg, sizeof pkg);
	cpuset_format(&w->st.layout.infra, infra, sizeof infra);
	json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:b, s:i,"
			      " s:s, s:o, s:{s:s, s:o}, s:s?, s:I, s:I, s:I}",
		"worker_id", w->id, "host_id", w->host_id, "version", JT_VERSION, "pid", (int)getpid(),
		"meter", meter_backend(w->st.meter), "meter_why", w->st.meter_why,
		"attribution_source", oncpu_source_name(oncpu_source(w->st.oncpu)),
		"estimated", meter_estimated(w->st.meter),
		"measurement_cpus", cpus, "package_cpus", pkg, "infra_cpus", infra,
		"shared_package", w->st.layout.shared_package, "socket", w->st.layout.socket,
		"host_fingerprint", w->st.host.fingerprint,
		"calibration", calib_status_json(&prof, cerr, why, util_realtime_ns()),
		"sandbox", "mandatory", w->cfg->sandbox_mandatory,
		"last", sandbox ? sandbox : json_null(),
		"task", task[0] ? task : NULL,
		"uptime_seconds", (json_int_t)((util_mono_ns() - w->started_ns) / 1000000000ull),
		"jobs_done", (json_int_t)atomic_load(&w->jobs_done),
		/* wall clock, so /metrics can say how old the last heartbeat is */
		"heartbeat_at_ms", (json_int_t)(util_realtime_ns() / 1000000ull));
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

static void renew_lock(struct worker *w, uint64_t now)
{
	pthread_mutex_lock(&w->mu);
	if (w->lock_held) {
		int err = lock_renew(w->r_keep, &w->lock, w->cfg->lock_ttl_ms);
		if (err == 0) {
			w->last_renew_ns = now;
		} else if (err == -ENOLCK ||
			   now - w->last_renew_ns > (uint64_t)w->cfg->lock_ttl_ms * 1000000ull) {
			/* Someone else may hold it now: whatever we measure is void. */
			log_error("measurement lock lost (%s)", strerror(-err));
			atomic_store(&w->lock_lost, 1);
		}
	}
	pthread_mutex_unlock(&w->mu);
}

static void check_cancel(struct worker *w)
{
	char task[40], status[16];
	pthread_mutex_lock(&w->mu);
	snprintf(task, sizeof task, "%s", w->task);
	pthread_mutex_unlock(&w->mu);
	if (task[0] && tasks_status(w->r_keep, task, status) == 0 &&
	    strcmp(status, "cancelled") == 0 && !atomic_load(&w->cancel)) {
		log_info("task %s was cancelled; stopping it", task);
		atomic_store(&w->cancel, 1);
	}
}

static int on_dead_measure(void *arg, const char *payload, size_t len)
{
	struct worker *w = arg;
	char id[40];
	snprintf(id, sizeof id, "%.*s", (int)(len < 39 ? len : 39), payload);
	log_warn("task %s lost its worker too often; failing it", id);
	int err = tasks_fail_lost(w->r_keep, id, "the worker running this task died repeatedly",
				  w->cfg->result_ttl_seconds);
	/* a task that is gone or already final needs nothing more */
	return err == -ENOENT || err == -EALREADY ? 0 : err;
}

static int on_dead_validate(void *arg, const char *payload, size_t len)
{
	struct worker *w = arg;
	json_error_t jerr;
	json_t *job = json_loadb(payload, len, 0, &jerr);
	static const char lost[] = "{\"error_type\":\"worker_lost\","
		"\"error_message\":\"the worker validating this request died repeatedly\"}";
	int err = reply_to_job(w->r_keep, job, lost, 1);
	json_decref(job);
	return err == -EINVAL ? 0 : err; /* a job without a reply list: nobody waits */
}

static void *keeper_thread(void *arg)
{
	struct worker *w = arg;
	uint64_t next_hb = 0, next_renew = 0, next_cancel = 0, next_recover = 0, next_promote = 0,
		 next_repair = 0;
	const uint64_t ms = 1000000ull;

	while (!stopping(w)) {
		uint64_t now = util_mono_ns();
		if (now >= next_hb) {
			char *info = heartbeat_info(w);
			if (info)
				workers_heartbeat(w->r_keep, w->id, info, w->cfg->worker_ttl_ms);
			free(info);
			next_hb = now + (uint64_t)w->cfg->heartbeat_interval_ms * ms;
		}
		if (now >= next_renew) {
			renew_lock(w, now);
			next_renew = now + (uint64_t)w->cfg->lock_ttl_ms / 3 * ms;
		}
		if (now >= next_cancel) {
			check_cancel(w);
			next_cancel = now + CANCEL_CHECK_MS * ms;
		}
		if (now >= next_recover) {
			int n = 0;
			if (queue_recover(w->r_keep, "measure", w->cfg->max_job_attempts,
					  on_dead_measure, w, &n) == 0 && n)
				log_warn("requeued %d measure job(s) of dead workers", n);
			if (queue_recover(w->r_keep, "validate", w->cfg->max_job_attempts,
					  on_dead_validate, w, &n) == 0 && n)
				log_warn("requeued %d validate job(s) of dead workers", n);
			next_recover = now + RECOVER_EVERY_MS * ms;
		}
		if (now >= next_promote) {
			/* host_busy tasks whose wait is over go back to the queue */
			int n = 0;
			long long now_ms = (long long)(util_realtime_ns() / 1000000ull);
			if (queue_promote_due(w->r_keep, "measure", now_ms, &n) == 0 && n)
				log_info("%d delayed measure job(s) back in the queue", n);
			next_promote = now + PROMOTE_EVERY_MS * ms;
		}
		if (now >= next_repair) {
			/* the live sets against the records (tasks.h): they only drift
			 * after a Redis that lost writes, or a hand-edited database */
			long long n = 0;
			if (tasks_repair(w->r_keep, &n) == 0 && n)
				log_warn("dropped %lld task id(s) from the queued/running sets that "
					 "their records contradict", n);
			next_repair = now + REPAIR_EVERY_MS * ms;
		}
		sleep_ms(KEEPER_TICK_MS);
	}
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

struct worker *worker_new(const struct jt_config *cfg, volatile sig_atomic_t *stop,
			  char *why, size_t whylen)
{
	struct worker *w = calloc(1, sizeof *w);
	char suffix[9];
	int err;

	if (!w)
		return NULL;
	w->cfg = cfg;
	w->stop = stop;
	w->started_ns = util_mono_ns();
	pthread_mutex_init(&w->mu, NULL);
	if ((err = station_open(&w->st, cfg, STATION_METER | STATION_ONCPU, why, whylen)))
		goto fail;
	snprintf(w->host_id, sizeof w->host_id, "%.127s", hostid_name(&w->st.host, cfg->host_id));
	util_random_hex(suffix, 4);
	snprintf(w->id, sizeof w->id, "%s:%ld:%s", w->host_id, (long)getpid(), suffix);
	/* The signing key: generated on first start, refused if others can read it. */
	bool created = false;
	char kwhy[256] = "";
	if ((err = seal_key_load_or_create(cfg->key_file, &w->key, &created, kwhy, sizeof kwhy))) {
		util_say(why, whylen, "seal key %s: %s", cfg->key_file, kwhy);
		goto fail;
	}
	log_info("seal key %s %s (key_id %s)", cfg->key_file, created ? "created" : "loaded",
		 w->key.key_id);
	struct redis_ha ha;
	redis_ha_from_config(&ha, cfg);
	w->r_main = redis_open_ha(cfg->redis_url, (int)cfg->redis_timeout_ms, &ha);
	w->r_val = redis_open_ha(cfg->redis_url, (int)cfg->redis_timeout_ms, &ha);
	w->r_keep = redis_open_ha(cfg->redis_url, (int)cfg->redis_timeout_ms, &ha);
	if (!w->r_main || !w->r_val || !w->r_keep) {
		err = -errno;
		util_say(why, whylen, "redis_url '%s' / redis_sentinels '%s': %s", cfg->redis_url,
			 cfg->redis_sentinels, strerror(errno));
		goto fail;
	}
	return w;
fail:
	worker_free(w);
	errno = -err;
	return NULL;
}

int worker_run(struct worker *w)
{
	pthread_t keeper, val;
	char cpus[256], infra[256];

	cpuset_format(&w->st.layout.measurement, cpus, sizeof cpus);
	cpuset_format(&w->st.layout.infra, infra, sizeof infra);
	log_info("worker %s: meter %s (%s); measurement CPUs %s, infra %s%s; attribution %s (%s)",
		 w->id, meter_backend(w->st.meter), w->st.meter_why, cpus, infra,
		 w->st.layout.shared_package ? " (shared package)" : "",
		 oncpu_source_name(oncpu_source(w->st.oncpu)), w->st.oncpu_why);
	if (pthread_create(&keeper, NULL, keeper_thread, w))
		return -EAGAIN;
	if (pthread_create(&val, NULL, validate_thread, w)) {
		*w->stop = 1;
		pthread_join(keeper, NULL);
		return -EAGAIN;
	}
	/* Publish the public key (GET /api/v1/keys); retried until Redis answers. */
	char now[UTIL_RFC3339_LEN];
	util_rfc3339(util_realtime_ns(), now);
	while (!stopping(w) && sealchain_register_key(w->r_main, &w->key, now) != 0)
		sleep_ms(500);
	serve_queue(w, w->r_main, "measure", run_measure_job);
	pthread_join(val, NULL);
	pthread_join(keeper, NULL);
	workers_remove(w->r_main, w->id);
	log_info("worker %s stopped after %lld jobs", w->id, (long long)atomic_load(&w->jobs_done));
	return 0;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	redis_close(w->r_main);
	redis_close(w->r_val);
	redis_close(w->r_keep);
	station_close(&w->st);
	seal_key_wipe(&w->key);
	json_decref(w->last_sandbox);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
