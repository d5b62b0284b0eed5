/* monstats.c — see monstats.h. */
#include "monstats.h"

#include <string.h>

const double monstats_bounds[MONSTATS_NBOUNDS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
						   0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1 };

static unsigned long long get(const atomic_ullong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

void monstats_observe(struct monstats_hist *h, uint64_t ns)
{
	size_t b = 0;
	while (b < MONSTATS_NBOUNDS && (double)ns > monstats_bounds[b] * 1e9)
		b++;
	atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

static double cumulate(const struct monstats_hist *h, unsigned long long *cum)
{
	unsigned long long acc = 0;
	for (size_t b = 0; b <= MONSTATS_NBOUNDS; b++)
		cum[b] = acc += get(&h->bucket[b]);
	return (double)get(&h->sum_ns) / 1e9;
}

void monstats_view(const struct monstats *s, struct monstats_view *out)
{
	memset(out, 0, sizeof *out);
	out->ticks = get(&s->ticks);
	out->missed_ticks = get(&s->missed_ticks);
	out->seals = get(&s->seals);
	out->seal_errors = get(&s->seal_errors);
	out->processes = get(&s->processes);
	for (int i = 0; i < PKGMAP_MAX; i++)
		out->meter_errors[i] = get(&s->meter_errors[i]);
	out->lag_sum_s = cumulate(&s->lag, out->lag_cum);
	out->duration_sum_s = cumulate(&s->duration, out->duration_cum);
}
