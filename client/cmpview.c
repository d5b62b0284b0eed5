/* cmpview.c — see cmpview.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cmpview.h"
#include "jsonget.h"
#include "render.h"
#include "units.h"

#define ID_SHOWN 8      /* a task id's first characters in the table; --json has them whole */

int cmpview_test_sentence(const json_t *cmp, struct dynbuf *out)
{
	const char *test = jsonget_str(cmp, "test"), *adj = jsonget_str(cmp, "adjustment");
	double alpha = jsonget_num(cmp, "alpha");
	const char *name = test && strcmp(test, "welch_t") == 0 ? "Welch's t-test" : test ? test : "?";
	const char *how = adj && strcmp(adj, "holm") == 0 ? "Holm-adjusted" :
			  adj ? adj : "not adjusted";

	return dynbuf_printf(out, "%s on per-trial energy per call, %s, alpha %g\n", name, how, alpha);
}

/* A task id cut to ID_SHOWN characters, cleaned, padded to width. */
static int short_id(struct dynbuf *out, const char *id, int width)
{
	char buf[ID_SHOWN + 1];
	snprintf(buf, sizeof buf, "%s", id ? id : "?");
	size_t before = out->len;
	int ret = render_clean(out, buf, ID_SHOWN);
	size_t used = out->len - before;
	return ret ? ret : dynbuf_printf(out, "%*s", (int)(used < (size_t)width ? (size_t)width - used : 0), "");
}

static int item_row(const json_t *it, const char *best, struct dynbuf *out)
{
	const json_t *ci = json_object_get(it, "ci95_per_call_joules");
	double epc = jsonget_num(it, "energy_per_call_joules"), rank = jsonget_num(it, "rank");
	double lo = json_is_number(json_array_get(ci, 0)) ? json_number_value(json_array_get(ci, 0)) : NAN;
	double hi = json_is_number(json_array_get(ci, 1)) ? json_number_value(json_array_get(ci, 1)) : NAN;
	char e[32], l[32], h[32];
	int ret;

	ret = isfinite(rank) ? dynbuf_printf(out, "%-5.0f ", rank) : dynbuf_printf(out, "%-5s ", "-");
	if (!ret)
		ret = short_id(out, jsonget_str(it, "task_id"), ID_SHOWN + 2);
	if (!ret) {
		size_t before = out->len;
		ret = render_clean(out, jsonget_str(it, "candidate_id") ? jsonget_str(it, "candidate_id") : "-", 18);
		size_t used = out->len - before;
		if (!ret)
			ret = dynbuf_printf(out, "%*s", (int)(used < 20 ? 20 - used : 1), "");
	}
	if (ret)
		return ret;
	if (!json_is_true(json_object_get(it, "comparable"))) {
		ret = dynbuf_add_str(out, "not comparable: ");
		if (!ret)
			ret = render_clean(out, jsonget_str(it, "reason") ? jsonget_str(it, "reason") : "?", 120);
		return ret ? ret : dynbuf_add_str(out, "\n");
	}
	units_si(e, sizeof e, epc, "J");
	units_si(l, sizeof l, lo, "J");
	units_si(h, sizeof h, hi, "J");
	char range[80];
	snprintf(range, sizeof range, "[%s, %s]", l, h);
	ret = render_pad(out, e, -12);
	if (!ret)
		ret = dynbuf_add_str(out, " ");
	if (!ret)
		ret = render_pad(out, range, -24);
	if (!ret)
		ret = dynbuf_printf(out, "  %6.0f  %6.3g  %7.4g%s\n", jsonget_num(it, "trials"),
				    jsonget_num(it, "cv_percent"), jsonget_num(it, "ratio_to_best"),
				    best && jsonget_str(it, "task_id") && strcmp(best, jsonget_str(it, "task_id")) == 0 ?
				    "  best" : "");
	return ret;
}

static int pair_row(const json_t *p, struct dynbuf *out)
{
	char d[32];
	double p_adj = jsonget_num(p, "p_adjusted");
	bool sig = json_is_true(json_object_get(p, "significant"));
	int ret = dynbuf_add_str(out, "  ");

	if (!ret)
		ret = short_id(out, jsonget_str(p, "a"), ID_SHOWN + 2);
	if (!ret)
		ret = short_id(out, jsonget_str(p, "b"), ID_SHOWN + 2);
	units_si(d, sizeof d, jsonget_num(p, "difference_joules"), "J");
	if (!ret)
		ret = render_pad(out, d, -12);
	if (!ret)
		ret = dynbuf_printf(out, " %7.4g %8.3g %7.3g %9.3g %9.3g  %s",
				    jsonget_num(p, "ratio"), jsonget_num(p, "t"), jsonget_num(p, "df"),
				    jsonget_num(p, "p_value"), p_adj, sig ? "yes" : "no");
	if (!ret && sig && jsonget_str(p, "cheaper")) {
		ret = dynbuf_add_str(out, " (cheaper: ");
		if (!ret)
			ret = short_id(out, jsonget_str(p, "cheaper"), 0);
		if (!ret)
			ret = dynbuf_add_str(out, ")");
	}
	return ret ? ret : dynbuf_add_str(out, "\n");
}

int cmpview_render(const json_t *cmp, struct dynbuf *out)
{
	const json_t *items = json_object_get(cmp, "items"), *pairs = json_object_get(cmp, "pairs");
	const json_t *warn = json_object_get(cmp, "warnings");
	const char *best = jsonget_str(cmp, "best");
	int ret = dynbuf_printf(out, "%-5s %-*s%-20s%-12s %-24s  %6s  %6s  %7s\n", "rank",
				ID_SHOWN + 2, "task", "candidate", "energy/call", "95% CI", "trials",
				"CV %", "ratio");

	for (size_t i = 0; i < json_array_size(items) && !ret; i++)
		ret = item_row(json_array_get(items, i), best, out);
	if (!ret && json_array_size(pairs) > 0)
		ret = dynbuf_printf(out, "\npairs (difference = mean a - mean b; ratio = median a / median b)\n"
				    "  %-*s%-*s%-12s %7s %8s %7s %9s %9s  %s\n",
				    ID_SHOWN + 2, "a", ID_SHOWN + 2, "b", "difference", "ratio", "t",
				    "df", "p", "p (Holm)", "significant");
	for (size_t i = 0; i < json_array_size(pairs) && !ret; i++)
		ret = pair_row(json_array_get(pairs, i), out);
	if (!ret)
		ret = dynbuf_add_str(out, "\n");
	if (!ret)
		ret = cmpview_test_sentence(cmp, out);
	for (size_t i = 0; i < json_array_size(warn) && !ret; i++) {
		ret = dynbuf_add_str(out, "warning: ");
		if (!ret)
			ret = render_clean(out, json_string_value(json_array_get(warn, i)) ?
					   json_string_value(json_array_get(warn, i)) : "?", 300);
		if (!ret)
			ret = dynbuf_add_str(out, "\n");
	}
	return ret;
}
