/*
 * ledger.h — the monitor's books: each interval's energy of each package split
 * among that package's processes, accumulated into the current period (for
 * its seal) and over the monitor's life (for /metrics).  Pure computation: no
 * I/O, no clocks, so it is unit-tested with made-up intervals.
 *
 * Per interval and package, per domain (package, DRAM):
 *   raw      the meter's energy over the interval (integer µJ)
 *   idle     min(raw, round(idle_watts × interval)): the calibrated idle
 *            power, never more than was drawn, so dynamic ≥ 0.  An idle power
 *            given as NAN is unknown (the package is uncalibrated): idle 0,
 *            dynamic = raw, and none of it is split (all unattributed), since
 *            sharing idle power out among processes is the error to avoid
 *   dynamic  raw − idle, split among the processes that ran on the package in
 *            proportion to their on-CPU time there, largest-remainder rounded
 *            (ties to the lower (tgid, start_ns)); the part of dropped_ns, or
 *            all of it when nothing ran, is unattributed.
 * So, exactly, for every package and domain, interval and period:
 *   raw = idle + dynamic,  dynamic = Σ processes + unattributed.
 * An interval whose meter reading failed (measured = false) adds no energy;
 * its time is counted as unmeasured, its processes' on-CPU time still counts.
 *
 * A process keeps its period entry after it exits, until the period closes.
 * Memory: the period table holds the processes seen in the period (at most
 * LEDGER_MAX_PROCS; beyond that newcomers are booked to "other" directly and
 * counted in overflow), the lifetime table the processes seen in the current
 * or previous period only, and at most LEDGER_MAX_CGROUPS cgroups (the least
 * energetic beyond that merged into "other"), so it stays flat under churn.
 * A full cgroup table makes room for a new cgroup by merging into "other" its
 * least energetic cgroup that no process in the tables belongs to; when every
 * one is in use the newcomer's energy goes to "other".  Memory grows only to
 * the high-water mark of processes per period and rows per interval: in a
 * steady state ledger_add allocates nothing, and costs O(rows).
 *
 * Ownership: ledger_period and ledger_top results own their arrays (free with
 * the matching *_free).  cgroup strings are borrowed from procacct (valid
 * until procacct_close, which must come after ledger_free).
 * Thread safety: none; the monitor's tick thread owns the ledger.
 * Errors: 0 or -errno (-ENOMEM, -EINVAL).
 */
#ifndef JT_LEDGER_H
#define JT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkgmap.h"
#include "procacct.h"

#define LEDGER_MAX_PROCS 65536
#define LEDGER_MAX_CGROUPS 4096

enum ledger_domain { LEDGER_PACKAGE, LEDGER_DRAM, LEDGER_NDOMAINS };

struct ledger;

/* One package's meter over one interval. */
struct ledger_sample {
	bool measured;                    /* false: the reading failed */
	int64_t raw_uj[LEDGER_NDOMAINS];  /* ≥ 0 */
	bool has_dram;
};

struct ledger_energy {
	int64_t raw_uj, idle_uj, dynamic_uj, attributed_uj, unattributed_uj;
};

struct ledger_pkg_total {
	int id;                                       /* package number */
	struct ledger_energy e[LEDGER_NDOMAINS];
	bool has_dram;
	uint64_t measured_ns, unmeasured_ns;          /* interval time with / without a reading */
	uint64_t busy_ns, idle_cpu_ns, dropped_ns;
	uint64_t intervals, failed_intervals;
};

struct ledger_proc {
	int32_t tgid;
	uint64_t start_ns;
	char comm[16];
	uint32_t uid;
	const char *cgroup;                           /* borrowed, "" unknown */
	int64_t energy_uj[LEDGER_NDOMAINS];           /* over all packages */
	int64_t total_uj;                             /* Σ domains */
	uint64_t cpu_ns;
	bool exited;
};

struct ledger_period {
	uint64_t intervals;
	int npkgs;
	struct ledger_pkg_total pkg[PKGMAP_MAX];
	struct ledger_proc *top;                      /* by total_uj desc, then (tgid, start_ns) */
	size_t ntop;                                  /* ≤ the top_n given */
	struct ledger_proc other;                     /* the rest summed (tgid 0, comm "other") */
	size_t other_count;                           /* processes in other (+ overflow) */
	size_t processes;                             /* distinct processes seen (+ overflow) */
	size_t overflow;                              /* rows (a process per interval) booked to other
	                                                 for lack of room: with no room, a process
	                                                 cannot be told from one seen before */
};

/* idle watts per package index, NAN = unknown (NULL = all 0); copied. */
struct ledger *ledger_new(const struct pkgmap *m, const double (*idle_watts)[LEDGER_NDOMAINS]);
void ledger_free(struct ledger *l);

/*
 * samples[i] for package index i (m->n of them).  An interval with valid
 * false is a no-op (0).  -EINVAL, with nothing booked: t1 < t0, a row's pkg
 * out of range, rows not strictly sorted by (tgid, start_ns, pkg) (the split's
 * ties are broken by that order), a measured negative raw_uj.  -ENOMEM:
 * nothing booked either.
 */
int ledger_add(struct ledger *l, const struct procacct_interval *iv,
	       const struct ledger_sample *samples);

/*
 * Closes the current period: *out = its totals and top_n processes + other
 * (Σ top + other + unattributed = dynamic, per domain).  Starts a new one;
 * processes that exited leave the lifetime table too, and so do those the
 * closed period did not see.  -ENOMEM: the period stays open (*out empty).
 */
int ledger_close_period(struct ledger *l, size_t top_n, struct ledger_period *out);
void ledger_period_free(struct ledger_period *p);

/* Lifetime (since ledger_new) totals, for /metrics: never decrease. */
struct ledger_life {
	int npkgs;
	struct ledger_pkg_total pkg[PKGMAP_MAX];
	struct ledger_proc *top;     /* top n live-or-recent processes by lifetime total_uj */
	size_t ntop;
	struct {                     /* top n cgroups by lifetime energy; "other" last */
		const char *cgroup;
		int64_t energy_uj[LEDGER_NDOMAINS];
	} *cgroups;
	size_t ncgroups;
};
int ledger_life(const struct ledger *l, size_t top_n, struct ledger_life *out);
void ledger_life_free(struct ledger_life *life);

#endif
