/* metrics.c — see metrics.h. */
#include "metrics.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"
#include "dynbuf.h"
#include "hosts.h"
#include "httpstats.h"
#include "jobstats.h"
#include "keys.h"
#include "lock.h"
#include "promtext.h"
#include "queue.h"
#include "redis.h"
#include "taskcount.h"
#include "tasks.h"
#include "util.h"
#include "validwait.h"

#define METRICS_MAX_BYTES (1u << 20)
#define MAX_HOSTS HOSTS_MAX            /* hosts listed; more are summed in workers_live */

static const char *const statuses[TASK_NSTATUS] = { "queued", "running", "completed", "failed",
						     "cancelled" };
static const char *const outcomes[3] = { "completed", "failed", "cancelled" };
static const char *const kinds[2] = { KEYS_KIND_MEASURE, KEYS_KIND_VALIDATE };

struct host_row {
	char id[KEYS_ID_MAX + 1];
	long long workers;
	double heartbeat_age;         /* seconds since the freshest heartbeat; < 0 unknown */
	bool lock_known, lock_held;
	long long fence;
};

/* Host ids come from keys_id_valid-checked config: no quote or backslash can
 * reach a label, but say so where it is relied on. */
static bool label_safe(const char *s)
{
	return keys_id_valid(s);
}

/* The live hosts (hosts.h groups the workers), each with its freshest
 * heartbeat's age and its lock. */
static size_t hosts_of(struct redis *r, struct host_row *rows, long long *live)
{
	struct hosts hs;
	size_t nrows = 0;
	uint64_t now_ms = util_realtime_ns() / 1000000ull;
	if (hosts_load(r, &hs) != 0)
		return 0;
	*live = hs.workers;
	for (size_t k = 0; k < hs.n && nrows < MAX_HOSTS; k++) {
		const struct host *h = &hs.h[k];
		json_int_t at = json_integer_value(json_object_get(h->record, "heartbeat_at_ms"));
		uint64_t since = 0;
		if (!label_safe(h->id))
			continue;
		struct host_row *row = &rows[nrows++];
		memset(row, 0, sizeof *row);
		snprintf(row->id, sizeof row->id, "%s", h->id);
		row->workers = h->workers;
		row->heartbeat_age = at > 0 && (uint64_t)at <= now_ms ? (double)(now_ms - (uint64_t)at) / 1e3
								       : -1;
		row->lock_known = lock_info(r, row->id, &row->lock_held, &since, &row->fence) == 0;
	}
	hosts_free(&hs);
	return nrows;
}

static int write_hosts(struct dynbuf *b, const struct host_row *rows, size_t n, long long live)
{
	int e = promtext_head(b, "jouletrace_workers_live", "gauge", "Workers whose heartbeat is current.");
	e = e ? e : dynbuf_printf(b, "jouletrace_workers_live %lld\n", live);
	e = e ? e : promtext_head(b, "jouletrace_host_workers", "gauge", "Live workers per measurement host.");
	for (size_t k = 0; !e && k < n; k++)
		e = dynbuf_printf(b, "jouletrace_host_workers{host_id=\"%s\"} %lld\n", rows[k].id,
				  rows[k].workers);
	e = e ? e : promtext_head(b, "jouletrace_worker_heartbeat_age_seconds", "gauge",
			 "Age of the freshest worker heartbeat of each host.");
	for (size_t k = 0; !e && k < n; k++)
		if (rows[k].heartbeat_age >= 0)
			e = dynbuf_printf(b, "jouletrace_worker_heartbeat_age_seconds{host_id=\"%s\"} %.3f\n",
					  rows[k].id, rows[k].heartbeat_age);
	e = e ? e : promtext_head(b, "jouletrace_lock_held", "gauge",
			 "1 while a worker holds the host's measurement lock.");
	for (size_t k = 0; !e && k < n; k++)
		if (rows[k].lock_known)
			e = dynbuf_printf(b, "jouletrace_lock_held{host_id=\"%s\"} %d\n", rows[k].id,
					  rows[k].lock_held);
	e = e ? e : promtext_head(b, "jouletrace_lock_fencing_token", "gauge",
			 "The host lock's latest fencing number (it only grows).");
	for (size_t k = 0; !e && k < n; k++)
		if (rows[k].lock_known)
			e = dynbuf_printf(b, "jouletrace_lock_fencing_token{host_id=\"%s\"} %lld\n",
					  rows[k].id, rows[k].fence);
	return e;
}

static int write_jobs(struct dynbuf *b, const struct jobstats *js)
{
	int e = promtext_head(b, "jouletrace_jobs_finished_total", "counter",
		     "Jobs finished by workers, by kind and outcome.");
	for (int k = 0; !e && k < 2; k++)
		for (int o = 0; !e && o < 3; o++)
			e = dynbuf_printf(b, "jouletrace_jobs_finished_total{kind=\"%s\",outcome=\"%s\"} %llu\n",
					  kinds[k], outcomes[o], js->finished[k][o]);
	for (int h = 0; !e && h < JOBSTATS_NHIST; h++) {
		const struct jobstats_hist_view *v = &js->h[h];
		struct promtext_hist ph = { .bounds = v->bounds, .n = v->n_bounds,
					    .cumulative = v->cumulative, .sum = v->sum };
		e = promtext_head(b, v->name, "histogram", v->help);
		e = e ? e : promtext_histogram(b, v->name, "", &ph);
	}
	return e;
}

static int write_store(struct dynbuf *b, long long qm, long long qv, const long long *counts)
{
	int e = promtext_head(b, "jouletrace_queue_depth", "gauge", "Jobs waiting, by queue.");
	e = e ? e : dynbuf_printf(b, "jouletrace_queue_depth{queue=\"measure\"} %lld\n"
				     "jouletrace_queue_depth{queue=\"validate\"} %lld\n", qm, qv);
	e = e ? e : promtext_head(b, "jouletrace_tasks", "gauge", "Task records kept, by status.");
	for (int i = 0; !e && i < TASK_NSTATUS; i++)
		e = dynbuf_printf(b, "jouletrace_tasks{status=\"%s\"} %lld\n", statuses[i], counts[i]);
	return e;
}

static int write_api(struct dynbuf *b, struct api *a)
{
	int e = promtext_head(b, "jouletrace_http_responses_total", "counter",
		     "HTTP responses by status class.");
	e = e ? e : dynbuf_printf(b, "jouletrace_http_responses_total{class=\"2xx\"} %llu\n"
				     "jouletrace_http_responses_total{class=\"4xx\"} %llu\n"
				     "jouletrace_http_responses_total{class=\"5xx\"} %llu\n",
				  (unsigned long long)a->http_2xx, (unsigned long long)a->http_4xx,
				  (unsigned long long)a->http_5xx);
	e = e ? e : promtext_head(b, "jouletrace_tasks_created_total", "counter",
			 "Measure tasks this server queued.");
	e = e ? e : dynbuf_printf(b, "jouletrace_tasks_created_total %llu\n",
				  (unsigned long long)a->tasks_created);
	e = e ? e : promtext_head(b, "jouletrace_validations_total", "counter",
			 "Validate requests this server handled.");
	e = e ? e : dynbuf_printf(b, "jouletrace_validations_total %llu\n",
				  (unsigned long long)a->validations);
	e = e ? e : promtext_head(b, "jouletrace_validations_waiting", "gauge",
			 "Validate requests waiting for a worker's answer (no thread held).");
	e = e ? e : dynbuf_printf(b, "jouletrace_validations_waiting %u\n",
				  validwait_waiting(a->vw));
	return e ? e : httpstats_write(a->stats, b);
}

void metrics_handle(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct redis *r = redis_pool_get(a->pool);
	long long qm = -1, qv = -1, live = 0, counts[TASK_NSTATUS] = { 0 };
	struct host_row rows[MAX_HOSTS];
	struct jobstats js;
	struct dynbuf b;
	size_t nrows = 0;
	bool up = r && redis_ping(r) == 0, have_jobs = false;
	int e;

	(void)req;
	if (up) {
		nrows = hosts_of(r, rows, &live);
		queue_depth(r, KEYS_KIND_MEASURE, &qm);
		queue_depth(r, KEYS_KIND_VALIDATE, &qv);
		tasks_counts(r, counts);
		have_jobs = jobstats_read(r, &js) == 0;
	}
	if (r)
		redis_pool_put(a->pool, r);
	dynbuf_init(&b, METRICS_MAX_BYTES);
	e = promtext_head(&b, "jouletrace_up", "gauge", "1 when the component answers.");
	e = e ? e : dynbuf_printf(&b, "jouletrace_up{component=\"redis\"} %d\n", up);
	e = e ? e : write_api(&b, a);
	if (!e && up)
		e = write_store(&b, qm, qv, counts);
	if (!e && up)
		e = write_hosts(&b, rows, nrows, live);
	if (!e && have_jobs)
		e = write_jobs(&b, &js);
	http_metrics_response(resp, &b, e);
}
