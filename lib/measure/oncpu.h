/*
 * oncpu.h — per-thread on-CPU time on the watched CPUs (SPEC §3.9).
 *
 * The watched CPUs are the whole measurement package, because package energy
 * is drawn by all of its cores (issue 8); the measurement CPUs are a subset,
 * and each thread's time on them is kept apart (measurement_ns), because only
 * a foreign task there disturbs the candidate.
 *
 * Two sources, chosen once by oncpu_open:
 *
 *  bpf   An eBPF program on sched/sched_switch (raw tracepoint) books every
 *        slice that runs on a watched CPU to the thread that ran it, and
 *        idle (pid 0) separately.  It sees every task on those CPUs, foreign
 *        ones included, and short-lived ones: a slice is booked when the
 *        thread switches out, and an exiting thread switches out one last
 *        time on its way to death.  The slice running at snapshot time is
 *        included up to the snapshot.  Time before the first context switch
 *        on a CPU after oncpu_open is not seen (oncpu_open forces one on each
 *        watched CPU it may run on).  Needs root (or CAP_BPF+CAP_PERFMON) and
 *        kernel BTF.  pids are those of the initial PID namespace.
 *  proc  The fallback: /proc/<pid>/task/<tid>/schedstat of the process trees
 *        registered with oncpu_track, and nothing else.  It cannot tell CPUs
 *        apart (it counts the tree's time on every CPU, all of it as
 *        measurement_ns: the tracked tree is the candidate, pinned there),
 *        cannot see foreign tasks, and misses threads that exited between two
 *        snapshots (their time is gone from /proc).  idle_ns comes from
 *        /proc/stat (jiffy resolution, steal and iowait included).  Results
 *        based on it must be labelled as such (oncpu_source_name).
 *
 * Ownership: snapshots own their entry array (oncpu_snapshot_free releases it;
 * a zeroed snapshot is valid to free).  Entries are sorted by pid.
 * Thread safety: one thread at a time per struct oncpu; snapshots are plain
 * values.  Errors: 0 or -errno; oncpu_open returns NULL and sets errno.
 */
#ifndef JT_ONCPU_H
#define JT_ONCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cpuset;
struct oncpu;

/* Most threads one snapshot holds; more are counted in dropped. */
#define ONCPU_MAX_ENTRIES 16384

struct oncpu_entry {
	int32_t pid;                 /* thread id */
	int32_t tgid;                /* process id */
	int32_t ppid;                /* parent process (last seen) */
	char comm[16];               /* NUL-terminated, last seen */
	uint64_t oncpu_ns;           /* on the watched CPUs: cumulative, or b − a after oncpu_diff */
	uint64_t measurement_ns;     /* the part of oncpu_ns on the measurement CPUs */
};

struct oncpu_snapshot {
	struct oncpu_entry *e;
	size_t n;
	uint64_t idle_ns;            /* summed over the watched CPUs */
	/* proc: busy time of the watched CPUs from /proc/stat (jiffies, whoever
	 * ran), since the entries see only the tracked trees; bpf: 0, the entries
	 * are complete.  b − a after oncpu_diff. */
	uint64_t busy_ns;
	/* CLOCK_MONOTONIC instant the running slices were cut at (bpf: the last
	 * watched CPU's; proc: the read), so idle + entries cover b − a of it per
	 * CPU even when the snapshotting thread is preempted; after oncpu_diff: b − a */
	uint64_t taken_ns;
	uint64_t dropped;            /* slices (bpf) or threads (proc) not recorded */
};

enum oncpu_source { ONCPU_BPF, ONCPU_PROC };

/*
 * cpus: the watched CPUs (NULL = every CPU); measurement: the CPUs whose time
 * is also counted in measurement_ns (NULL = all of cpus; CPUs outside cpus are
 * ignored).  With allow_bpf, tries the bpf source and falls back to proc; why
 * (may be NULL) then says why bpf is not in use ("" when it is).  NULL + errno
 * only when neither source works (or measurement shares no CPU with cpus:
 * EINVAL).  Side effects of the bpf source: libbpf's (process-wide) log
 * callback is pointed at log.h, and the calling thread briefly visits each
 * watched CPU (its affinity is restored) to start the accounting there at
 * once.  The program stays attached until oncpu_close.
 */
struct oncpu *oncpu_open(const struct cpuset *cpus, const struct cpuset *measurement,
			 bool allow_bpf, char *why, size_t whylen);
enum oncpu_source oncpu_source(const struct oncpu *o);
const char *oncpu_source_name(enum oncpu_source s);   /* "bpf" | "proc" */

/*
 * proc: from now on, every snapshot includes root and all its descendants
 * (found through the PPid chain; once seen, a descendant stays tracked after
 * it is reparented, until it exits).  Trees stop being tracked when they are
 * gone.  -ESRCH if root does not exist.  bpf: a no-op returning 0, since
 * everything on the watched CPUs is seen anyway.
 */
int oncpu_track(struct oncpu *o, pid_t root);

/*
 * Cumulative per-thread totals now (bpf: every thread that ever ran on a
 * watched CPU since open or the last oncpu_gc).  A few ms at most with
 * thousands of threads, so it can bracket every trial.
 */
int oncpu_snapshot(struct oncpu *o, struct oncpu_snapshot *out);

/*
 * out = b − a per thread: threads only in b count from 0; threads only in a
 * are left out (their a→b delta is unknown); a thread whose total went down
 * (a reused tid in the proc source) counts from 0.  Threads with a zero delta
 * are left out.  idle_ns, busy_ns, dropped and taken_ns are b − a too.  a and b must
 * come from the same struct oncpu, with no oncpu_gc between them.
 */
int oncpu_diff(const struct oncpu_snapshot *a, const struct oncpu_snapshot *b,
	       struct oncpu_snapshot *out);
/* The entry for pid (thread id) or NULL; s must be sorted (snapshots and diffs are). */
const struct oncpu_entry *oncpu_find(const struct oncpu_snapshot *s, pid_t pid);
void oncpu_snapshot_free(struct oncpu_snapshot *s);

/*
 * Forgets threads that no longer exist, so the bpf map (ONCPU_MAX_ENTRIES
 * threads) does not fill up over a long-running worker's life.  Call it
 * between measurements: a snapshot taken before must not be diffed with one
 * taken after.  Returns the number of threads forgotten or -errno.
 */
int oncpu_gc(struct oncpu *o);

void oncpu_close(struct oncpu *o);   /* NULL is a no-op */

#endif
