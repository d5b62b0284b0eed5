/*
 * promtext.h — pieces of Prometheus's text exposition format (0.0.4) that
 * every /metrics page writes the same way: a metric's HELP and TYPE lines,
 * label values escaped, and a histogram's _bucket/_sum/_count lines.  Shared
 * by the server's /metrics and the host monitor's.
 *
 * Label values: the format allows any UTF-8 in a quoted value with exactly
 * three escapes (backslash, double quote, line feed); those are applied, and
 * any other control byte is replaced by '?' so a command name or cgroup path
 * from outside can never break a line.
 *
 * Errors: 0 or the dynbuf's -E2BIG/-ENOMEM (what was appended before the
 * error stays; the caller drops the buffer).  Thread safety: reentrant.
 */
#ifndef JT_PROMTEXT_H
#define JT_PROMTEXT_H

#include <stddef.h>

struct dynbuf;

/* "# HELP name help\n# TYPE name type\n"; help must be one line (it is not escaped). */
int promtext_head(struct dynbuf *b, const char *name, const char *type, const char *help);

/* s escaped as the inside of a quoted label value (no quotes added); NULL = "". */
int promtext_label_value(struct dynbuf *b, const char *s);

/*
 * One histogram series: cumulative[i] = observations ≤ bounds[i] for i < n,
 * cumulative[n] = all of them (the +Inf bucket, also written as _count so the
 * two never disagree).  labels: "" or label pairs ending with a comma, already
 * escaped (`route="/ping",`), put before le= and alone on _sum/_count.
 */
struct promtext_hist {
	const double *bounds;
	size_t n;
	const unsigned long long *cumulative;   /* n + 1 */
	double sum;
};
int promtext_histogram(struct dynbuf *b, const char *name, const char *labels,
		       const struct promtext_hist *h);

#endif
