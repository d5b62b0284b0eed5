/*
 * monstats.h — the host monitor's own figures for /metrics: ticks, missed
 * ticks, how late each tick woke and how long its work took (histograms),
 * meter errors per package, seals written and failed, processes in the
 * period table.  The tick and sealer threads record; the HTTP thread takes a
 * view.
 *
 * Thread safety: every function may be called from any thread at once
 * (relaxed atomics: a view sees each counter at some moment, not one
 * snapshot of all).  No allocation.
 */
#ifndef JT_MONSTATS_H
#define JT_MONSTATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pkgmap.h"

#define MONSTATS_NBOUNDS 12
/* Upper bounds in seconds of both histograms: a tick's work is ~100 µs, a
 * late wake-up on a loaded box tens of ms, a stalled one seconds. */
extern const double monstats_bounds[MONSTATS_NBOUNDS];

struct monstats_hist {
	atomic_ullong bucket[MONSTATS_NBOUNDS + 1];   /* not cumulative; the last is +Inf */
	atomic_ullong sum_ns;
};

struct monstats {
	atomic_ullong ticks, missed_ticks, seals, seal_errors, processes;
	atomic_ullong meter_errors[PKGMAP_MAX];       /* per package index */
	struct monstats_hist lag, duration;
};

/* A plain copy, for rendering (monmetrics.h) and tests. */
struct monstats_view {
	unsigned long long ticks, missed_ticks, seals, seal_errors, processes;
	unsigned long long meter_errors[PKGMAP_MAX];
	unsigned long long lag_cum[MONSTATS_NBOUNDS + 1], duration_cum[MONSTATS_NBOUNDS + 1];
	double lag_sum_s, duration_sum_s;
};

void monstats_observe(struct monstats_hist *h, uint64_t ns);
void monstats_view(const struct monstats *s, struct monstats_view *out);

#endif
