/* promtext.c — see promtext.h. */
#include "promtext.h"

#include <string.h>

#include "dynbuf.h"

int promtext_head(struct dynbuf *b, const char *name, const char *type, const char *help)
{
	return dynbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int promtext_label_value(struct dynbuf *b, const char *s)
{
	int e = 0;
	if (!s)
		return 0;
	/* Runs of plain bytes go in one piece: most values need no escape at all. */
	while (!e && *s) {
		size_t run = strcspn(s, "\\\"\n\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0b\x0c\x0d\x0e"
				     "\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"
				     "\x1e\x1f\x7f");
		e = run ? dynbuf_add(b, s, run) : 0;
		s += run;
		if (e || !*s)
			break;
		const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : "?";
		e = dynbuf_add_str(b, esc);
		s++;
	}
	return e;
}

int promtext_histogram(struct dynbuf *b, const char *name, const char *labels,
		       const struct promtext_hist *h)
{
	/* _sum and _count take the labels without their trailing comma. */
	size_t ll = strlen(labels);
	int bare = ll > 0 && labels[ll - 1] == ',' ? (int)ll - 1 : (int)ll;
	int e = 0;
	for (size_t i = 0; !e && i < h->n; i++)
		e = dynbuf_printf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, h->bounds[i],
				  h->cumulative[i]);
	if (!e)
		e = dynbuf_printf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
				  h->cumulative[h->n]);
	if (!e && bare)
		e = dynbuf_printf(b, "%s_sum{%.*s} %.9g\n%s_count{%.*s} %llu\n", name, bare, labels,
				  h->sum, name, bare, labels, h->cumulative[h->n]);
	else if (!e)
		e = dynbuf_printf(b, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name,
				  h->cumulative[h->n]);
	return e;
}
