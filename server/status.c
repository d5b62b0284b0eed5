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
#include "hosts.h"
#include "lock.h"
#include "log.h"
#include "queue.h"
#include "redis.h"
#include "taskcount.h"
#include "tasks.h"
#include "util.h"
#include "workers.h"

void status_ping(struct api *a, const struct http_request *req, struct http_response *resp)
{
	(void)a;
	(void)req;
	api_respond_json(resp, 200, json_pack("{s:s, s:s}", "status", "ok", "service", "jouletrace"));
}

/* The host the top-level fields describe: this server's host_id when one of
 * its workers is live, else the first live host (NULL: none). */
static const struct host *primary(const struct api *a, const struct hosts *hs)
{
	const struct host *h = hosts_find(hs, a->host_id);
	return h ? h : hs->n ? &hs->h[0] : NULL;
}

static bool any_ready(const struct hosts *hs)
{
	for (size_t k = 0; k < hs->n; k++)
		if (hs->h[k].ready)
			return true;
	return false;
}

/* Every live host, as health shows it. */
static json_t *hosts_brief(const struct hosts *hs)
{
	json_t *arr = json_array();
	for (size_t k = 0; arr && k < hs->n; k++) {
		const struct host *h = &hs->h[k];
		json_t *rec = h->record;
		json_array_append_new(arr, json_pack("{s:s, s:b, s:s?, s:I, s:O?, s:O?, s:O?, s:b}",
			"host_id", h->id, "ready", h->ready, "reason", h->ready ? NULL : h->why,
			"workers", (json_int_t)h->workers,
			"meter", json_object_get(rec, "meter"),
			"measurement_cpus", json_object_get(rec, "measurement_cpus"),
			"version", json_object_get(rec, "version"),
			"calibration_valid",
			json_is_true(json_object_get(json_object_get(rec, "calibration"), "valid"))));
	}
	return arr;
}

void status_health(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct redis *r = redis_pool_get(a->pool);
	long long qm = -1, qv = -1, counts[5] = { -1, -1, -1, -1, -1 };
	bool up = r && redis_ping(r) == 0;
	struct hosts hs = { .n = 0 };

	(void)req;
	if (up) {
		up = hosts_load(r, &hs) == 0;
		queue_depth(r, "measure", &qm);
		queue_depth(r, "validate", &qv);
		tasks_counts(r, counts);
	}
	if (r)
		redis_pool_put(a->pool, r);
	const struct host *p = primary(a, &hs);
	json_t *body = json_pack("{s:s, s:s, s:s, s:I, s:{s:b}, s:O?, s:I, s:o, s:{s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I}}",
		"status", up ? (any_ready(&hs) ? "ok" : "degraded") : "unavailable",
		"service", "jouletrace", "version", JT_VERSION,
		"uptime_seconds", (json_int_t)((util_mono_ns() - a->started_ns) / 1000000000ull),
		"redis", "connected", up,
		"meter", p ? p->record : NULL,
		"workers_live", (json_int_t)hs.workers, "hosts", hosts_brief(&hs),
		"queue_depth", "measure", (json_int_t)qm, "validate", (json_int_t)qv,
		"tasks", "queued", (json_int_t)counts[0], "running", (json_int_t)counts[1],
		"completed", (json_int_t)counts[2], "failed", (json_int_t)counts[3],
		"cancelled", (json_int_t)counts[4]);
	hosts_free(&hs);
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

/* One host as socket0/status shows it: its record's view and its lock. */
static json_t *host_status(struct redis *r, const struct host *h)
{
	bool held = false;
	uint64_t since = 0;
	long long fence = 0;
	char since_s[UTIL_RFC3339_LEN] = "";
	json_t *rec = h->record;
	if (r)
		lock_info(r, h->id, &held, &since, &fence);
	if (held)
		util_rfc3339(since, since_s);
	return json_pack("{s:s, s:b, s:s, s:I, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:{s:b, s:s?, s:I}}",
		"host_id", h->id, "ready", h->ready, "message", h->ready ? "ready" : h->why,
		"workers", (json_int_t)h->workers,
		"measurement_cpus", json_object_get(rec, "measurement_cpus"),
		"package_cpus", json_object_get(rec, "package_cpus"),
		"shared_package", json_object_get(rec, "shared_package"),
		"calibration", json_object_get(rec, "calibration"),
		"version", json_object_get(rec, "version"),
		"meter", rec,
		"lock", "held", held, "since", held ? since_s : NULL, "fencing_token", (json_int_t)fence);
}

void status_socket0(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct redis *r = redis_pool_get(a->pool);
	bool up = r && redis_ping(r) == 0, held = false;
	uint64_t since = 0;
	long long fence = 0;
	struct hosts hs = { .n = 0 };
	char msg[400], cpus[256], infra[256], iso[256], pkg[256], since_s[UTIL_RFC3339_LEN];
	int rpid = 0;

	(void)req;
	if (up)
		up = hosts_load(r, &hs) == 0;
	const struct host *p = primary(a, &hs);
	json_t *all = json_array();
	if (up) {
		lock_info(r, p ? p->id : a->host_id, &held, &since, &fence);
		rpid = redis_pid(r);
		for (size_t k = 0; all && k < hs.n; k++)
			json_array_append_new(all, host_status(r, &hs.h[k]));
	}
	if (r)
		redis_pool_put(a->pool, r);
	json_t *worker = p ? p->record : NULL;
	json_t *cal = p ? json_incref(json_object_get(worker, "calibration")) : NULL;
	if (!cal)
		cal = json_pack("{s:b, s:b, s:s}", "exists", 0, "valid", 0, "reason",
				up ? "no live worker has described its host" : "Redis is unreachable");
	bool ready = up && p && p->ready;
	if (!up)
		snprintf(msg, sizeof msg, "Redis unreachable at %s", a->cfg->redis_url);
	else if (!p)
		snprintf(msg, sizeof msg, "no live worker on any host");
	else if (!p->ready)
		snprintf(msg, sizeof msg, "%s", p->why);
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
	json_t *body = json_pack("{s:b, s:o, s:{s:s, s:s, s:s, s:s, s:b, s:s, s:i, s:s, s:o}, s:O?, s:{s:b, s:s}, s:{s:b, s:s?, s:I}, s:s, s:s, s:o}",
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
		"host_id", p ? p->id : a->host_id, "message", msg,
		/* every live host (issue 11): the top level is the first of them */
		"hosts", all ? all : json_array());
	hosts_free(&hs);
	api_respond_json(resp, 200, body);
}
