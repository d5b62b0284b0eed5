/* comparepage.c — the comparison of tasks as JSON and as a page (see comparepage.h). */
#include "comparepage.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"
#include "jsonget.h"
#include "keys.h"
#include "redis.h"
#include "pages.h"
#include "request.h"
#include "svg.h"
#include "tasks.h"
#include "units.h"
#include "util.h"

#define IDS_TEXT_MAX 2048       /* the ids value: 20 ids with "%2C" between fit */

static const char compare_css[] =
	SVG_CSS
	"tr.best td{background:#f0f7ff}"
	"td .sub{display:block;color:var(--mut);font-size:12px}"
	".note{color:var(--mut);font-size:13px;margin:8px 0 0}"
	"ul.warnings{margin:0;padding-left:20px}";

/* ---- the ids -------------------------------------------------------------- */

/* Length of a separator at s ("," or "%2C"), 0 when none. */
static size_t separator(const char *s)
{
	if (*s == ',')
		return 1;
	return s[0] == '%' && s[1] == '2' && (s[2] == 'C' || s[2] == 'c') ? 3 : 0;
}

int comparepage_parse_ids(const char *query, char ids[][COMPAREPAGE_ID_LEN + 1], size_t *n,
			  char *why, size_t cap)
{
	char text[IDS_TEXT_MAX];
	*n = 0;
	if (!api_query_get(query, "ids", text, sizeof text)) {
		bool given = strncmp(query, "ids=", 4) == 0 || strstr(query, "&ids=");
		util_say(why, cap, given ? "more than %d ids" : "ids is required: task ids separated "
			 "by commas", COMPARE_MAX_TASKS);
		return -EINVAL;
	}
	for (const char *p = text;;) {
		size_t len = 0;
		while (p[len] && !separator(p + len))
			len++;
		if (*n == COMPARE_MAX_TASKS) {
			util_say(why, cap, "more than %d ids", COMPARE_MAX_TASKS);
			return -EINVAL;
		}
		if (len != COMPAREPAGE_ID_LEN) {
			util_say(why, cap, len ? "id %zu is not a task id" : "id %zu is empty", *n + 1);
			return -EINVAL;
		}
		memcpy(ids[*n], p, len);
		ids[*n][len] = '\0';
		if (!keys_task_id_valid(ids[*n])) {
			util_say(why, cap, "id %zu is not a task id", *n + 1);
			return -EINVAL;
		}
		for (size_t i = 0; i < *n; i++)
			if (strcmp(ids[i], ids[*n]) == 0) {
				util_say(why, cap, "id %zu repeats id %zu (%s)", *n + 1, i + 1, ids[i]);
				return -EINVAL;
			}
		(*n)++;
		p += len;
		if (!*p)
			return 0;
		p += separator(p);
	}
}

/* ---- reading the tasks ---------------------------------------------------- */

struct loaded {
	json_t *results[COMPARE_MAX_TASKS];
	size_t n;
	int status;                 /* 0: all read; else the answer's status */
	char why[COMPARE_MAX_TASKS * 40 + 64];
};

static void loaded_free(struct loaded *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->results[i]);
	l->n = 0;
}

/* Every task of the query, or l->status and why: 422, 404 (the unknown named), 503, 500. */
static void load(struct api *a, const char *query, struct loaded *l)
{
	char ids[COMPARE_MAX_TASKS][COMPAREPAGE_ID_LEN + 1], unknown[sizeof l->why] = "";
	size_t n = 0, missing = 0;
	memset(l, 0, sizeof *l);
	if (comparepage_parse_ids(query, ids, &n, l->why, sizeof l->why)) {
		l->status = 422;
		return;
	}
	struct redis *r = redis_pool_get(a->pool);
	for (size_t i = 0; i < n && !l->status; i++) {
		char *body = NULL;
		int err = r ? tasks_get_json(r, ids[i], &body, NULL) : -EIO;
		if (err == -ENOENT) {
			size_t u = strlen(unknown);
			snprintf(unknown + u, sizeof unknown - u, "%s%s", missing++ ? ", " : "", ids[i]);
		} else if (err) {
			l->status = 503;
			util_say(l->why, sizeof l->why, "Redis is unreachable");
		} else if (!(l->results[l->n++] = json_loads(body, 0, NULL))) {
			l->status = 500;
			util_say(l->why, sizeof l->why, "the record of task %s is unreadable", ids[i]);
		}
		free(body);
	}
	if (r)
		redis_pool_put(a->pool, r);
	if (!l->status && missing) {
		l->status = 404;
		util_say(l->why, sizeof l->why, "no such task%s: %s", missing > 1 ? "s" : "", unknown);
	}
	if (l->status)
		loaded_free(l);
}

void comparepage_json(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct loaded l;
	char why[256];
	load(a, req->query, &l);
	if (l.status == 422) {
		struct request_errors errs = { .n = 1 };
		snprintf(errs.items[0].field, sizeof errs.items[0].field, "ids");
		snprintf(errs.items[0].message, sizeof errs.items[0].message, "%.250s", l.why);
		api_respond_error(resp, req, "validation_error", "bad query parameters", &errs);
	} else if (l.status) {
		const char *code = l.status == 404 ? "not_found" : l.status == 503 ? "not_ready"
			: "internal_error";
		if (l.status == 503)
			api_not_ready(resp, req, l.why);
		else
			api_respond_error(resp, req, code, l.why, NULL);
	} else {
		json_t *cmp = compare_build(l.results, l.n, why, sizeof why);
		if (cmp)
			json_object_set_new(cmp, "request_id", json_string(req->request_id));
		api_respond_json(resp, 200, cmp);
	}
	loaded_free(&l);
}

/* ---- the page ------------------------------------------------------------- */

/* What people call a task: its candidate_id, else its id. */
static const char *name_of(const json_t *item)
{
	const char *c = jsonget_str(item, "candidate_id");
	return c && *c ? c : jsonget_str(item, "task_id");
}

static const json_t *item_by_id(const json_t *cmp, const char *id)
{
	size_t i;
	const json_t *it;
	json_array_foreach(json_object_get(cmp, "items"), i, it) {
		if (id && jsonget_str(it, "task_id") && strcmp(jsonget_str(it, "task_id"), id) == 0)
			return it;
	}
	return NULL;
}

/* The task's name as a link to its report. */
static void task_link(struct html *h, const json_t *item, const char *id)
{
	html_raw(h, "<a href=\"/api/v1/tasks/");
	html_text(h, id);
	html_raw(h, "/report\">");
	html_text(h, item ? name_of(item) : id);
	html_raw(h, "</a>");
}

/* The link and, under it, the task id (names may repeat). */
static void task_cell(struct html *h, const json_t *item, const char *id)
{
	task_link(h, item, id);
	html_raw(h, "<span class=\"sub mono\">");
	html_text(h, id);
	html_raw(h, "</span>");
}

static void chart(struct html *h, const json_t *cmp)
{
	const json_t *items = json_object_get(cmp, "items"), *it;
	struct svg_point p[COMPARE_MAX_TASKS];
	char text[COMPARE_MAX_TASKS][32];
	size_t n = 0, i;

	json_array_foreach(items, i, it) {
		if (!json_is_true(json_object_get(it, "comparable")) || n == COMPARE_MAX_TASKS)
			continue;
		/* the name, cut short, and the id's start: names may repeat */
		const char *name = name_of(it);
		int cut = (int)strlen(name);
		while (cut > 8 || (cut > 0 && ((unsigned char)name[cut] & 0xC0) == 0x80))
			cut--;          /* 8 bytes at most, on a UTF-8 boundary */
		snprintf(text[n], sizeof text[n], "%.*s%s (%.8s)", cut, name,
			 name[cut] ? "\xe2\x80\xa6" : "", jsonget_str(it, "task_id"));
		p[n] = (struct svg_point){
			.label = jsonget_str(it, "task_id"), .text = text[n],
			.value = jsonget_num(it, "energy_per_call_joules"),
			.lo = jsonget_at(it, "ci95_per_call_joules", 0),
			.hi = jsonget_at(it, "ci95_per_call_joules", 1),
		};
		n++;
	}
	html_raw(h, "<section class=\"card\" id=\"chart\"><h2>Energy per call</h2><div class=\"scroll\">");
	svg_intervals(h, "compare", p, n, "J");
	html_raw(h, "</div><p class=\"note\">Median energy per call of each task (bar) and the 95% "
		    "interval of its mean (whisker).</p></section>");
}

static void item_row(struct html *h, const json_t *it, const char *best)
{
	const char *id = jsonget_str(it, "task_id");
	char e[32], lo[32], hi[32];
	bool is_best = best && id && strcmp(best, id) == 0;

	html_raw(h, "<tr data-task-id=\"");
	html_text(h, id);
	html_rawf(h, "\"%s><td class=\"n\">", is_best ? " class=\"best\"" : "");
	if (json_is_number(json_object_get(it, "rank")))
		html_rawf(h, "%.0f", jsonget_num(it, "rank"));
	html_raw(h, "</td><td>");
	task_cell(h, it, id);
	html_raw(h, "</td><td>");
	html_text(h, jsonget_str(it, "problem_name"));
	html_raw(h, "</td><td>");
	html_text(h, jsonget_str(it, "status"));
	if (jsonget_str(it, "reason")) {
		html_raw(h, "<span class=\"sub\">");
		html_text(h, jsonget_str(it, "reason"));
		html_raw(h, "</span>");
	}
	html_rawf(h, "</td><td class=\"n\">%s</td><td class=\"n\">%s \xe2\x80\x93 %s</td>",
		  units_si(e, sizeof e, jsonget_num(it, "energy_per_call_joules"), "J"),
		  units_si(lo, sizeof lo, jsonget_at(it, "ci95_per_call_joules", 0), "J"),
		  units_si(hi, sizeof hi, jsonget_at(it, "ci95_per_call_joules", 1), "J"));
	double ratio = jsonget_num(it, "ratio_to_best"), cv = jsonget_num(it, "cv_percent");
	html_raw(h, "<td class=\"n\">");
	if (isfinite(ratio))
		html_rawf(h, "%.3f\xc3\x97", ratio);
	html_raw(h, "</td><td class=\"n\">");
	if (json_is_number(json_object_get(it, "trials")))
		html_rawf(h, "%.0f", jsonget_num(it, "trials"));
	html_raw(h, "</td><td class=\"n\">");
	if (isfinite(cv))
		html_rawf(h, "%.3g %%", cv);
	html_raw(h, "</td><td>");
	html_text(h, jsonget_str(it, "host_id"));
	html_raw(h, "</td><td>");
	html_text(h, jsonget_str(it, "meter"));
	html_raw(h, "</td></tr>");
}

static void items_table(struct html *h, const json_t *cmp)
{
	size_t i;
	const json_t *it;
	html_raw(h, "<section class=\"card\" id=\"items\"><h2>Tasks</h2><div class=\"scroll\"><table>"
		    "<tr><th class=\"n\">Rank</th><th>Task</th><th>Problem</th><th>Status</th>"
		    "<th class=\"n\">Energy per call</th><th class=\"n\">95% interval</th>"
		    "<th class=\"n\">Ratio to best</th><th class=\"n\">Trials</th><th class=\"n\">CV</th>"
		    "<th>Host</th><th>Meter</th></tr>");
	json_array_foreach(json_object_get(cmp, "items"), i, it) {
		item_row(h, it, jsonget_str(cmp, "best"));
	}
	html_raw(h, "</table></div></section>");
}

/* A number of a pair, with 3 digits (the exact ones are in the row's data-*). */
static void pair_cell(struct html *h, const json_t *pr, const char *k)
{
	double v = jsonget_num(pr, k);
	bool ratio = strcmp(k, "ratio") == 0;
	html_raw(h, "<td class=\"n\">");
	if (isfinite(v))
		html_rawf(h, ratio ? "%.3f\xc3\x97" : "%.3g", v);
	else
		html_raw(h, "\xe2\x88\x92");
	html_raw(h, "</td>");
}

static void pair_row(struct html *h, const json_t *cmp, const json_t *pr)
{
	const char *a = jsonget_str(pr, "a"), *b = jsonget_str(pr, "b"), *cheaper = jsonget_str(pr, "cheaper");
	bool sig = json_is_true(json_object_get(pr, "significant"));
	const char *keys[] = { "t", "df", "p_value", "p_adjusted", "difference_joules", "ratio" };
	char d[32];

	html_raw(h, "<tr class=\"pair\" data-a=\"");
	html_text(h, a);
	html_raw(h, "\" data-b=\"");
	html_text(h, b);
	html_rawf(h, "\" data-significant=\"%s\"", sig ? "true" : "false");
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
		if (isfinite(jsonget_num(pr, keys[k])))
			html_rawf(h, " data-%s=\"%.9g\"", keys[k], jsonget_num(pr, keys[k]));
	html_raw(h, "><td>");
	task_cell(h, item_by_id(cmp, a), a ? a : "");
	html_raw(h, "</td><td>");
	task_cell(h, item_by_id(cmp, b), b ? b : "");
	html_rawf(h, "</td><td class=\"n\">%s</td>",
		  units_si(d, sizeof d, jsonget_num(pr, "difference_joules"), "J"));
	pair_cell(h, pr, "ratio");
	pair_cell(h, pr, "t");
	pair_cell(h, pr, "df");
	pair_cell(h, pr, "p_value");
	pair_cell(h, pr, "p_adjusted");
	html_rawf(h, "<td class=\"%s\">%s", sig ? "ok" : "mut", sig ? "yes: " : "no");
	if (sig && cheaper)
		task_link(h, item_by_id(cmp, cheaper), cheaper);
	html_raw(h, sig ? " is cheaper</td></tr>" : "</td></tr>");
}

static void pairs_table(struct html *h, const json_t *cmp)
{
	const json_t *pairs = json_object_get(cmp, "pairs"), *pr;
	size_t n = json_array_size(pairs), i;
	html_rawf(h, "<section class=\"card\" id=\"pairs\"><h2>Which differences are significant</h2>"
		  "<p id=\"test\">Welch's t-test on per-trial energy per call, Holm-adjusted over %zu "
		  "pair%s, alpha %g.</p>", n, n == 1 ? "" : "s", jsonget_num(cmp, "alpha"));
	if (!n) {
		html_raw(h, "<p class=\"mut\">No pair to test: fewer than two comparable tasks.</p>"
			    "</section>");
		return;
	}
	html_raw(h, "<div class=\"scroll\"><table><tr><th>A</th><th>B</th>"
		    "<th class=\"n\">Mean A \xe2\x88\x92 B</th><th class=\"n\">Ratio A/B</th>"
		    "<th class=\"n\">t</th><th class=\"n\">df</th><th class=\"n\">p</th>"
		    "<th class=\"n\">Adjusted p</th><th>Significant</th></tr>");
	json_array_foreach(pairs, i, pr) {
		pair_row(h, cmp, pr);
	}
	html_raw(h, "</table></div></section>");
}

static void warnings(struct html *h, const json_t *cmp)
{
	const json_t *w = json_object_get(cmp, "warnings"), *v;
	size_t i;
	html_raw(h, "<section class=\"card\" id=\"warnings\"><h2>Warnings</h2>");
	if (!json_array_size(w))
		html_raw(h, "<p class=\"mut\">None.</p>");
	else
		html_raw(h, "<ul class=\"warnings\">");
	json_array_foreach(w, i, v) {
		html_raw(h, "<li class=\"warn\">");
		html_text(h, json_string_value(v));
		html_raw(h, "</li>");
	}
	html_raw(h, json_array_size(w) ? "</ul></section>" : "</section>");
}

int comparepage_build(struct html *h, const json_t *cmp)
{
	char title[64];
	snprintf(title, sizeof title, "Comparison of %zu tasks",
		 json_array_size(json_object_get(cmp, "items")));
	html_begin(h, title, compare_css);
	const json_t *best = item_by_id(cmp, jsonget_str(cmp, "best"));
	html_raw(h, "<p id=\"best\">");
	if (best) {
		html_raw(h, "Cheapest per call: ");
		task_link(h, best, jsonget_str(best, "task_id"));
	} else {
		html_raw(h, "No task could be compared.");
	}
	html_raw(h, "</p>");
	chart(h, cmp);
	items_table(h, cmp);
	pairs_table(h, cmp);
	warnings(h, cmp);
	return html_end(h);
}

void comparepage_html(struct api *a, const struct http_request *req, struct http_response *resp)
{
	struct loaded l;
	char why[256];
	load(a, req->query, &l);
	if (l.status) {
		pages_error(resp, l.status, l.status == 422 ? "Bad comparison" : l.status == 404
				  ? "No such task" : "Not available", l.why);
		if (l.status == 503)
			snprintf(resp->retry_after, sizeof resp->retry_after, "5");
		return;
	}
	json_t *cmp = compare_build(l.results, l.n, why, sizeof why);
	if (!cmp) {
		pages_error(resp, 500, "Not available", why);
	} else {
		struct html h;
		html_init(&h);
		comparepage_build(&h, cmp);
		pages_respond(resp, 200, &h, HTML_CSP_NO_SCRIPT);
	}
	json_decref(cmp);
	loaded_free(&l);
}
