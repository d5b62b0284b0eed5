/* httpstats.c — see httpstats.h. */
#include "httpstats.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "dynbuf.h"
#include "promtext.h"

/* Every code the API sends; anything else is "other" (the last slot). */
static const int codes[] = { 200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 410,
			     413, 415, 422, 429, 500, 502, 503, 504 };
#define NCODES (sizeof codes / sizeof codes[0] + 1)
/* Upper bounds in seconds: a ping is sub-millisecond, a /validate waits up to
 * validate_timeout_seconds. */
static const double bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				 0.5, 1, 2.5, 5, 10, 30, 60, 120 };
#define NBOUNDS (sizeof bounds / sizeof bounds[0])

struct route_stats {
	atomic_ullong by_code[NCODES];
	atomic_ullong bucket[NBOUNDS + 1];   /* not cumulative; the last is +Inf */
	atomic_ullong sum_ns, count;
};

struct httpstats {
	const char *const *routes;
	size_t n;
	struct route_stats r[];              /* n + 1: the last is "other" */
};

struct httpstats *httpstats_new(const char *const *routes, size_t n)
{
	struct httpstats *s = calloc(1, sizeof *s + (n + 1) * sizeof s->r[0]);
	if (!s)
		return NULL;
	s->routes = routes;
	s->n = n;
	return s;
}

void httpstats_free(struct httpstats *s)
{
	free(s);
}

void httpstats_record(struct httpstats *s, size_t route, int status, uint64_t elapsed_ns)
{
	struct route_stats *r = &s->r[route < s->n ? route : s->n];
	size_t c = 0, b = 0;
	while (c < NCODES - 1 && codes[c] != status)
		c++;
	while (b < NBOUNDS && (double)elapsed_ns > bounds[b] * 1e9)
		b++;
	atomic_fetch_add_explicit(&r->by_code[c], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->sum_ns, elapsed_ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

static unsigned long long get(const atomic_ullong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

int httpstats_write(const struct httpstats *s, struct dynbuf *out)
{
	int e = promtext_head(out, "jouletrace_http_requests_total", "counter",
			      "HTTP requests answered, by route and status code.");
	for (size_t i = 0; !e && i <= s->n; i++) {
		const char *route = i < s->n ? s->routes[i] : "other";
		for (size_t c = 0; !e && c < NCODES; c++) {
			unsigned long long v = get(&s->r[i].by_code[c]);
			if (!v)
				continue;
			if (c < NCODES - 1)
				e = dynbuf_printf(out, "jouletrace_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
						  route, codes[c], v);
			else
				e = dynbuf_printf(out, "jouletrace_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
						  route, v);
		}
	}
	if (!e)
		e = promtext_head(out, "jouletrace_http_request_duration_seconds", "histogram",
				  "Time from request to response, by route.");
	for (size_t i = 0; !e && i <= s->n; i++) {
		const char *route = i < s->n ? s->routes[i] : "other";
		unsigned long long cum[NBOUNDS + 1], acc = 0;
		char labels[96];
		if (!get(&s->r[i].count))
			continue;
		/* +Inf is the sum of the buckets read here (not count, read apart), so
		 * the buckets never pass it */
		for (size_t b = 0; b <= NBOUNDS; b++)
			cum[b] = acc += get(&s->r[i].bucket[b]);
		snprintf(labels, sizeof labels, "route=\"%s\",", route);
		struct promtext_hist h = { .bounds = bounds, .n = NBOUNDS, .cumulative = cum,
					   .sum = (double)get(&s->r[i].sum_ns) / 1e9 };
		e = promtext_histogram(out, "jouletrace_http_request_duration_seconds", labels, &h);
	}
	return e;
}
