/*
 * svg.h — the charts of the server's pages, drawn here as inline SVG into an
 * html page (html.h), so a page needs nothing fetched at view time.
 *
 * Every chart is <svg class="chart" data-chart="NAME" ...> and every data mark
 * in it an element with class "mark", data-label (the label, escaped by
 * html_text) and data-value (the exact number in base units, "%.9g"): the
 * pages contract (docs/ARCHITECTURE.md) that the browser tests and the e2e
 * tests read the numbers back from.  Numbers printed for people go through
 * units_si ("1.82 mJ").
 *
 * A value that is NAN or infinite is undefined: its point gets no mark and is
 * never drawn as 0; a chart with no finite value says "no data" instead.
 * Optional figures (median, interval) that are NAN are neither drawn nor put
 * in attributes.
 *
 * Labels are the caller's strings (process names, task ids: outside data);
 * they are escaped here.  Errors stick in the html (html.h): 0 or its -errno.
 * Thread safety: pure functions of their arguments and the html.
 */
#ifndef JT_SVG_H
#define JT_SVG_H

#include <stddef.h>

#include "html.h"

/* The charts' styles: pass to html_begin as (part of) its extra_css. */
#define SVG_CSS \
	".chart .c0{fill:var(--pkg)}.chart .c1{fill:var(--dram)}.chart .c2{fill:#7c3aed}" \
	".chart .c3{fill:#0f9d8a}.chart .c4{fill:#c2410c}.chart .c5{fill:#64748b}" \
	".chart .band{fill:var(--acc);opacity:.14}.chart .grid{stroke:var(--line)}" \
	".chart .median{stroke:var(--fg);stroke-width:1.5;stroke-dasharray:6 4}" \
	".chart .whisker{stroke:var(--fg);stroke-width:1.5;fill:none}" \
	".chart circle.mark{stroke:#fff;stroke-width:1.5}.chart text{font-size:13px}"

struct svg_point {
	const char *label;      /* outside text: escaped here; data-label */
	const char *text;       /* shown on the chart instead of label, or NULL */
	double value;           /* base units; NAN = undefined */
	double lo, hi;          /* an interval (svg_intervals only); NAN = none */
};

/*
 * Dots, one per point in order along x, over a y axis in unit; the median as
 * a line and the interval [lo, hi] as a band (each NAN = not drawn).  The
 * <svg> carries data-median, data-ci-low and data-ci-high when finite.
 */
int svg_dots(struct html *h, const char *name, const struct svg_point *p, size_t n,
	     double median, double lo, double hi, const char *unit);

/* One horizontal bar split into its parts (e.g. package and DRAM), with a legend. */
int svg_stacked(struct html *h, const char *name, const struct svg_point *p, size_t n,
		const char *unit);

/* Horizontal bars, one row per point, longest = the largest value. */
int svg_hbars(struct html *h, const char *name, const struct svg_point *p, size_t n,
	      const char *unit);

/*
 * Horizontal bars with the interval of each as a whisker, on one axis from 0;
 * each mark also carries data-ci-low and data-ci-high when finite.
 */
int svg_intervals(struct html *h, const char *name, const struct svg_point *p, size_t n,
		  const char *unit);

#endif
