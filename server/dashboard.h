/*
 * dashboard.h — GET /: the service at a glance, as an HTML page in the shared
 * shell (html.h): live workers and hosts (meter, calibration age), the queue,
 * and the newest tasks (recent.h) with their status and energy per call, each
 * linking to its report, with checkboxes that build a /compare link.
 *
 * The page keeps itself current without a framework: one inline script
 * (dashboard_script) fetches the page again from the same origin every few
 * seconds and swaps in its <main>; the selection survives the swap.  Without
 * JavaScript a <noscript> meta refresh reloads the page.  The page's CSP
 * (dashboard_csp) allows that one script by its SHA-256 and fetch to this
 * origin only; tests/unit/test_dashboard.c checks the hash against the script.
 *
 * Sections (the pages contract): #queue (data-queued, data-running), #hosts
 * (tr[data-host]), #workers (tr[data-worker]), #recent (tr[data-task-id]).
 * Every string from Redis (ids, candidate_id, problem_name, worker records)
 * goes through html_text.
 *
 * dashboard_page is pure (unit-tested from plain structs); dashboard_handle
 * reads Redis and answers.  Errors: dashboard_page returns the html's sticky
 * error (html.h).  Thread safety: reentrant.
 */
#ifndef JT_DASHBOARD_H
#define JT_DASHBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "hosts.h"
#include "html.h"
#include "http.h"
#include "recent.h"
#include "tasks.h"
#include "workers.h"

#define DASHBOARD_TASKS 50           /* newest tasks shown */
#define DASHBOARD_REFRESH_MS 3000    /* the script's period */
#define DASHBOARD_NOSCRIPT_REFRESH_S 10

/* The inline script and the page's Content-Security-Policy naming its hash. */
extern const char dashboard_script[];
extern const char dashboard_csp[];

struct dashboard_view {
	int redis_up;                          /* 0: the rest is empty */
	const struct hosts *hosts;             /* NULL: none */
	const struct worker_entry *workers;    /* live workers' heartbeat records */
	size_t n_workers;
	long long queue_measure, queue_validate;   /* jobs waiting; -1 unknown */
	long long counts[TASK_NSTATUS];            /* tasks_counts; -1 unknown */
	const struct recent_task *tasks;       /* newest first */
	size_t n_tasks;
	uint64_t now_ns;                       /* realtime, for the ages */
};

/* The whole page into h (initialised, empty). */
int dashboard_page(const struct dashboard_view *v, struct html *h);

/* "just now", "42 s ago", "3 min ago", "5 h ago", "2 days ago" for then_ns
 * before now_ns ("in the future" when after); buf ≥ 24 bytes. */
char *dashboard_age(char *buf, size_t cap, uint64_t then_ns, uint64_t now_ns);

struct api;
/* GET / */
void dashboard_handle(struct api *a, const struct http_request *req, struct http_response *resp);

#endif
