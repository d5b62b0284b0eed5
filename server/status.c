/*
 * status.c — the host's status views: /ping, /api/v1/health,
 * /api/v1/socket0/status and /metrics (see status.h).
 */
#include "status.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_impl.h"
#include "calib.h"
#include "config.h"
#include "cpuset.h"
#include "lock.h"
#include "log.h"
#include "queue.h"
#include "redis.h"
#include "tasks.h"
#include "util.h"
#include "workers.h"

void status_ping(struct api *a, const struct http_request *req, struct http_response *resp)
{
	(void)a;
	(void)req;
	api_respond_json(resp, 200, json_pack("{s:s, s:s}", "status", "ok", "service", "jouletrace"));
}

static json_t *calibration_json(struct api *a, json_t *worker, bool *valid, char *reason,
				size_t cap)
{
	struct calib_profile p;
	memset(&p, 0, sizeof p);
	int err = api_calibration_state(a, worker, &p, reason, cap);
	bool exists = err != -ENOENT;
	*valid = err == 0;
	if (!exists)
		return json_pack("{s:b, s:b, s:s}", "exists", 0, "valid", 0, "reason", reason);
	return json_pack("{s:b, s:b, s:s?, s:f, s:f, s:f, s:f, s:s, s:s, s:s, s:b, s:s?, s:f}",
		"exists", 1, "valid", *valid, "reason", *valid ? NULL : reason,
		"age_days", calib_age_days(&p, util_realtime_ns()),
		"idle_package_watts", p.idle_package_watts, "idle_dram_watts", p.idle_dram_watts,
		"cv_percent", p.cv_percent, "measured_at", p.measured_at,
		"meter_backend", p.meter_backend, "sha256", p.sha256,
		"forced", p.forced, "forced_reason", p.forced ? p.forced_reason : NULL,
		"background_busy_percent", p.background_busy_percent);
}

void status_health(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct redis *r = redis_pool_get(a->pool);
	long long live = 0, qm = -1, qv = -1, counts[5] = { -1, -1, -1, -1, -1 };
	bool up = r && redis_ping(r) == 0;
	json_t *worker = NULL;

	(void)req;
	if (up) {
		worker = api_host_worker(r, a->host_id, &live);
		queue_depth(r, "measure", &qm);
		queue_depth(r, "validate", &qv);
		tasks_counts(r, counts);
	}
	if (r)
		redis_pool_put(a->pool, r);
	json_t *body = json_pack("{s:s, s:s, s:s, s:I, s:{s:b}, s:O?, s:I, s:{s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I}}",
		"status", up ? (live > 0 ? "ok" : "degraded") : "unavailable",
		"service", "jouletrace", "version", JT_VERSION,
		"uptime_seconds", (json_int_t)((util_mono_ns() - a->started_ns) / 1000000000ull),
		"redis", "connected", up,
		"meter", json_object_get(worker, "meter") ? worker : NULL,
		"workers_live", (json_int_t)live,
		"queue_depth", "measure", (json_int_t)qm, "validate", (json_int_t)qv,
		"tasks", "queued", (json_int_t)counts[0], "running", (json_int_t)counts[1],
		"completed", (json_int_t)counts[2], "failed", (json_int_t)counts[3],
		"cancelled", (json_int_t)counts[4]);
	json_decref(worker);
	api_respond_json(resp, up ? 200 : 503, body);
}

/* Redis's pid from INFO server, or 0. */
static int redis_pid(struct redis *r)
{
	struct redis_reply *rep = NULL;
	int pid = 0;
	if (redis_cmdv(r, &rep, "INFO", "server", REDIS_END) == 0 && rep->str) {
		const char *p = strstr(rep->str, "process_id:");
		long long v = 0;
		char num[24] = "";
		if (p)
			sscanf(p + strlen("process_id:"), "%23[0-9]", num);
		pid = num[0] && util_parse_i64(num, &v) == 0 && v > 0 && v <= INT32_MAX ? (int)v : 0;
	}
	redis_reply_free(rep);
	return pid;
}

/*
 * The service's own processes — this server, this host's worker, the Redis
 * it talks to (when it runs here) — whose affinity lets them run on a
 * measurement CPU: each would add its energy to the candidates' (issue 8).
 * [{pid, comm, cpus}].  A pid is taken only while its name says it is the
 * process expected (a remote Redis's pid means nothing here).
 */
static json_t *service_on(const struct cpuset *measurement, const json_t *worker, int redis)
{
	const struct { int pid; const char *comm; } procs[] = {
		{ (int)getpid(), "jouletrace-serv" },
		{ (int)json_integer_value(json_object_get(worker, "pid")), "jouletrace-work" },
		{ redis, "redis-server" },
	};
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < sizeof procs / sizeof procs[0]; i++) {
		struct cpuset_proc p;
		struct cpuset both;
		char allowed[256];
		if (cpuset_proc_affinity("", procs[i].pid, &p) != 0 ||
		    strcmp(p.comm, procs[i].comm) != 0)
			continue;
		cpuset_and(&both, &p.allowed, measurement);
		if (cpuset_count(&both) == 0)
			continue;
		cpuset_format(&p.allowed, allowed, sizeof allowed);
		json_array_append_new(arr, json_pack("{s:i, s:s, s:s}", "pid", p.pid, "comm", p.comm,
						     "cpus", allowed));
	}
	return arr;
}

void status_socket0(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct redis *r = redis_pool_get(a->pool);
	bool up = r && redis_ping(r) == 0, held = false, cal_ok = false;
	uint64_t since = 0;
	long long fence = 0, live = 0;
	json_t *worker = NULL;
	char reason[256] = "", msg[400], cpus[256], infra[256], iso[256], pkg[256], since_s[UTIL_RFC3339_LEN];
	int rpid = 0;

	(void)req;
	if (up) {
		worker = api_host_worker(r, a->host_id, &live);
		lock_info(r, a->host_id, &held, &since, &fence);
		rpid = redis_pid(r);
	}
	if (r)
		redis_pool_put(a->pool, r);
	json_t *cal = calibration_json(a, worker, &cal_ok, reason, sizeof reason);
	bool ready = up && cal_ok && worker;
	if (!up)
		snprintf(msg, sizeof msg, "Redis unreachable at %s", a->cfg->redis_url);
	else if (!cal_ok)
		snprintf(msg, sizeof msg, "no valid calibration: %s (run scripts/calibrate.sh)", reason);
	else if (!worker)
		snprintf(msg, sizeof msg, "no live worker on host %s", a->host_id);
	else
		snprintf(msg, sizeof msg, "ready");
	cpuset_format(&a->layout.measurement, cpus, sizeof cpus);
	cpuset_format(&a->layout.infra, infra, sizeof infra);
	json_t *intruders = service_on(&a->layout.measurement, worker, rpid);
	if (json_array_size(intruders) > 0 && ready)
		snprintf(msg, sizeof msg, "ready, but %zu process(es) of the service may run on "
			 "the measurement CPUs (see isolation.service_on_measurement_cpus)",
			 json_array_size(intruders));
	struct cpuset isolated;
	if (cpuset_isolated("", &isolated) != 0)
		memset(&isolated, 0, sizeof isolated);
	cpuset_format(&isolated, iso, sizeof iso);
	if (held)
		util_rfc3339(since, since_s);
	cpuset_format(&a->layout.package, pkg, sizeof pkg);
	json_t *body = json_pack("{s:b, s:o, s:{s:s, s:s, s:s, s:s, s:b, s:s, s:i, s:s, s:o}, s:O?, s:{s:b, s:s}, s:{s:b, s:s?, s:I}, s:s, s:s}",
		"ready", ready, "calibration", cal,
		"isolation", "measurement_cpus", cpus, "infra_cpus", infra, "isolated_cpus", iso,
		"package_cpus", pkg, "shared_package", a->layout.shared_package,
		/* what the energy figures will describe (issue 8) */
		"energy_basis", a->layout.shared_package ? "candidate_share" : "package_net",
		"socket", a->layout.socket,
		"why", a->layout.why, "service_on_measurement_cpus", intruders,
		"meter", worker,
		"redis", "connected", up, "url", a->cfg->redis_url,
		"lock", "held", held, "since", held ? since_s : NULL,
		"fencing_token", (json_int_t)(held ? fence : 0),
		"host_id", a->host_id, "message", msg);
	json_decref(worker);
	api_respond_json(resp, 200, body);
}
