/* render.c — see render.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "jsonget.h"
#include "units.h"

#define TOP_PROCESSES 5
#define FAILED_TESTS_SHOWN 5
#define BAR_MAX 30
#define BAR_MIN 12

static bool num_of(const json_t *o, const char *k, double *v)
{
	const json_t *j = json_object_get(o, k);
	if (!json_is_number(j))
		return false;
	*v = json_number_value(j);
	return true;
}

int render_clean(struct dynbuf *out, const char *s, size_t max)
{
	size_t n = strlen(s), cut = n;
	int ret = 0;

	if (n > max) {
		cut = max > 3 ? max - 3 : 0;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;   /* not inside a UTF-8 sequence */
	}
	for (size_t i = 0; i < cut && !ret; i++) {
		unsigned char c = (unsigned char)s[i];
		char o = c < 0x20 || c == 0x7f ? '?' : (char)c;
		ret = dynbuf_add(out, &o, 1);
	}
	if (!ret && cut < n)
		ret = dynbuf_add_str(out, "...");
	return ret;
}

/* ASCII only (one byte = one column), for the width-exact progress line. */
static void ascii_clean(char *dst, size_t cap, const char *s)
{
	size_t i = 0;
	for (; s && *s && i + 1 < cap; s++)
		dst[i++] = (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s;
	dst[i] = '\0';
}

int render_pad(struct dynbuf *out, const char *s, int width)
{
	size_t cols = 0;
	for (const char *p = s; *p; p++)
		cols += ((unsigned char)*p & 0xC0) != 0x80;
	size_t w = (size_t)(width < 0 ? -(long)width : width);
	size_t fill = cols < w ? w - cols : 0;
	int ret = 0;
	if (width > 0)
		ret = dynbuf_printf(out, "%*s", (int)fill, "");
	if (!ret)
		ret = dynbuf_add_str(out, s);
	if (!ret && width < 0)
		ret = dynbuf_printf(out, "%*s", (int)fill, "");
	return ret;
}

void render_state_of(const json_t *task, struct progress_state *st)
{
	double v;
	memset(st, 0, sizeof *st);
	st->status = jsonget_str(task, "status");
	st->stage = jsonget_str(task, "stage");
	if (num_of(task, "progress", &v) && v >= 0 && v <= 1)
		st->progress = v;
	if (num_of(task, "trial", &v) && v >= 1 && v <= 1000)
		st->trial = (int)v;
	if (num_of(task, "trials_max", &v) && v >= 1 && v <= 1000)
		st->trials_max = (int)v;
}

/* "stage  trial k/n" (ASCII). */
static void progress_head(const struct progress_state *st, char *buf, size_t cap)
{
	char stage[48];
	ascii_clean(stage, sizeof stage, st->stage ? st->stage : st->status ? st->status :
		    "submitting");
	if (st->trial > 0 && st->trials_max > 0)
		snprintf(buf, cap, "%s  trial %d/%d", stage, st->trial, st->trials_max);
	else
		snprintf(buf, cap, "%s", stage);
}

int render_progress(const struct progress_state *st, int width, struct dynbuf *out)
{
	char head[96], tail[32], bar[BAR_MAX + 1], line[256];
	size_t w = width < 1 ? 1 : (size_t)width;

	progress_head(st, head, sizeof head);
	snprintf(tail, sizeof tail, "%.1f s", st->elapsed_s < 0 ? 0 : st->elapsed_s);
	size_t text = strlen(head) + 2 + strlen(tail);
	size_t bw = w > text + 2 ? w - text - 2 : 0;
	if (bw > BAR_MAX)
		bw = BAR_MAX;
	if (bw >= BAR_MIN) {
		size_t inner = bw - 2;
		size_t done = (size_t)(st->progress * (double)inner + 0.5);
		if (done > inner)
			done = inner;
		bar[0] = '[';
		memset(bar + 1, '#', done);
		memset(bar + 1 + done, '-', inner - done);
		bar[bw - 1] = ']';
		bar[bw] = '\0';
		snprintf(line, sizeof line, "%s  %s  %s", head, bar, tail);
	} else {
		snprintf(line, sizeof line, "%s  %s", head, tail);
	}
	if (strlen(line) > w)
		line[w] = '\0';
	return dynbuf_add_str(out, line);
}

int render_progress_plain(const struct progress_state *st, struct dynbuf *out)
{
	char head[96];
	progress_head(st, head, sizeof head);
	return dynbuf_printf(out, "[%7.1f s] %s (%.0f %%)\n", st->elapsed_s < 0 ? 0 : st->elapsed_s,
			     head, st->progress * 100);
}

/* "name  value\n" with a cleaned string value. */
static int row_str(struct dynbuf *out, const char *name, const char *v)
{
	int ret = dynbuf_printf(out, "%-14s", name);
	if (!ret)
		ret = render_clean(out, v ? v : "-", 200);
	return ret ? ret : dynbuf_add_str(out, "\n");
}

static int header(const json_t *t, struct dynbuf *out)
{
	int ret = dynbuf_printf(out, "%-14s", "task");
	if (!ret)
		ret = render_clean(out, jsonget_str(t, "task_id") ? jsonget_str(t, "task_id") : "?", 80);
	if (!ret)
		ret = dynbuf_add_str(out, "  ");
	if (!ret)
		ret = render_clean(out, jsonget_str(t, "status") ? jsonget_str(t, "status") : "?", 20);
	if (!ret)
		ret = dynbuf_add_str(out, "\n");
	if (!ret && jsonget_str(t, "candidate_id"))
		ret = row_str(out, "candidate", jsonget_str(t, "candidate_id"));
	if (!ret && jsonget_str(t, "problem_name"))
		ret = row_str(out, "problem", jsonget_str(t, "problem_name"));
	double passed, total;
	const json_t *v = json_object_get(t, "validation");
	if (!ret && num_of(v, "passed_tests", &passed) && num_of(v, "total_tests", &total))
		ret = dynbuf_printf(out, "%-14s%.0f/%.0f passed\n", "tests", passed, total);
	return ret;
}

/* Energy per call and its interval, time, power, trials, CV. */
static int energy_rows(const json_t *m, struct dynbuf *out)
{
	double epc = NAN, tot = NAN, lo = NAN, hi = NAN, t = NAN, w = NAN, n = 0, cv = NAN,
	       passes = 0;
	const char *stop = jsonget_str(m, "stop_reason");
	const json_t *ci = json_object_get(m, "ci95_total_energy_joules");
	char a[32], b[32];
	int ret;

	num_of(m, "energy_per_call_joules", &epc);
	num_of(m, "median_total_energy_joules", &tot);
	num_of(m, "median_execution_time_seconds", &t);
	num_of(m, "power_consumption_watts", &w);
	num_of(m, "trials", &n);
	num_of(m, "cv_percent", &cv);
	num_of(m, "passes_per_trial", &passes);
	/* The interval is of a trial's total; a call is the same fraction of it. */
	double per_call = tot > 0 && isfinite(epc) ? epc / tot : NAN;
	if (json_array_size(ci) == 2 && json_is_number(json_array_get(ci, 0)) &&
	    json_is_number(json_array_get(ci, 1))) {
		lo = json_number_value(json_array_get(ci, 0)) * per_call;
		hi = json_number_value(json_array_get(ci, 1)) * per_call;
	}
	ret = dynbuf_printf(out, "%-14s%s", "energy/call", units_si(a, sizeof a, epc, "J"));
	if (!ret && isfinite(lo) && isfinite(hi))
		ret = dynbuf_printf(out, "   95%% CI [%s, %s]", units_si(a, sizeof a, lo, "J"),
				    units_si(b, sizeof b, hi, "J"));
	if (!ret && isfinite(t) && isfinite(per_call))
		ret = dynbuf_printf(out, "\n%-14s%s   (a trial: %s, %.0f passes)", "time/call",
				    units_si(a, sizeof a, t * per_call, "s"), units_si(b, sizeof b, t, "s"),
				    passes);
	if (!ret && isfinite(w))
		ret = dynbuf_printf(out, "\n%-14s%s", "power", units_si(a, sizeof a, w, "W"));
	if (!ret)
		ret = dynbuf_printf(out, "\n%-14s%.0f", "trials", n);
	if (!ret && stop)
		ret = dynbuf_printf(out, " (stop: %s)", strlen(stop) < 32 ? stop : "?");
	if (!ret && isfinite(cv))
		ret = dynbuf_printf(out, "   CV %.3g %%", cv);
	return ret ? ret : dynbuf_add_str(out, "\n");
}

static int split_rows(const json_t *m, struct dynbuf *out)
{
	double pkg, ram;
	char a[32], b[32];

	if (!num_of(m, "median_package_energy_joules", &pkg) ||
	    !num_of(m, "median_ram_energy_joules", &ram))
		return 0;
	double sum = pkg + ram;
	units_si(a, sizeof a, pkg, "J");
	units_si(b, sizeof b, ram, "J");
	if (sum > 0)
		return dynbuf_printf(out, "%-14s%s package (%.1f %%) / %s DRAM (%.1f %%), a trial's median\n",
				     "package/DRAM", a, 100 * pkg / sum, b, 100 * ram / sum);
	return dynbuf_printf(out, "%-14s%s package / %s DRAM, a trial's median\n", "package/DRAM", a, b);
}

static int by_energy_desc(const void *x, const void *y)
{
	double a = json_number_value(json_object_get(*(json_t *const *)x, "energy_joules"));
	double b = json_number_value(json_object_get(*(json_t *const *)y, "energy_joules"));
	return a < b ? 1 : a > b ? -1 : 0;
}

static int top_processes(const json_t *attr, struct dynbuf *out)
{
	const json_t *procs = json_object_get(attr, "processes");
	json_t *rows[64];
	size_t n = 0;
	char e[32];
	int ret;

	for (size_t i = 0; i < json_array_size(procs) && n < 64; i++)
		if (json_is_object(json_array_get(procs, i)))
			rows[n++] = json_array_get(procs, i);
	if (n == 0)
		return 0;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element */
	qsort(rows, n, sizeof rows[0], by_energy_desc);
	ret = dynbuf_add_str(out, "top processes (attribution: ");
	if (!ret)
		ret = render_clean(out, jsonget_str(attr, "attribution_source") ?
				   jsonget_str(attr, "attribution_source") : "?", 16);
	if (!ret)
		ret = dynbuf_printf(out, ")\n  %-8s %-16s %-10s %10s %12s\n", "pid", "comm", "role",
				    "cpu s", "energy");
	for (size_t i = 0; i < n && i < TOP_PROCESSES && !ret; i++) {
		double pid = 0, cpu = 0, ej = 0;
		num_of(rows[i], "pid", &pid);
		num_of(rows[i], "cpu_seconds", &cpu);
		num_of(rows[i], "energy_joules", &ej);
		units_si(e, sizeof e, ej, "J");
		ret = dynbuf_printf(out, "  %-8.0f ", pid);
		size_t before = out->len;
		if (!ret)
			ret = render_clean(out, jsonget_str(rows[i], "comm") ? jsonget_str(rows[i], "comm") : "?", 16);
		/* pad by bytes written: comm is at most 16 (cleaned ASCII or cut UTF-8) */
		size_t used = out->len - before;
		if (!ret)
			ret = dynbuf_printf(out, "%*s %-10.10s %10.4f ", (int)(used < 16 ? 16 - used : 0),
					    "", jsonget_str(rows[i], "role") ? jsonget_str(rows[i], "role") : "?", cpu);
		if (!ret)
			ret = render_pad(out, e, 12);
		if (!ret)
			ret = dynbuf_add_str(out, "\n");
	}
	if (!ret && n > TOP_PROCESSES)
		ret = dynbuf_printf(out, "  (%zu more)\n", n - TOP_PROCESSES);
	return ret;
}

static int completed(const json_t *t, struct dynbuf *out)
{
	const json_t *m = json_object_get(t, "energy_metrics");
	const json_t *env = json_object_get(t, "measurement_environment");
	int ret = energy_rows(m, out);

	if (!ret)
		ret = split_rows(m, out);
	if (!ret && json_is_object(env)) {
		ret = dynbuf_printf(out, "%-14s", "meter");
		if (!ret)
			ret = render_clean(out, jsonget_str(env, "meter_type") ? jsonget_str(env, "meter_type") : "?", 16);
		if (!ret && json_is_true(json_object_get(env, "estimated")))
			ret = dynbuf_add_str(out, " (estimated)");
		if (!ret && jsonget_str(env, "host_id")) {
			ret = dynbuf_add_str(out, "   host ");
			if (!ret)
				ret = render_clean(out, jsonget_str(env, "host_id"), 64);
		}
		if (!ret)
			ret = dynbuf_add_str(out, "\n");
	}
	if (!ret && json_is_true(json_object_get(m, "below_noise_floor")))
		ret = dynbuf_add_str(out, "warning       below the meter's noise floor\n");
	return ret ? ret : top_processes(json_object_get(t, "attribution"), out);
}

/* One failing test: its id and either the error or expected/actual. */
static int failing_test(const json_t *r, struct dynbuf *out)
{
	int ret = dynbuf_add_str(out, "  ");
	if (!ret)
		ret = render_clean(out, jsonget_str(r, "test_id") ? jsonget_str(r, "test_id") : "?", 40);
	if (!ret && jsonget_str(r, "error")) {
		ret = dynbuf_add_str(out, ": ");
		if (!ret)
			ret = render_clean(out, jsonget_str(r, "error"), 160);
	} else if (!ret) {
		char *e = json_dumps(json_object_get(r, "expected"), JSON_COMPACT | JSON_ENCODE_ANY);
		char *a = json_dumps(json_object_get(r, "actual"), JSON_COMPACT | JSON_ENCODE_ANY);
		ret = dynbuf_add_str(out, ": expected ");
		if (!ret)
			ret = render_clean(out, e ? e : "?", 60);
		if (!ret)
			ret = dynbuf_add_str(out, ", got ");
		if (!ret)
			ret = render_clean(out, a ? a : "?", 60);
		free(e);
		free(a);
	}
	return ret ? ret : dynbuf_add_str(out, "\n");
}

static int failed(const json_t *t, struct dynbuf *out)
{
	const json_t *tests = json_object_get(json_object_get(t, "validation"), "test_results");
	size_t shown = 0;
	int ret = dynbuf_printf(out, "%-14s", "error");

	if (!ret)
		ret = render_clean(out, jsonget_str(t, "error_type") ? jsonget_str(t, "error_type") : "?", 40);
	if (!ret)
		ret = dynbuf_add_str(out, ": ");
	if (!ret)
		ret = render_clean(out, jsonget_str(t, "error_message") ? jsonget_str(t, "error_message") : "", 400);
	if (!ret)
		ret = dynbuf_add_str(out, "\n");
	for (size_t i = 0; i < json_array_size(tests) && !ret; i++) {
		const json_t *r = json_array_get(tests, i);
		if (json_is_true(json_object_get(r, "passed")))
			continue;
		if (shown++ == FAILED_TESTS_SHOWN) {
			ret = dynbuf_add_str(out, "  ...\n");
			break;
		}
		ret = failing_test(r, out);
	}
	return ret;
}

int render_task(const json_t *task, struct dynbuf *out)
{
	const char *st = jsonget_str(task, "status");
	int ret = header(task, out);

	if (ret || !st)
		return ret;
	if (strcmp(st, "completed") == 0)
		return completed(task, out);
	if (strcmp(st, "failed") == 0)
		return failed(task, out);
	if (strcmp(st, "queued") == 0 || strcmp(st, "running") == 0) {
		struct progress_state ps;
		render_state_of(task, &ps);
		double el = 0;
		num_of(task, "elapsed_seconds", &el);
		ps.elapsed_s = el;
		ret = dynbuf_printf(out, "%-14s", "progress");
		return ret ? ret : render_progress_plain(&ps, out);
	}
	return 0;
}
