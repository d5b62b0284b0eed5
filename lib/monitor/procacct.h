/*
 * procacct.h — on-CPU time of every process on every package, interval by
 * interval, for the host monitor (issue 13).
 *
 * A process is (tgid, start_ns): start_ns is its group leader's start time in
 * ns since boot (CLOCK_BOOTTIME, as /proc/<pid>/stat's starttime field 22, in
 * clock ticks there), so a reused pid is another process.  Both sources round
 * it down to a whole clock tick: it is field 22 × 10^9 / USER_HZ exactly, the
 * same whichever source booked it (a pid reused within one clock tick, were
 * it possible, would merge).
 *
 * The monitor ticks; each procacct_tick closes the running interval at "now"
 * and hands back the interval closed by the previous tick (one tick late: the
 * bpf source gives in-flight slices a whole tick to land before it reads).
 * The caller reads its meters right after each procacct_tick and pairs the
 * interval [t0, t1] with the meter readings it took at those two ticks.
 *
 * Two sources, chosen by procacct_open:
 *  bpf   raw_tp/sched_switch books every slice to the process that ran it,
 *        per package, in one of three per-interval hash maps (epoch = tick
 *        number mod 3); a perf cpu-clock event per CPU closes the running slice
 *        every few ms, so a thread that never switches out is still booked
 *        tick by tick; a slice crossing a tick is split at the tick's
 *        timestamp.  raw_tp/sched_process_exit marks a process exited when its
 *        last thread leaves (and so does the switch-out of a thread of a dead
 *        group, so an exit straddling a tick may mark two intervals).  Sees
 *        every task, kernel threads included.  cpu_ns is CLOCK_MONOTONIC time
 *        between switches: it includes interrupts served and, in a VM, time
 *        stolen during the slice (the kernel's rusage leaves them out).
 *        idle_ns is the package's CPU time not booked as busy: the cpu-clock
 *        event is silent on an idle CPU, so idle slices are not booked.
 *        Needs root or CAP_BPF + CAP_PERFMON, kernel BTF, and batched map
 *        operations (5.6); otherwise the proc source, with why.
 *  proc  The fallback, labelled: /proc/<pid>/stat utime+stime of every
 *        process each tick (clock-tick resolution, a process's whole time
 *        booked to the package of the CPU it last ran on, the time of a
 *        process since the scan before its exit not seen: it gets a row with
 *        exited and no time; costly with many processes).  cgroup_id is 0,
 *        dropped_ns 0, idle_ns from /proc/stat.
 *
 * cgroup: the process's cgroup v2 path ("0::" line of /proc/<pid>/cgroup), read
 * once per cgroup id and interned; "" when it could not be read (the process
 * was gone).  The strings live until procacct_close (at most 65536 distinct
 * paths; later new ones are "").  On a host without cgroup v2 the bpf id is
 * the same for every process, and so is the path read for it.
 *
 * Ownership: an interval owns its rows (procacct_interval_free; a zeroed one is
 * valid to free).  Thread safety: one thread at a time per struct procacct.
 * Errors: 0 or -errno; procacct_open returns NULL and sets errno.
 */
#ifndef JT_PROCACCT_H
#define JT_PROCACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkgmap.h"

struct procacct;

struct procacct_row {
	int32_t tgid;
	int32_t pkg;                 /* index into the pkgmap (not the package id) */
	uint64_t start_ns;           /* identity with tgid: group leader's boot-time start */
	uint64_t cpu_ns;             /* on that package's CPUs within the interval */
	uint32_t uid;                /* real uid, initial user namespace */
	uint64_t cgroup_id;          /* cgroup v2 id (0 = unknown) */
	const char *cgroup;          /* interned path, "" unknown; valid until procacct_close */
	char comm[16];               /* the group leader's comm, NUL-terminated */
	bool exited;                 /* the process's last thread exited within the interval */
};

struct procacct_interval {
	bool valid;                  /* false on the first two ticks: nothing closed yet */
	uint64_t seq;                /* tick number that opened it */
	uint64_t t0_ns, t1_ns;       /* CLOCK_MONOTONIC bounds: the ticks' timestamps */
	struct procacct_row *rows;   /* sorted by (tgid, start_ns, pkg) */
	size_t n;
	/* per package index: */
	uint64_t busy_ns[PKGMAP_MAX];    /* Σ rows' cpu_ns + dropped_ns */
	uint64_t idle_ns[PKGMAP_MAX];    /* idle (pid 0) time of the package's CPUs */
	uint64_t dropped_ns[PKGMAP_MAX]; /* busy time whose process could not be recorded (map full) */
};

enum procacct_source { PROCACCT_BPF, PROCACCT_PROC };

/*
 * m is copied.  With allow_bpf, tries bpf and falls back to proc; why says why
 * bpf is not in use ("" when it is).  tick_ms sizes the bpf slice-closing
 * event (a tenth of it, at least 1 ms).  NULL + errno when neither works.
 */
struct procacct *procacct_open(const struct pkgmap *m, unsigned tick_ms, bool allow_bpf,
			       char *why, size_t cap);
enum procacct_source procacct_source(const struct procacct *a);
const char *procacct_source_name(enum procacct_source s);   /* "bpf" | "proc" */

/*
 * Closes the running interval now; *now_ns (may be NULL) = its CLOCK_MONOTONIC
 * timestamp.  out = the interval closed by the previous call (out->valid false
 * on the first two calls).  out is overwritten: free it first.  On an error
 * the bpf source loses that interval (the next one's seq skips it).
 */
int procacct_tick(struct procacct *a, uint64_t *now_ns, struct procacct_interval *out);

void procacct_interval_free(struct procacct_interval *iv);

/* Live bookkeeping, for the monitor's own metrics: interned cgroups, map entries. */
struct procacct_stats {
	size_t cgroups;
	uint64_t dropped_total_ns;
	uint64_t events_lost;        /* bpf: updates that failed for another reason */
};
void procacct_stats(const struct procacct *a, struct procacct_stats *out);

void procacct_close(struct procacct *a);   /* NULL is a no-op */

#endif
