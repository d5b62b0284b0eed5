/* dashboard.c — GET /, the service at a glance (see dashboard.h). */
#include "dashboard.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_impl.h"
#include "jsonget.h"
#include "keys.h"
#include "log.h"
#include "queue.h"
#include "redis.h"
#include "pages.h"
#include "taskcount.h"
#include "units.h"
#include "util.h"

/*
 * Fetches the page again every DASHBOARD_REFRESH_MS and swaps in its <main>;
 * keeps the tasks picked for comparison across swaps.  Its SHA-256 is in
 * dashboard_csp: edit both together (test_dashboard.c prints the new hash).
 */
#define STR_(x) #x
#define STR(x) STR_(x)
#define SCRIPT \
	"(function () {\n" \
	"var sel = new Set();\n" \
	"function link() {\n" \
	"var a = document.getElementById('compare-link');\n" \
	"if (!a) return;\n" \
	"var ids = Array.from(sel).slice(0, 20);\n" \
	"a.href = '/compare?ids=' + ids.join(',');\n" \
	"a.textContent = 'Compare the ' + ids.length + ' selected';\n" \
	"a.hidden = ids.length < 2;\n" \
	"}\n" \
	"function mark() {\n" \
	"document.querySelectorAll('input.pick').forEach(function (c) { c.checked = sel.has(c.value); });\n" \
	"link();\n" \
	"}\n" \
	"document.addEventListener('change', function (e) {\n" \
	"var c = e.target;\n" \
	"if (!c.classList || !c.classList.contains('pick')) return;\n" \
	"if (c.checked) sel.add(c.value); else sel.delete(c.value);\n" \
	"link();\n" \
	"});\n" \
	"function tick() {\n" \
	"fetch(location.pathname, { cache: 'no-store', credentials: 'same-origin' })\n" \
	".then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })\n" \
	".then(function (t) {\n" \
	"var m = new DOMParser().parseFromString(t, 'text/html').querySelector('main');\n" \
	"var o = document.querySelector('main');\n" \
	"if (m && o) { o.replaceWith(document.adoptNode(m)); mark(); }\n" \
	"document.documentElement.dataset.live = 'yes';\n" \
	"})\n" \
	".catch(function () { document.documentElement.dataset.live = 'no'; })\n" \
	".finally(function () { setTimeout(tick, " STR(DASHBOARD_REFRESH_MS) "); });\n" \
	"}\n" \
	"mark();\n" \
	"setTimeout(tick, " STR(DASHBOARD_REFRESH_MS) ");\n" \
	"})();\n"
const char dashboard_script[] = SCRIPT;

const char dashboard_csp[] =
	"default-src 'none'; script-src 'sha256-I3n3Pd05qtXqtvkiQ1lPVMzDFD9Kvjzma770KUw1cK8='; "
	"connect-src 'self'; style-src 'unsafe-inline'; img-src data:; "
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* after </main>: out of what the script swaps */
static const char tail[] =
	"<noscript><meta http-equiv=\"refresh\" content=\"" STR(DASHBOARD_NOSCRIPT_REFRESH_S)
	"\"></noscript><script>" SCRIPT "</script>";

static const char css[] =
	".pick{width:18px;height:18px;margin:0}"
	"#compare-bar{display:flex;gap:12px;flex-wrap:wrap;align-items:baseline;margin:0 0 8px}"
	"td.id,td.nw,td.when{white-space:nowrap}.sub{display:block;color:var(--mut);font-size:12px}"
	"td.cand,td.prob{min-width:12ch}";

/* A span of s seconds in the largest unit that keeps 2 or more of it. */
static char *span(char *buf, size_t cap, unsigned long long s, const char *suffix)
{
	if (s < 120)
		snprintf(buf, cap, "%llu s%s", s, suffix);
	else if (s < 2 * 3600)
		snprintf(buf, cap, "%llu min%s", s / 60, suffix);
	else if (s < 2 * 86400)
		snprintf(buf, cap, "%llu h%s", s / 3600, suffix);
	else
		snprintf(buf, cap, "%llu days%s", s / 86400, suffix);
	return buf;
}

char *dashboard_age(char *buf, size_t cap, uint64_t then_ns, uint64_t now_ns)
{
	if (then_ns > now_ns + 2000000000ull) {
		snprintf(buf, cap, "in the future");
		return buf;
	}
	uint64_t s = now_ns > then_ns ? (now_ns - then_ns) / 1000000000ull : 0;
	if (s < 5) {
		snprintf(buf, cap, "just now");
		return buf;
	}
	return span(buf, cap, s, " ago");
}

/* A time as "3 min ago" and the exact UTC time under it; text that is not
 * an RFC 3339 time is shown as it is, escaped. */
static void when(struct html *h, const char *rfc3339, uint64_t now_ns)
{
	uint64_t ns;
	char age[32], exact[40];
	if (!rfc3339) {
		html_raw(h, "<span class=\"mut\">\xe2\x80\x94</span>");
		return;
	}
	if (util_rfc3339_parse(rfc3339, &ns) != 0) {
		html_text(h, rfc3339);
		return;
	}
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(exact, sizeof exact, "%Y-%m-%d %H:%M:%S UTC", &tm);
	html_rawf(h, "%s<time class=\"sub\" datetime=\"", dashboard_age(age, sizeof age, ns, now_ns));
	html_text(h, rfc3339);
	html_rawf(h, "\">%s</time>", exact);
}

static void count_kpi(struct html *h, const char *label, long long v)
{
	if (v < 0)
		html_rawf(h, "<div class=\"kpi\"><div class=\"v\">?</div><div class=\"l\">%s</div></div>",
			  label);
	else
		html_rawf(h, "<div class=\"kpi\"><div class=\"v\">%lld</div><div class=\"l\">%s</div>"
			  "</div>", v, label);
}

static void render_queue(struct html *h, const struct dashboard_view *v)
{
	html_rawf(h, "<section id=\"queue\" class=\"card\" data-queued=\"%lld\" data-running=\"%lld\" "
		  "data-queue-measure=\"%lld\" data-queue-validate=\"%lld\"><h2>Queue</h2>"
		  "<div class=\"kpis\">", v->counts[TASK_QUEUED], v->counts[TASK_RUNNING],
		  v->queue_measure, v->queue_validate);
	count_kpi(h, "queued", v->counts[TASK_QUEUED]);
	count_kpi(h, "running", v->counts[TASK_RUNNING]);
	count_kpi(h, "measure jobs waiting", v->queue_measure);
	count_kpi(h, "validations waiting", v->queue_validate);
	count_kpi(h, "completed", v->counts[TASK_COMPLETED]);
	count_kpi(h, "failed", v->counts[TASK_FAILED]);
	count_kpi(h, "cancelled", v->counts[TASK_CANCELLED]);
	count_kpi(h, "live workers", (long long)v->n_workers);
	html_raw(h, "</div></section>\n");
}

/* The calibration cell of a host: valid or why not, its age and time. */
static void calibration(struct html *h, const json_t *cal, uint64_t now_ns)
{
	if (!json_is_object(cal)) {
		html_raw(h, "<span class=\"pill bad\">none</span>");
		return;
	}
	bool valid = json_is_true(json_object_get(cal, "valid"));
	bool forced = json_is_true(json_object_get(cal, "forced"));
	html_rawf(h, "<span class=\"pill %s\">%s</span>%s ", valid ? "ok" : "bad",
		  valid ? "valid" : "invalid", forced ? " <span class=\"pill warn\">forced</span>" : "");
	if (!valid && jsonget_str(cal, "reason")) {
		html_raw(h, "<span class=\"sub\">");
		html_text(h, jsonget_str(cal, "reason"));
		html_raw(h, "</span>");
	}
	when(h, jsonget_str(cal, "measured_at"), now_ns);
}

static void render_hosts(struct html *h, const struct dashboard_view *v)
{
	size_t n = v->hosts ? v->hosts->n : 0;
	html_raw(h, "<section id=\"hosts\" class=\"card\"><h2>Hosts</h2>");
	if (n == 0) {
		html_raw(h, "<p class=\"mut\">No live worker has described its host.</p></section>\n");
		return;
	}
	html_raw(h, "<div class=\"scroll\"><table><thead><tr><th>Host</th><th>State</th>"
		    "<th class=\"n\">Workers</th><th>Meter</th><th>CPUs</th><th>Calibration</th>"
		    "<th>Version</th></tr></thead><tbody>");
	for (size_t k = 0; k < n; k++) {
		const struct host *ho = &v->hosts->h[k];
		const json_t *rec = ho->record;
		html_raw(h, "<tr data-host=\"");
		html_text(h, ho->id);
		html_raw(h, "\"><td class=\"mono nw\">");
		html_text(h, ho->id);
		html_rawf(h, "</td><td><span class=\"pill %s\">%s</span>", ho->ready ? "ok" : "bad",
			  ho->ready ? "ready" : "not ready");
		if (!ho->ready) {
			html_raw(h, "<span class=\"sub\">");
			html_text(h, ho->why);
			html_raw(h, "</span>");
		}
		html_rawf(h, "</td><td class=\"n\">%lld</td><td class=\"meter\">", ho->workers);
		html_text(h, jsonget_str(rec, "meter"));
		if (json_is_true(json_object_get(rec, "estimated")))
			html_raw(h, " <span class=\"pill warn\">estimated</span>");
		html_raw(h, "</td><td class=\"mono\">");
		html_text(h, jsonget_str(rec, "measurement_cpus"));
		html_raw(h, "</td><td class=\"calibration\">");
		calibration(h, json_object_get(rec, "calibration"), v->now_ns);
		html_raw(h, "</td><td>");
		html_text(h, jsonget_str(rec, "version"));
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</tbody></table></div></section>\n");
}

/* A link to a task's report, by its id when it is one (else plain text). */
static void task_link(struct html *h, const char *id)
{
	if (!id || !keys_task_id_valid(id)) {
		html_text(h, id ? id : "\xe2\x80\x94");
		return;
	}
	/* a canonical UUID needs no escaping, and is safe in a URL */
	html_rawf(h, "<a class=\"mono\" href=\"/api/v1/tasks/%s/report\" title=\"%s\">%.8s</a>", id,
		  id, id);
}

static int cmp_workers(const void *a, const void *b)
{
	return strcmp(((const struct worker_entry *)a)->id, ((const struct worker_entry *)b)->id);
}

static void worker_row(struct html *h, const struct worker_entry *w, uint64_t now_ns)
{
	json_t *rec = json_loads(w->info_json ? w->info_json : "{}", 0, NULL);
	char up[32], hb[32];
	json_int_t at = json_integer_value(json_object_get(rec, "heartbeat_at_ms"));
	json_int_t upt = json_integer_value(json_object_get(rec, "uptime_seconds"));
	html_raw(h, "<tr data-worker=\"");
	html_text(h, w->id);
	html_raw(h, "\"><td class=\"mono nw\">");
	html_text(h, w->id);
	html_raw(h, "</td><td class=\"mono nw\">");
	html_text(h, jsonget_str(rec, "host_id"));
	html_raw(h, "</td><td>");
	html_text(h, jsonget_str(rec, "meter"));
	html_rawf(h, "</td><td class=\"n\">%lld</td><td>",
		  (long long)json_integer_value(json_object_get(rec, "pid")));
	task_link(h, jsonget_str(rec, "task"));
	dashboard_age(hb, sizeof hb, (uint64_t)(at > 0 ? at : 0) * 1000000ull, now_ns);
	html_rawf(h, "</td><td class=\"n\">%lld</td><td class=\"n\">%s</td><td>%s</td></tr>",
		  (long long)json_integer_value(json_object_get(rec, "jobs_done")),
		  span(up, sizeof up, upt > 0 ? (unsigned long long)upt : 0, ""),
		  at > 0 ? hb : "\xe2\x80\x94");
	json_decref(rec);
}

static void render_workers(struct html *h, const struct dashboard_view *v)
{
	html_raw(h, "<section id=\"workers\" class=\"card\"><h2>Workers</h2>");
	if (v->n_workers == 0) {
		html_raw(h, "<p class=\"mut\">No live worker.</p></section>\n");
		return;
	}
	struct worker_entry *ws = malloc(v->n_workers * sizeof *ws);
	if (ws) {   /* the same order on every refresh */
		memcpy(ws, v->workers, v->n_workers * sizeof *ws);
		qsort(ws, v->n_workers, sizeof *ws, cmp_workers);
	}
	html_raw(h, "<div class=\"scroll\"><table><thead><tr><th>Worker</th><th>Host</th>"
		    "<th>Meter</th><th class=\"n\">PID</th><th>Task</th><th class=\"n\">Jobs</th>"
		    "<th class=\"n\">Up</th><th>Heartbeat</th></tr></thead><tbody>");
	for (size_t i = 0; i < v->n_workers; i++)
		worker_row(h, ws ? &ws[i] : &v->workers[i], v->now_ns);
	html_raw(h, "</tbody></table></div></section>\n");
	free(ws);
}

static const char *status_class(const char *st)
{
	return strcmp(st, "completed") == 0 ? "ok" : strcmp(st, "failed") == 0 ? "bad"
	       : strcmp(st, "cancelled") == 0 ? "warn" : "";
}

static void task_row(struct html *h, const struct recent_task *t, uint64_t now_ns)
{
	bool done = strcmp(t->status, "completed") == 0;
	char e[32];
	html_raw(h, "<tr data-task-id=\"");
	html_text(h, t->id);
	html_raw(h, "\" data-status=\"");
	html_text(h, t->status);
	html_raw(h, "\"><td>");
	if (done) {
		html_raw(h, "<input type=\"checkbox\" class=\"pick\" aria-label=\"compare\" value=\"");
		html_text(h, t->id);
		html_raw(h, "\">");
	}
	html_raw(h, "</td><td class=\"id\">");
	task_link(h, t->id);
	html_rawf(h, "</td><td><span class=\"pill %s\">", status_class(t->status));
	html_text(h, t->status);
	html_raw(h, "</span>");
	if (t->error_type) {
		html_raw(h, "<span class=\"sub\">");
		html_text(h, t->error_type);
		html_raw(h, "</span>");
	}
	/* the figure and the time first: what a phone shows without scrolling */
	if (isfinite(t->energy_per_call_j))
		html_rawf(h, "</td><td class=\"n epc\" data-value=\"%.9g\">%s", t->energy_per_call_j,
			  units_si(e, sizeof e, t->energy_per_call_j, "J"));
	else
		html_raw(h, "</td><td class=\"n epc\">\xe2\x80\x94");
	html_raw(h, t->finished_at ? "</td><td class=\"when\">" : "</td><td class=\"when\">created ");
	when(h, t->finished_at ? t->finished_at : t->created_at, now_ns);
	html_raw(h, "</td><td class=\"cand\">");
	html_text(h, t->candidate_id ? t->candidate_id : "");
	html_raw(h, "</td><td class=\"prob\">");
	html_text(h, t->problem_name ? t->problem_name : "");
	html_raw(h, "</td></tr>");
}

static void render_recent(struct html *h, const struct dashboard_view *v)
{
	size_t done = 0;
	html_raw(h, "<section id=\"recent\" class=\"card\"><h2>Recent tasks</h2>");
	if (v->n_tasks == 0) {
		html_raw(h, "<p class=\"mut\">No task yet.</p></section>\n");
		return;
	}
	/* without JavaScript: the newest completed ones, up to 5 */
	html_raw(h, "<p id=\"compare-bar\"><a id=\"compare-link\" href=\"/compare?ids=\" hidden>"
		    "Compare the selected</a>");
	for (size_t i = 0; i < v->n_tasks && done < 5; i++) {
		if (strcmp(v->tasks[i].status, "completed") != 0)
			continue;
		html_rawf(h, "%s%s", done ? "," : "<a id=\"compare-newest\" href=\"/compare?ids=",
			  v->tasks[i].id);
		done++;
	}
	if (done)
		html_rawf(h, "\">Compare the %zu newest completed</a>", done);
	html_raw(h, "<span class=\"mut\">Tick 2\xe2\x80\x93" "20 completed tasks to compare them."
		    "</span></p><div class=\"scroll\"><table><thead><tr><th></th><th>Task</th>"
		    "<th>Status</th><th class=\"n\">Energy/call</th><th>Finished</th><th>Candidate</th>"
		    "<th>Problem</th></tr></thead><tbody>");
	for (size_t i = 0; i < v->n_tasks; i++)
		task_row(h, &v->tasks[i], v->now_ns);
	html_raw(h, "</tbody></table></div></section>\n");
}

int dashboard_page(const struct dashboard_view *v, struct html *h)
{
	char asof[40];
	time_t t = (time_t)(v->now_ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(asof, sizeof asof, "%Y-%m-%d %H:%M:%S UTC", &tm);
	html_begin(h, "Dashboard", css);
	html_rawf(h, "<p class=\"mut\" id=\"asof\" data-now=\"%llu\">As of %s; the page refreshes "
		  "itself.</p>\n", (unsigned long long)(v->now_ns / 1000000ull), asof);
	if (!v->redis_up)
		html_raw(h, "<section class=\"card\"><p class=\"bad\">Redis is unreachable: "
			    "nothing is known about the workers or the tasks.</p></section>\n");
	render_queue(h, v);
	/* one above the other: side by side, their columns do not fit 1280 px */
	render_hosts(h, v);
	render_workers(h, v);
	render_recent(h, v);
	return html_end_with(h, tail);
}

void dashboard_handle(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct dashboard_view v = { .queue_measure = -1, .queue_validate = -1,
				    .counts = { -1, -1, -1, -1, -1 } };
	struct hosts hs = { .n = 0 };
	struct worker_entry *ws = NULL;
	struct recent_task *ts = NULL;
	long long live = 0;
	int err;

	(void)req;
	struct redis *r = redis_pool_get(a->pool);
	v.redis_up = r && redis_ping(r) == 0;
	/* each part on its own: a failed read leaves its section empty or "?" */
	if (v.redis_up) {
		if (hosts_load(r, &hs) == 0)
			v.hosts = &hs;
		if (workers_live(r, &live, &ws, &v.n_workers) != 0)
			v.n_workers = 0;
		v.workers = ws;
		queue_depth(r, KEYS_KIND_MEASURE, &v.queue_measure);
		queue_depth(r, KEYS_KIND_VALIDATE, &v.queue_validate);
		if (tasks_counts(r, v.counts) != 0)
			for (int i = 0; i < TASK_NSTATUS; i++)
				v.counts[i] = -1;
		if ((err = recent_list(r, DASHBOARD_TASKS, &ts, &v.n_tasks)) != 0) {
			log_warn("dashboard: the recent tasks: %s", strerror(-err));
			v.n_tasks = 0;
		}
		v.tasks = ts;
	}
	if (r)
		redis_pool_put(a->pool, r);
	v.now_ns = util_realtime_ns();
	struct html h;
	html_init(&h);
	dashboard_page(&v, &h);
	pages_respond(resp, 200, &h, dashboard_csp);
	hosts_free(&hs);
	workers_list_free(ws, v.n_workers);
	recent_free(ts, v.n_tasks);
}
