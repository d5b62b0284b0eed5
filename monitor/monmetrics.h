/*
 * monmetrics.h — the host monitor's /metrics text (Prometheus 0.0.4), every
 * name prefixed jouletrace_monitor_, energy as counters in joules (exact:
 * the ledger's integer µJ printed as decimal joules):
 *   energy_joules_total{package,domain,part}   part = raw|idle|dynamic|attributed|unattributed
 *   cgroup_energy_joules_total{cgroup,domain}  the ledger's top cgroups + "other"
 *   process_energy_joules_total{pid,start,comm,uid,cgroup,domain}   at most top_n processes
 *   cpu_seconds_total{mode}, ticks_total, missed_ticks_total,
 *   tick_lag_seconds, tick_duration_seconds (histograms),
 *   meter_errors_total{package}, seals_total, seal_errors_total,
 *   redis_backlog, processes (of the last closed period), dropped_busy_seconds_total{package},
 *   resident_bytes, info{attribution_source,meter,host_id}
 * domain is "package", and "dram" too when some package has a DRAM counter.
 * Label values from outside (comm, cgroup) are escaped (promtext.h).
 * Bounded label sets: packages ≤ PKGMAP_MAX, cgroups as the ledger bounds
 * them, processes ≤ top_n whatever the ledger hands in.
 *
 * Pure: no I/O but monmetrics_self's.  Errors: 0 or the dynbuf's -E2BIG/-ENOMEM.
 * Thread safety: reentrant.
 */
#ifndef JT_MONMETRICS_H
#define JT_MONMETRICS_H

#include <stddef.h>

#include "ledger.h"
#include "monstats.h"

struct dynbuf;

struct monmetrics_input {
	const struct ledger_life *life;
	const struct monstats_view *stats;
	const char *attribution_source;   /* "bpf" | "proc" */
	const char *meter;                /* the meters' back end */
	const char *host_id;
	size_t top_n;
	unsigned long long redis_backlog;
	double cpu_user_s, cpu_system_s;  /* the monitor's own CPU time */
	unsigned long long resident_bytes;
};

int monmetrics_render(const struct monmetrics_input *in, struct dynbuf *out);

/* This process's CPU time (getrusage) and resident set (/proc/self/statm; 0 unknown). */
void monmetrics_self(double *user_s, double *system_s, unsigned long long *resident_bytes);

#endif
