/* svg.c — the pages' charts as inline SVG (see svg.h). */
#include "svg.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

/* Natural sizes in CSS pixels; the style sheet shrinks them on a phone. */
#define W 480
#define LABEL_MAX 24            /* bytes of a label shown on a chart (all in data-label) */
#define N_COLORS 6

static const char *const colors[N_COLORS] = { "c0", "c1", "c2", "c3", "c4", "c5" };

/* Text on a chart: at most max bytes of s (cut on a UTF-8 boundary), escaped. */
static void text_cut(struct html *h, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n <= max) {
		html_text(h, s);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	html_textn(h, s, max);
	html_raw(h, "\xe2\x80\xa6");
}

/* The <svg ...> start without its closing '>' (the caller may add attributes). */
static void svg_open(struct html *h, const char *name, int height)
{
	html_raw(h, "<svg class=\"chart\" data-chart=\"");
	html_text(h, name);
	html_rawf(h, "\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
		  "height=\"%d\" role=\"img\"", W, height, W, height);
}

/* An optional number attribute: only when it is a number. */
static void num_attr(struct html *h, const char *attr, double v)
{
	if (isfinite(v))
		html_rawf(h, " %s=\"%.9g\"", attr, v);
}

/* class, data-label and data-value of a mark, then its tooltip after '>'. */
static void mark_open(struct html *h, const char *element, const struct svg_point *p,
		      const char *color)
{
	html_rawf(h, "<%s class=\"mark %s\" data-label=\"", element, color);
	html_text(h, p->label);
	html_rawf(h, "\" data-value=\"%.9g\"", p->value);
}

static void mark_close(struct html *h, const char *element, const struct svg_point *p,
		       const char *unit)
{
	char v[32];
	html_raw(h, "><title>");
	html_text(h, p->label);
	html_rawf(h, ": %s</title></%s>", units_si(v, sizeof v, p->value, unit), element);
}

static void no_data(struct html *h, int height)
{
	html_rawf(h, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no data</text>", W / 2,
		  height / 2);
}

static size_t count_finite(const struct svg_point *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += isfinite(p[i].value);
	return k;
}

/* ---- dots ----------------------------------------------------------------- */

struct axis {
	double lo, hi;          /* values at the bottom and the top */
	double top, bottom;     /* their y in pixels */
};

static double ypos(const struct axis *ax, double v)
{
	return ax->bottom - (v - ax->lo) / (ax->hi - ax->lo) * (ax->bottom - ax->top);
}

static void include(double *lo, double *hi, double v)
{
	if (!isfinite(v))
		return;
	*lo = v < *lo ? v : *lo;
	*hi = v > *hi ? v : *hi;
}

/* The y range of the points and the extra figures, with a margin. */
static void dots_axis(struct axis *ax, const struct svg_point *p, size_t n, const double *extra,
		      size_t n_extra)
{
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++)
		include(&lo, &hi, p[i].value);
	for (size_t i = 0; i < n_extra; i++)
		include(&lo, &hi, extra[i]);
	double pad = (hi - lo) * 0.12;
	if (!(pad > 0))
		pad = fabs(hi) > 0 ? fabs(hi) * 0.05 : 1;
	ax->lo = lo - pad;
	ax->hi = hi + pad;
	if (lo >= 0 && ax->lo < 0)
		ax->lo = 0;     /* energy is never negative: no axis below 0 */
}

static void y_ticks(struct html *h, const struct axis *ax, int left, const char *unit)
{
	char v[32];
	for (int i = 0; i <= 4; i++) {
		double val = ax->lo + (ax->hi - ax->lo) * i / 4;
		double y = ypos(ax, val);
		html_rawf(h, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
			  "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", left, W - 8, y, y,
			  left - 6, y + 4, units_si(v, sizeof v, val, unit));
	}
}

int svg_dots(struct html *h, const char *name, const struct svg_point *p, size_t n,
	     double median, double lo, double hi, const char *unit)
{
	const int height = 220, left = 60, right = 52;
	const double extra[] = { median, lo, hi };
	struct axis ax = { .top = 12, .bottom = height - 28 };
	char v[32], w[32];

	svg_open(h, name, height);
	num_attr(h, "data-median", median);
	num_attr(h, "data-ci-low", lo);
	num_attr(h, "data-ci-high", hi);
	html_raw(h, ">");
	if (count_finite(p, n) == 0) {
		no_data(h, height);
		return html_raw(h, "</svg>");
	}
	dots_axis(&ax, p, n, extra, 3);
	y_ticks(h, &ax, left, unit);
	if (isfinite(lo) && isfinite(hi))
		html_rawf(h, "<rect class=\"band\" x=\"%d\" width=\"%d\" y=\"%.1f\" height=\"%.1f\">"
			  "<title>95%% interval: %s \xe2\x80\x93 %s</title></rect>", left,
			  W - right - left, ypos(&ax, hi), ypos(&ax, lo) - ypos(&ax, hi),
			  units_si(v, sizeof v, lo, unit), units_si(w, sizeof w, hi, unit));
	if (isfinite(median))
		html_rawf(h, "<line class=\"median\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
			  "<text x=\"%d\" y=\"%.1f\">median</text>", left, W - right, ypos(&ax, median),
			  ypos(&ax, median), W - right + 4, ypos(&ax, median) + 4);
	double step = (double)(W - right - left) / (double)n;
	for (size_t i = 0; i < n; i++) {
		double x = left + step * ((double)i + 0.5);
		if (n <= 16) {
			html_rawf(h, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", x, height - 10);
			text_cut(h, p[i].text ? p[i].text : p[i].label, 10);
			html_raw(h, "</text>");
		}
		if (!isfinite(p[i].value))
			continue;
		mark_open(h, "circle", &p[i], colors[0]);
		html_rawf(h, " cx=\"%.1f\" cy=\"%.1f\" r=\"5\"", x, ypos(&ax, p[i].value));
		mark_close(h, "circle", &p[i], unit);
	}
	return html_raw(h, "</svg>");
}

/* ---- bars ----------------------------------------------------------------- */

int svg_stacked(struct html *h, const char *name, const struct svg_point *p, size_t n,
		const char *unit)
{
	const int height = 40 + 22 * (int)((n + 1) / 2), bar_h = 28, x0 = 8, width = W - 16;
	double total = 0;
	char v[32];

	for (size_t i = 0; i < n; i++)
		total += isfinite(p[i].value) && p[i].value > 0 ? p[i].value : 0;
	svg_open(h, name, height);
	html_raw(h, ">");
	/* nothing to draw (net energies at or below idle, as on a busy host), yet
	 * the figures are the task's: zero-width marks and the legend carry them */
	bool none = !(total > 0);
	if (none)
		no_data(h, height);
	double x = x0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(p[i].value))
			continue;
		double w = !none && p[i].value > 0 ? p[i].value / total * width : 0;
		mark_open(h, "rect", &p[i], colors[i % N_COLORS]);
		html_rawf(h, " x=\"%.1f\" y=\"4\" width=\"%.1f\" height=\"%d\"", x, w, bar_h);
		mark_close(h, "rect", &p[i], unit);
		x += w;
	}
	for (size_t i = 0; i < n; i++) {     /* the legend, two to a row */
		int lx = x0 + (int)(i % 2) * (W / 2), ly = bar_h + 22 + 22 * (int)(i / 2);
		double share = isfinite(p[i].value) && !none ? 100.0 * p[i].value / total : NAN;
		html_rawf(h, "<rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"12\" height=\"12\"/>"
			  "<text x=\"%d\" y=\"%d\">", colors[i % N_COLORS], lx, ly - 10, lx + 18, ly);
		text_cut(h, p[i].text ? p[i].text : p[i].label, LABEL_MAX);
		html_rawf(h, " %s", units_si(v, sizeof v, p[i].value, unit));
		if (isfinite(share))
			html_rawf(h, " (%.1f%%)", share);
		html_raw(h, "</text>");
	}
	return html_raw(h, "</svg>");
}

/* Rows of bars from 0 to max; with intervals when whiskers is set. */
static int bars(struct html *h, const char *name, const struct svg_point *p, size_t n,
		const char *unit, bool whiskers)
{
	const int row = 26, left = 176, right = 64, height = 10 + row * (int)(n ? n : 1);
	double max = 0;
	char v[32];

	for (size_t i = 0; i < n; i++) {
		max = isfinite(p[i].value) && p[i].value > max ? p[i].value : max;
		if (whiskers && isfinite(p[i].hi) && p[i].hi > max)
			max = p[i].hi;
	}
	svg_open(h, name, height);
	html_raw(h, ">");
	if (count_finite(p, n) == 0) {
		no_data(h, height);
		return html_raw(h, "</svg>");
	}
	double scale = max > 0 ? (W - left - right) / max : 0;
	for (size_t i = 0; i < n; i++) {
		int y = 6 + row * (int)i;
		html_rawf(h, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, y + 15);
		text_cut(h, p[i].text ? p[i].text : p[i].label, LABEL_MAX);
		html_raw(h, "</text>");
		if (!isfinite(p[i].value)) {
			html_rawf(h, "<text x=\"%d\" y=\"%d\">no figure</text>", left + 4, y + 15);
			continue;
		}
		double w = p[i].value > 0 ? p[i].value * scale : 0;
		mark_open(h, "rect", &p[i], colors[0]);
		if (whiskers) {
			num_attr(h, "data-ci-low", p[i].lo);
			num_attr(h, "data-ci-high", p[i].hi);
		}
		html_rawf(h, " x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"18\"", left, y + 2, w);
		mark_close(h, "rect", &p[i], unit);
		double end = left + w;
		if (whiskers && isfinite(p[i].lo) && isfinite(p[i].hi)) {
			double a = left + (p[i].lo > 0 ? p[i].lo * scale : 0), b = left + p[i].hi * scale;
			html_rawf(h, "<path class=\"whisker\" d=\"M%.1f %dV%dM%.1f %dH%.1fM%.1f %dV%d\"/>",
				  a, y + 5, y + 17, a, y + 11, b, b, y + 5, y + 17);
			end = b > end ? b : end;
		}
		html_rawf(h, "<text x=\"%.1f\" y=\"%d\">%s</text>", end + 6, y + 15,
			  units_si(v, sizeof v, p[i].value, unit));
	}
	return html_raw(h, "</svg>");
}

int svg_hbars(struct html *h, const char *name, const struct svg_point *p, size_t n,
	      const char *unit)
{
	return bars(h, name, p, n, unit, false);
}

int svg_intervals(struct html *h, const char *name, const struct svg_point *p, size_t n,
		  const char *unit)
{
	return bars(h, name, p, n, unit, true);
}
